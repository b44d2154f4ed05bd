"""The ``export`` command: each audience, in the format each of its destinations needs.

The audience marts hold ids only (person, member, device). This command is the one place
that joins them to contact data, which stays in staging (``staging.stg_shop__members``):

* the registry (seed ``audiences`` in the built warehouse) says, per audience, the consent it
  needs and its destinations;
* for every member in the audience (holdout left out), consent and the suppression list are
  checked again against staging *now*, so a member who opted out or was suppressed after the
  build is dropped (counted per reason);
* each destination gets its own file:

  ``id_list``
      the mart's columns without ``is_holdout`` (ids only), CSV and Parquet;
  ``google_ads_customer_match``
      Google Ads Customer Match customer list: ``Email`` and ``Phone`` columns holding the
      unsalted SHA-256 (lower-case hex) of the e-mail trimmed and lower-cased and of the
      phone in E.164 (``+821012345678``);
  ``meta_custom_audience``
      Meta custom audience customer list: ``email`` and ``phone`` columns holding the
      unsalted SHA-256 of the e-mail trimmed and lower-cased and of the phone as digits with
      the country code, no ``+`` and no leading zero (``821012345678``);
  ``sms_send_list``
      the SMS provider's send list: ``member_id``, ``phone`` in E.164 (in clear: a provider
      needs the number) and ``send_rank``.

Every file is written with mode 0600 in a folder of mode 0700 (the SMS list holds clear
numbers; the hashed lists are personal data too), through a temporary file renamed into
place. Every file written appends one line to an append-only audit log (JSON lines, default
``<out>/audience_exports.jsonl``): when, which audience and destination, how many rows, the
file and its SHA-256. The warehouse is opened read-only; nothing is written back to it.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import getpass
import hashlib
import json
import os
import re
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from shopfunnel.sqltext import sql_string

# The country code of numbers written without one (the shop is Korean): the same rule as
# macro normalized_phone (macros/audiences/audience_rules.sql).
COUNTRY_CODE = "82"

# A column whose name holds one of these must never be in a mart an export reads: contact
# data and its hashes live in staging only.
FORBIDDEN_COLUMN_PARTS = ("email", "phone", "sha256", "hash", "salt")

# Columns the marketing tools do not need; internal flags stay in the warehouse.
DROPPED_COLUMNS = ("is_holdout",)

# Kinds of suppression-list entries (seed suppression_list, column suppression_type).
SUPPRESSION_TYPES = ("member_id", "email_sha256", "phone_sha256")

FILE_MODE = 0o600
FOLDER_MODE = 0o700


# ---------------------------------------------------------------- normalisation


def normalize_email(value: str | None) -> str | None:
    """An e-mail as the ad platforms normalise it: trimmed, lower-cased; None when empty."""
    if value is None:
        return None
    normalised = value.strip().lower()
    return normalised or None


def e164_phone(value: str | None) -> str | None:
    """A phone number in E.164 (macro normalized_phone): digits only, a national leading 0
    (or the country code, with or without its 0) replaced by +82; None without a digit."""
    if value is None:
        return None
    digits = re.sub(r"[^0-9]", "", value)
    if not digits:
        return None
    return f"+{COUNTRY_CODE}" + re.sub(rf"^({COUNTRY_CODE})?0?", "", digits, count=1)


def sha256_hex(value: str) -> str:
    """Unsalted SHA-256 of a normalised value, lower-case hex (what the platforms match)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- contacts and consent


@dataclass(frozen=True)
class Member:
    """A member's contact data and consent as staging holds them at export time."""

    member_id: str
    email: str | None
    phone: str | None
    is_marketing_opt_in: bool
    is_sms_opt_in: bool

    @property
    def email_normalised(self) -> str | None:
        return normalize_email(self.email)

    @property
    def phone_e164(self) -> str | None:
        return e164_phone(self.phone)


@dataclass(frozen=True)
class Suppression:
    """The suppression list: member ids and SHA-256 of normalised e-mails and phones."""

    member_ids: frozenset[str]
    email_sha256: frozenset[str]
    phone_sha256: frozenset[str]

    def holds(self, member: Member) -> bool:
        email, phone = member.email_normalised, member.phone_e164
        return (
            member.member_id in self.member_ids
            or (email is not None and sha256_hex(email) in self.email_sha256)
            or (phone is not None and sha256_hex(phone) in self.phone_sha256)
        )


def _suppression_rows_from_csv(path: Path) -> list[tuple[str, str]]:
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise LookupError(f"suppression list {path}: {exc}") from exc
    pairs = []
    for number, row in enumerate(rows, start=2):
        kind = (row.get("suppression_type") or "").strip()
        value = (row.get("suppression_value") or "").strip()
        if kind not in SUPPRESSION_TYPES or not value:
            raise ValueError(
                f"{path}, row {number}: suppression_type must be member_id, email_sha256 or "
                f"phone_sha256 with a value (got {kind!r})"
            )
        pairs.append((kind, value))
    return pairs


def load_suppression(
    con: duckdb.DuckDBPyConnection, extra_files: Sequence[Path] = ()
) -> Suppression:
    """The seed as built (seeds.suppression_list), plus any newer CSV files given."""
    pairs = [
        (str(kind), str(value))
        for kind, value in con.execute(
            "select suppression_type, suppression_value from seeds.suppression_list"
        ).fetchall()
    ]
    for path in extra_files:
        pairs += _suppression_rows_from_csv(path)
    by_type: dict[str, set[str]] = {kind: set() for kind in SUPPRESSION_TYPES}
    for kind, value in pairs:
        if kind in by_type:
            by_type[kind].add(value.strip() if kind == "member_id" else value.strip().lower())
    return Suppression(
        frozenset(by_type["member_id"]),
        frozenset(by_type["email_sha256"]),
        frozenset(by_type["phone_sha256"]),
    )


def drop_reason(
    member: Member | None, required_consent: str, suppression: Suppression
) -> str | None:
    """Why a member may not be contacted now (None: may be). The same rules as
    int_members_contactable, re-checked against staging at export time."""
    if member is None:
        return "member_not_in_staging"
    if suppression.holds(member):
        return "suppressed"
    if required_consent == "marketing" and not member.is_marketing_opt_in:
        return "no_marketing_consent"
    if required_consent == "sms" and not (member.is_sms_opt_in and member.phone_e164):
        return "no_sms_consent_or_phone"
    return None


# ---------------------------------------------------------------- files


@contextlib.contextmanager
def _restricted_umask() -> Iterator[None]:
    """Files and folders created inside are readable by the owner only."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)


def _restricted_folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=FOLDER_MODE)
    path.chmod(FOLDER_MODE)
    return path


def _publish(temporary: Path, final: Path) -> Path:
    temporary.chmod(FILE_MODE)
    os.replace(temporary, final)
    final.chmod(FILE_MODE)
    return final


def _write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return _publish(temporary, path)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- destinations


@dataclass
class AudienceExport:
    """One audience, read and re-checked, ready to be written to its destinations."""

    con: duckdb.DuckDBPyConnection
    audience: str
    as_of_date: str
    columns: list[str]
    kept_person_ids: list[str]
    members: dict[str, Member]
    member_of_person: dict[str, str | None]
    folder: Path
    stem: str = field(init=False)

    def __post_init__(self) -> None:
        self.stem = f"{self.audience}_{self.as_of_date}"

    def kept_members(self) -> list[Member]:
        """Members among the kept persons, in export order (anonymous visitors have none)."""
        found = []
        for person_id in self.kept_person_ids:
            member_id = self.member_of_person.get(person_id)
            if member_id is not None and member_id in self.members:
                found.append(self.members[member_id])
        return found


@dataclass(frozen=True)
class Written:
    """What a destination wrote: its files and rows, and rows it could not write."""

    files: list[Path]
    rows: int
    skipped_no_identifier: int = 0


def write_id_list(export: AudienceExport) -> Written:
    """The mart's ids (no contact data) of the kept persons: CSV and Parquet."""
    kept = [column for column in export.columns if column not in DROPPED_COLUMNS]
    rows = len(export.kept_person_ids)
    order = "affinity_rank" if "affinity_rank" in export.columns else "person_id"
    select = (
        f"select {', '.join(kept)} from marts.{export.audience} "
        f"where not is_holdout and list_contains($kept, person_id) order by {order}"
    )
    files = []
    for extension, options in (("csv", "format csv, header"), ("parquet", "format parquet")):
        final = export.folder / f"{export.stem}_id_list_{rows}rows.{extension}"
        temporary = final.with_name(final.name + ".tmp")
        export.con.execute(
            f"copy ({select}) to {sql_string(temporary)} ({options})",
            {"kept": export.kept_person_ids},
        )
        files.append(_publish(temporary, final))
    return Written(files, rows)


def _hashed_list(
    export: AudienceExport, destination: str, header: tuple[str, str], phone_format: Callable
) -> Written:
    rows: list[tuple[str, str]] = []
    skipped = 0
    for member in export.kept_members():
        email, phone = member.email_normalised, member.phone_e164
        if email is None and phone is None:
            skipped += 1
            continue
        rows.append(
            (
                sha256_hex(email) if email else "",
                sha256_hex(phone_format(phone)) if phone else "",
            )
        )
    final = export.folder / f"{export.stem}_{destination}_{len(rows)}rows.csv"
    return Written([_write_csv(final, header, rows)], len(rows), skipped)


def write_google_ads_customer_match(export: AudienceExport) -> Written:
    """Google Ads Customer Match: SHA-256 of the trimmed, lower-cased e-mail and of the
    phone in E.164 with its + (the Customer Match formatting rules)."""
    return _hashed_list(
        export, "google_ads_customer_match", ("Email", "Phone"), lambda phone: phone
    )


def write_meta_custom_audience(export: AudienceExport) -> Written:
    """Meta custom audience: SHA-256 of the trimmed, lower-cased e-mail and of the phone as
    digits with the country code, without + or leading zeros (Meta's normalisation rules)."""
    return _hashed_list(
        export, "meta_custom_audience", ("email", "phone"), lambda phone: phone.lstrip("+")
    )


def write_sms_send_list(export: AudienceExport) -> Written:
    """The SMS provider's send list: member id, the number in E.164 in clear, send order."""
    rows = []
    skipped = 0
    for member in export.kept_members():
        phone = member.phone_e164
        if phone is None:
            skipped += 1
            continue
        rows.append((member.member_id, phone, len(rows) + 1))
    final = export.folder / f"{export.stem}_sms_send_list_{len(rows)}rows.csv"
    return Written(
        [_write_csv(final, ("member_id", "phone", "send_rank"), rows)], len(rows), skipped
    )


DESTINATIONS: dict[str, Callable[[AudienceExport], Written]] = {
    "id_list": write_id_list,
    "google_ads_customer_match": write_google_ads_customer_match,
    "meta_custom_audience": write_meta_custom_audience,
    "sms_send_list": write_sms_send_list,
}


# ---------------------------------------------------------------- the export


@dataclass(frozen=True)
class RegisteredAudience:
    """A row of seed audiences (the registry)."""

    audience_name: str
    required_consent: str
    destinations: tuple[str, ...]


def read_registry(con: duckdb.DuckDBPyConnection, db: Path) -> list[RegisteredAudience]:
    try:
        rows = con.execute(
            "select audience_name, required_consent, destinations from seeds.audiences "
            "order by audience_name"
        ).fetchall()
    except duckdb.CatalogException as exc:
        raise LookupError(
            f"seeds.audiences (the audience registry) not found in {db}: run dbt seed and "
            "dbt build first"
        ) from exc
    registry = []
    for name, consent, destinations in rows:
        listed = tuple(str(destinations or "").split())
        unknown = [item for item in listed if item not in DESTINATIONS]
        if unknown:
            raise ValueError(
                f"seeds.audiences, audience {name}: unknown destination(s) {unknown}; "
                f"known: {sorted(DESTINATIONS)}"
            )
        if consent not in ("marketing", "sms"):
            raise ValueError(
                f"seeds.audiences, audience {name}: required_consent {consent!r} is not "
                "marketing or sms"
            )
        registry.append(RegisteredAudience(str(name), str(consent), listed))
    return registry


def _mart_columns(con: duckdb.DuckDBPyConnection, audience: str, db: Path) -> list[str]:
    columns = [
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = ? order by ordinal_position",
            [audience],
        ).fetchall()
    ]
    if not columns:
        raise LookupError(f"marts.{audience} not found in {db}: run dbt build first")
    forbidden = [
        column
        for column in columns
        if any(part in column.lower() for part in FORBIDDEN_COLUMN_PARTS)
    ]
    if forbidden:
        raise ValueError(
            f"marts.{audience} holds contact columns {forbidden}: a mart holds ids only, "
            "refusing to export"
        )
    return columns


def _as_of_date(con: duckdb.DuckDBPyConnection, audience: str) -> str:
    """The audience's as-of date (from rpt_audience_lift, which has a row per audience even
    when the audience is empty); 'empty' when it cannot be known."""
    rows = con.execute(
        "select max(as_of_date) from marts.rpt_audience_lift where audience_name = ?", [audience]
    ).fetchall()
    if rows and rows[0][0] is not None:
        return str(rows[0][0])
    rows = con.execute(f"select max(as_of_date) from marts.{audience}").fetchall()
    return str(rows[0][0]) if rows and rows[0][0] is not None else "empty"


def _staged_members(con: duckdb.DuckDBPyConnection, member_ids: list[str]) -> dict[str, Member]:
    if not member_ids:
        return {}
    rows = con.execute(
        "select member_id, email, phone, is_marketing_opt_in, is_sms_opt_in "
        "from staging.stg_shop__members where list_contains($ids, member_id)",
        {"ids": member_ids},
    ).fetchall()
    return {
        str(member_id): Member(str(member_id), email, phone, bool(marketing), bool(sms))
        for member_id, email, phone, marketing, sms in rows
    }


def _user() -> str:
    """Who ran the export (the OS user), for the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _append_audit(log: Path, entry: dict) -> None:
    """One JSON line, appended (O_APPEND): earlier lines are never rewritten."""
    log.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")


def export_audiences(
    db: Path,
    out: Path,
    *,
    suppression_files: Sequence[Path] = (),
    audit_log: Path | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[dict]:
    """Write every registered audience to its destinations; return one summary per audience."""
    audit_log = audit_log or out / "audience_exports.jsonl"
    run_id = uuid.uuid4().hex
    con = duckdb.connect(str(db), read_only=True)
    summaries = []
    try:
        registry = read_registry(con, db)
        suppression = load_suppression(con, suppression_files)
        with _restricted_umask():
            _restricted_folder(out)
            for entry in registry:
                summaries.append(
                    _export_one(con, db, out, entry, suppression, audit_log, run_id, now)
                )
    finally:
        con.close()
    return summaries


def _export_one(
    con: duckdb.DuckDBPyConnection,
    db: Path,
    out: Path,
    entry: RegisteredAudience,
    suppression: Suppression,
    audit_log: Path,
    run_id: str,
    now: Callable[[], datetime],
) -> dict:
    audience = entry.audience_name
    columns = _mart_columns(con, audience, db)
    member_column = "member_id" if "member_id" in columns else "cast(null as varchar)"
    order = "affinity_rank" if "affinity_rank" in columns else "person_id"
    rows = con.execute(
        f"select person_id, {member_column}, is_holdout from marts.{audience} order by {order}"
    ).fetchall()
    exported = [(person, member) for person, member, is_holdout in rows if not is_holdout]
    held_out = len(rows) - len(exported)
    members = _staged_members(con, sorted({member for _, member in exported if member}))
    dropped: Counter[str] = Counter()
    kept_person_ids = []
    for person_id, member_id in exported:
        if member_id is not None:
            reason = drop_reason(members.get(member_id), entry.required_consent, suppression)
            if reason:
                dropped[reason] += 1
                continue
        kept_person_ids.append(person_id)
    as_of_text = _as_of_date(con, audience)
    folder = _restricted_folder(out / audience)
    for old in folder.glob(f"{audience}_{as_of_text}_*"):
        old.unlink()
    export = AudienceExport(
        con=con,
        audience=audience,
        as_of_date=as_of_text,
        columns=columns,
        kept_person_ids=kept_person_ids,
        members=members,
        member_of_person=dict(exported),
        folder=folder,
    )
    destinations = {}
    for destination in entry.destinations:
        written = DESTINATIONS[destination](export)
        destinations[destination] = {
            "files": [path.name for path in written.files],
            "rows": written.rows,
            "skipped_no_identifier": written.skipped_no_identifier,
        }
        _append_audit(
            audit_log,
            {
                "exported_at": now().isoformat(timespec="seconds"),
                "run_id": run_id,
                "audience_name": audience,
                "destination": destination,
                "as_of_date": as_of_text,
                "rows": written.rows,
                "skipped_no_identifier": written.skipped_no_identifier,
                "dropped_at_export": dict(dropped),
                "files": [str(path.resolve()) for path in written.files],
                "file_sha256": [_file_sha256(path) for path in written.files],
                "db": str(db.resolve()),
                "user": _user(),
            },
        )
    summary = {
        "audience": audience,
        "as_of_date": as_of_text,
        "rows": len(kept_person_ids),
        "holdout_rows": held_out,
        "dropped_at_export": dict(dropped),
        "required_consent": entry.required_consent,
        "destinations": destinations,
    }
    sidecar = folder / f"{audience}_{as_of_text}.json"
    _write_text(sidecar, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    summary["folder"] = str(folder)
    return summary


def _write_text(path: Path, text: str) -> Path:
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return _publish(temporary, path)


# ---------------------------------------------------------------- command line


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write every audience in the format of each of its destinations",
        description="Export the audiences of a built DuckDB file: for each audience of seed "
        "audiences and each of its destinations (id_list, google_ads_customer_match, "
        "meta_custom_audience, sms_send_list), the persons outside the holdout whose consent "
        "and suppression status, re-checked in staging now, still allow contact. Files are "
        "mode 0600; an audit line per file goes to an append-only JSON-lines log.",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=Path("data/shopfunnel.duckdb"),
        help="the built DuckDB file (default data/shopfunnel.duckdb)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(os.environ.get("SHOPFUNNEL_EXPORT_DIR", "exports")),
        help="export folder (default: env SHOPFUNNEL_EXPORT_DIR, else exports/)",
    )
    parser.add_argument(
        "--suppression-list",
        type=Path,
        action="append",
        default=[],
        metavar="CSV",
        help="a newer suppression list (the seed's columns), applied on top of the one the "
        "build used; may be given several times",
    )
    parser.add_argument(
        "--audit-log",
        type=Path,
        default=None,
        help="append-only audit log (default <out>/audience_exports.jsonl)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.db.exists():
        print(f"export: {args.db} not found: run `make demo` (or dbt build) first", file=sys.stderr)
        return 2
    try:
        summaries = export_audiences(
            args.db,
            args.out,
            suppression_files=args.suppression_list,
            audit_log=args.audit_log,
        )
    except (LookupError, ValueError, duckdb.Error) as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 2
    for summary in summaries:
        dropped = sum(summary["dropped_at_export"].values())
        files = ", ".join(
            f"{name} {detail['rows']:,}" for name, detail in summary["destinations"].items()
        )
        print(
            f"{summary['audience']:<26} {summary['rows']:>6,} rows (+{summary['holdout_rows']:,}"
            f" held out, {dropped:,} dropped at export), as of {summary['as_of_date']}"
            f" -> {summary['folder']}/: {files}"
        )
    return 0
