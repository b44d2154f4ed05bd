"""Audience exports, and secrets that stay secret.

The export tests build a tiny warehouse by hand (no dbt): audience marts with ids only, the
real registry (seeds/audiences.csv), a hashed suppression list and a staging members table
with contact data. The hashes expected in the platform files are hex digests computed by
hand (Python's hashlib, once) and written here as constants. The tests marked e2e re-check
the built test warehouse and its build artifacts: the holdout recomputed with hashlib, no
contact column or value in any mart, no salt or clear contact value in target/ or logs/,
the export-time consent decision equal to the build's for every member, and a real export
after consent was withdrawn in staging.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import re
import shutil
import stat
from pathlib import Path

import duckdb
import pytest
import yaml

from shopfunnel import cli
from shopfunnel.export import (
    DESTINATIONS,
    Member,
    Suppression,
    drop_reason,
    e164_phone,
    export_audiences,
    load_suppression,
    normalize_email,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
REGISTRY_CSV = REPO_ROOT / "seeds" / "audiences.csv"

# Hand-computed (hashlib.sha256(value.encode()).hexdigest()) for member J of the tiny warehouse:
# e-mail " Jane.Doe@Example.COM " -> jane.doe@example.com; phone 010-9876-5432 -> +821098765432.
JANE_EMAIL_SHA256 = "86e0b9e56c17cc4d12387e1949b85053fbe73bc3ce5a1188713a9d300cc6133d"
JANE_PHONE_E164_SHA256 = "202ea34d874380cfb2241cd8133cde28ee84c65d2703da2e90b9862b9e5df017"
# Meta's form of J's phone: 821098765432 (digits with the country code, no +).
JANE_PHONE_META_SHA256 = "500c3bf21bc6f5efcf603a93a7a89f24531aa5ed128d868c09d76f55d7d34de5"
# Member K's phone +82 10-1111-2222 -> +821011112222, and S's e-mail (on the suppression list).
KIM_PHONE_E164_SHA256 = "628534260981f102742126c4b32384e97844ed41a7648d7c21e4e63f845a89bf"
LEE_EMAIL_SHA256 = "556740ed46f084c7e3f36626b254bd181c24a6388512feff832302d9d05a8f87"
SUPPRESSED_EMAIL = "s@example.com"

PHONE_CHARACTERS = re.compile(r"^[+0-9 ()-]+$")
HEX_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _looks_like_phone(value: str) -> bool:
    """A Korean phone number however written: 010-1234-5678, 01012345678, +82 10 ..."""
    digits = re.sub(r"[^0-9]", "", value)
    return (
        bool(PHONE_CHARACTERS.match(value.strip()))
        and digits.startswith(("01", "82"))
        and 10 <= len(digits) <= 13
    )


def _write_tiny_warehouse(db: Path) -> None:
    """Three audiences as dbt leaves them (ids only), the registry, the hashed suppression
    list and the members in staging."""
    suppressed = hashlib.sha256(SUPPRESSED_EMAIL.encode()).hexdigest()
    con = duckdb.connect(str(db))
    con.execute(f"""
        create schema marts;
        create schema seeds;
        create schema staging;
        create table seeds.audiences as
            select * from read_csv('{REGISTRY_CSV}', header = true, all_varchar = true);
        create table seeds.suppression_list as
            select * from (values
                ('member_id', 'M_NOBODY'),
                ('email_sha256', '{suppressed}')
            ) as rows (suppression_type, suppression_value);
        create table staging.stg_shop__members as
            select * from (values
                ('J', ' Jane.Doe@Example.COM ', '010-9876-5432', true, true),
                ('K', 'kim@example.com', '+82 10-1111-2222', true, true),
                ('L', 'lee@example.com', null, true, false),
                ('N', null, null, true, false),
                ('X', 'x@example.com', '010-5555-6666', false, false),
                ('S', 'S@example.com', '010-7777-8888', true, true),
                ('H', 'h@example.com', '010-1212-3434', true, true)
            ) as rows (member_id, email, phone, is_marketing_opt_in, is_sms_opt_in);
        create table marts.aud_signup_retargeting as
            select * from (values
                ('anon_a', null, 'a', 'aud_signup_retargeting', false, date '2026-03-01'),
                ('anon_b', null, 'b', 'aud_signup_retargeting', false, date '2026-03-01'),
                ('anon_c', null, 'c', 'aud_signup_retargeting', true, date '2026-03-01'),
                ('mbr_X', 'X', 'x', 'aud_signup_retargeting', false, date '2026-03-01')
            ) as rows (person_id, member_id, anonymous_id, audience_name, is_holdout, as_of_date);
        create table marts.aud_first_purchase_coupon as
            select * from (values
                ('mbr_J', 'J', 'aud_first_purchase_coupon', false, date '2026-03-01'),
                ('mbr_K', 'K', 'aud_first_purchase_coupon', false, date '2026-03-01'),
                ('mbr_L', 'L', 'aud_first_purchase_coupon', false, date '2026-03-01'),
                ('mbr_N', 'N', 'aud_first_purchase_coupon', false, date '2026-03-01'),
                ('mbr_X', 'X', 'aud_first_purchase_coupon', false, date '2026-03-01'),
                ('mbr_S', 'S', 'aud_first_purchase_coupon', false, date '2026-03-01'),
                ('mbr_H', 'H', 'aud_first_purchase_coupon', true, date '2026-03-01')
            ) as rows (person_id, member_id, audience_name, is_holdout, as_of_date);
        create table marts.aud_vip_new_release_sms as
            select * from (values
                ('mbr_K', 'K', 'aud_vip_new_release_sms', 1::bigint, false, date '2026-03-01'),
                ('mbr_J', 'J', 'aud_vip_new_release_sms', 2::bigint, false, date '2026-03-01'),
                ('mbr_L', 'L', 'aud_vip_new_release_sms', 3::bigint, false, date '2026-03-01'),
                ('mbr_H', 'H', 'aud_vip_new_release_sms', 4::bigint, true, date '2026-03-01')
            ) as rows (person_id, member_id, audience_name, affinity_rank, is_holdout, as_of_date);
        create table marts.rpt_audience_lift as
            select audience_name, date '2026-03-01' as as_of_date from seeds.audiences;
    """)
    con.close()


@pytest.fixture()
def tiny_db(tmp_path: Path) -> Path:
    db = tmp_path / "tiny.duckdb"
    _write_tiny_warehouse(db)
    return db


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _only(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, (pattern, [path.name for path in folder.iterdir()])
    return found[0]


# ---------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("010-1234-5678", "+821012345678"),
        ("01012345678", "+821012345678"),
        ("+82 10 1234 5678", "+821012345678"),
        ("+82 (0)10-1234-5678", "+821012345678"),
        ("821012345678", "+821012345678"),
        ("n/a", None),
        (None, None),
    ],
)
def test_phone_in_e164_like_the_sql_macro(raw: str | None, expected: str | None) -> None:
    """The cases of tests/audiences/assert_audience_macros_known_values.sql."""
    assert e164_phone(raw) == expected


def test_email_normalised_like_the_sql_macro() -> None:
    assert normalize_email("  A@Example.COM ") == "a@example.com"
    assert normalize_email("  ") is None and normalize_email(None) is None


def test_drop_reasons() -> None:
    member = Member("M1", "a@example.com", "010-1234-5678", True, False)
    empty = _empty_suppression()
    assert drop_reason(member, "marketing", empty) is None
    assert drop_reason(member, "sms", empty) == "no_sms_consent_or_phone"
    assert drop_reason(None, "marketing", empty) == "member_not_in_staging"
    suppressed = _empty_suppression(email=hashlib.sha256(b"a@example.com").hexdigest())
    assert drop_reason(member, "marketing", suppressed) == "suppressed"


def _empty_suppression(email: str | None = None) -> Suppression:
    return Suppression(frozenset(), frozenset({email} if email else set()), frozenset())


# ---------------------------------------------------------------- the export


def test_ad_platform_lists_hold_each_platforms_hashes(tiny_db, tmp_path) -> None:
    out = tmp_path / "exports"
    summaries = {summary["audience"]: summary for summary in export_audiences(tiny_db, out)}
    folder = out / "aud_first_purchase_coupon"

    google = _read_csv(_only(folder, "*_google_ads_customer_match_*rows.csv"))
    meta = _read_csv(_only(folder, "*_meta_custom_audience_*rows.csv"))
    assert list(google[0]) == ["Email", "Phone"] and list(meta[0]) == ["email", "phone"]
    # J, K and L are kept (N has no e-mail and no phone: skipped); X withdrew consent and S
    # is suppressed (dropped); H is held out
    assert len(google) == len(meta) == 3
    assert {"Email": JANE_EMAIL_SHA256, "Phone": JANE_PHONE_E164_SHA256} in google
    assert {"email": JANE_EMAIL_SHA256, "phone": JANE_PHONE_META_SHA256} in meta
    assert {"Email": LEE_EMAIL_SHA256, "Phone": ""} in google
    for row in google + meta:
        for value in row.values():
            assert value == "" or HEX_DIGEST.match(value), value
    detail = summaries["aud_first_purchase_coupon"]
    assert detail["rows"] == 4 and detail["holdout_rows"] == 1
    assert detail["dropped_at_export"] == {"no_marketing_consent": 1, "suppressed": 1}
    assert detail["destinations"]["google_ads_customer_match"]["skipped_no_identifier"] == 1
    id_list = _read_csv(_only(folder, "*_id_list_4rows.csv"))
    assert [row["person_id"] for row in id_list] == ["mbr_J", "mbr_K", "mbr_L", "mbr_N"]
    assert "is_holdout" not in id_list[0]


def test_sms_list_is_restricted_clear_and_in_send_order(tiny_db, tmp_path) -> None:
    out = tmp_path / "exports"
    export_audiences(tiny_db, out)
    folder = out / "aud_vip_new_release_sms"
    sms_file = _only(folder, "*_sms_send_list_*rows.csv")
    rows = _read_csv(sms_file)
    # L has no SMS consent in staging: dropped; H is held out
    assert rows == [
        {"member_id": "K", "phone": "+821011112222", "send_rank": "1"},
        {"member_id": "J", "phone": "+821098765432", "send_rank": "2"},
    ]
    for path in [*out.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert not list(out.rglob("*.tmp"))


def test_consent_and_suppression_are_rechecked_at_export_time(tiny_db, tmp_path) -> None:
    out = tmp_path / "exports"
    first = {s["audience"]: s for s in export_audiences(tiny_db, out)}
    assert first["aud_vip_new_release_sms"]["destinations"]["sms_send_list"]["rows"] == 2

    # after the build: K withdraws SMS consent in staging, and J's phone joins a newer
    # suppression list (by the hash of its E.164 form); the marts are unchanged
    con = duckdb.connect(str(tiny_db))
    con.execute("update staging.stg_shop__members set is_sms_opt_in = false where member_id = 'K'")
    con.close()
    newer = tmp_path / "suppression_list.csv"
    newer.write_text(
        "suppression_type,suppression_value,reason,added_date\n"
        f"phone_sha256,{JANE_PHONE_E164_SHA256},do-not-call,2026-03-02\n"
    )
    second = {
        s["audience"]: s for s in export_audiences(tiny_db, out, suppression_files=[newer])
    }
    sms = second["aud_vip_new_release_sms"]
    assert sms["destinations"]["sms_send_list"]["rows"] == 0
    assert sms["dropped_at_export"] == {"no_sms_consent_or_phone": 2, "suppressed": 1}
    assert _read_csv(_only(out / "aud_vip_new_release_sms", "*_sms_send_list_*rows.csv")) == []
    coupon_google = _read_csv(
        _only(out / "aud_first_purchase_coupon", "*_google_ads_customer_match_*rows.csv")
    )
    assert JANE_EMAIL_SHA256 not in {row["Email"] for row in coupon_google}
    assert KIM_PHONE_E164_SHA256 in {row["Phone"] for row in coupon_google}  # K still allows e-mail


def test_audit_log_appends_a_line_per_file_written(tiny_db, tmp_path) -> None:
    out = tmp_path / "exports"
    log = out / "audience_exports.jsonl"
    export_audiences(tiny_db, out)
    first = log.read_text().splitlines()
    destinations = sum(
        len(row["destinations"].split()) for row in csv.DictReader(REGISTRY_CSV.open())
    )
    assert len(first) == destinations
    export_audiences(tiny_db, out)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 2 * destinations and log.read_text().splitlines()[: len(first)] == first
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    latest = [line for line in lines if line["run_id"] == lines[-1]["run_id"]]
    sms = next(line for line in latest if line["destination"] == "sms_send_list")
    assert sms["audience_name"] == "aud_vip_new_release_sms" and sms["rows"] == 2
    assert sms["as_of_date"] == "2026-03-01" and sms["exported_at"].endswith("+00:00")
    (path,) = sms["files"]
    assert Path(path).exists()
    assert sms["file_sha256"] == [hashlib.sha256(Path(path).read_bytes()).hexdigest()]
    assert {line["destination"] for line in latest} == {
        d for row in csv.DictReader(REGISTRY_CSV.open()) for d in row["destinations"].split()
    }


def test_files_of_the_same_as_of_date_are_replaced(tiny_db, tmp_path) -> None:
    out = tmp_path / "exports"
    export_audiences(tiny_db, out)
    con = duckdb.connect(str(tiny_db))
    con.execute("delete from marts.aud_signup_retargeting where person_id = 'anon_b'")
    con.close()
    export_audiences(tiny_db, out)
    names = sorted(path.name for path in (out / "aud_signup_retargeting").iterdir())
    assert names == [
        "aud_signup_retargeting_2026-03-01.json",
        "aud_signup_retargeting_2026-03-01_id_list_1rows.csv",
        "aud_signup_retargeting_2026-03-01_id_list_1rows.parquet",
    ]
    parquet = duckdb.sql(
        f"select person_id from read_parquet('{out / 'aud_signup_retargeting' / names[2]}')"
    ).fetchall()
    assert parquet == [("anon_a",)]  # mbr_X withdrew marketing consent: dropped


def test_an_empty_audience_still_gets_its_files(tiny_db, tmp_path) -> None:
    con = duckdb.connect(str(tiny_db))
    con.execute("delete from marts.aud_vip_new_release_sms")
    con.close()
    summaries = {s["audience"]: s for s in export_audiences(tiny_db, tmp_path / "exports")}
    sms = summaries["aud_vip_new_release_sms"]
    assert sms["rows"] == 0 and sms["as_of_date"] == "2026-03-01"
    folder = tmp_path / "exports" / "aud_vip_new_release_sms"
    assert _read_csv(_only(folder, "*_sms_send_list_0rows.csv")) == []


@pytest.mark.parametrize("column", ["email", "phone_sha256", "email_hash"])
def test_export_refuses_a_mart_with_contact_columns(tiny_db, tmp_path, column) -> None:
    con = duckdb.connect(str(tiny_db))
    con.execute(f"alter table marts.aud_first_purchase_coupon add column {column} varchar")
    con.close()
    with pytest.raises(ValueError, match="ids only"):
        export_audiences(tiny_db, tmp_path / "exports")


def test_export_refuses_an_unknown_destination(tiny_db, tmp_path) -> None:
    con = duckdb.connect(str(tiny_db))
    con.execute("update seeds.audiences set destinations = 'id_list fax' where audience_name = "
                "'aud_signup_retargeting'")
    con.close()
    with pytest.raises(ValueError, match="aud_signup_retargeting: unknown destination"):
        export_audiences(tiny_db, tmp_path / "exports")


def test_registry_names_known_destinations_only() -> None:
    for row in csv.DictReader(REGISTRY_CSV.open()):
        assert set(row["destinations"].split()) <= set(DESTINATIONS), row


def test_export_command_uses_env_folder(tiny_db, tmp_path, monkeypatch, capsys) -> None:
    out = tmp_path / "from_env"
    monkeypatch.setenv("SHOPFUNNEL_EXPORT_DIR", str(out))
    assert cli.main(["export", "--db", str(tiny_db)]) == 0
    printed = capsys.readouterr().out
    assert "aud_signup_retargeting" in printed and str(out) in printed
    assert "sms_send_list 2" in printed
    assert (
        out / "aud_first_purchase_coupon" / "aud_first_purchase_coupon_2026-03-01.json"
    ).exists()


def test_export_command_without_database(tmp_path, capsys) -> None:
    missing = tmp_path / "missing.duckdb"
    assert cli.main(["export", "--db", str(missing), "--out", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err


def test_export_command_names_a_bad_suppression_file(tiny_db, tmp_path, capsys) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("suppression_type,suppression_value\nemail,x@example.com\n")
    args = ["export", "--db", str(tiny_db), "--out", str(tmp_path / "o"), "--suppression-list"]
    assert cli.main([*args, str(bad)]) == 2
    assert f"{bad}, row 2" in capsys.readouterr().err


def test_phone_detector() -> None:
    assert _looks_like_phone("010-1234-5678") and _looks_like_phone("+82 10 1234 5678")
    assert not _looks_like_phone("2026-04-01") and not _looks_like_phone("a1b2")


def test_project_sql_reads_no_salt() -> None:
    """No model, macro or test reads a salt from the environment or defaults one."""
    pattern = re.compile(r"env_var\(\s*['\"][^'\"]*salt|shopfunnel-dev-salt", re.IGNORECASE)
    offenders = [
        str(path.relative_to(REPO_ROOT))
        for folder in ("models", "macros", "tests", "seeds")
        for path in (REPO_ROOT / folder).rglob("*")
        if path.suffix in {".sql", ".yml", ".md", ".csv"} and pattern.search(path.read_text())
    ]
    assert offenders == []


# ---------------------------------------------------------------- on the built warehouse


def _holdout_draw(person_id: str, audience: str, as_of_date: str, seed: int) -> float:
    """Macro is_in_holdout, re-written: md5 of the key, first 13 hex digits, in [0, 1)."""
    digest = hashlib.md5(f"{person_id}|{audience}|{as_of_date}|{seed}".encode()).hexdigest()
    return int(digest[:13], 16) / 16**13


def _registered_audiences() -> list[str]:
    return [row["audience_name"] for row in csv.DictReader(REGISTRY_CSV.open())]


@pytest.mark.e2e
def test_holdout_matches_the_seeded_hash(built_db, repo_root) -> None:
    project_vars = yaml.safe_load((repo_root / "dbt_project.yml").read_text())["vars"]
    seed, share = project_vars["holdout_seed"], project_vars["holdout_share"]
    total = held = 0
    for audience in _registered_audiences():
        rows = built_db.execute(
            f"select person_id, cast(as_of_date as varchar), is_holdout from marts.{audience}"
        ).fetchall()
        for person_id, as_of_date, is_holdout in rows:
            expected = _holdout_draw(person_id, audience, as_of_date, seed) < share
            assert is_holdout == expected, (audience, person_id)
        total += len(rows)
        held += sum(1 for row in rows if row[2])
    # enough persons for the share to be measured to within a few points
    assert total > 1000
    assert abs(held / total - share) < 4 * math.sqrt(share * (1 - share) / total)


CONTACT_COLUMN = re.compile(r"email|phone|sha256|hash|salt", re.IGNORECASE)


@pytest.mark.e2e
def test_no_mart_has_a_contact_column(built_db) -> None:
    """The catalog: no column of any relation BI reads (schema marts) is contact data or a
    hash of it."""
    columns = built_db.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts'"
    ).fetchall()
    assert {table for table, _ in columns} >= set(_registered_audiences())
    assert [(t, c) for t, c in columns if CONTACT_COLUMN.search(c)] == []


def _member_contact_values(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every member's e-mail and phone as stored, normalised, and hashed the platforms' ways."""
    values: set[str] = set()
    for email, phone in con.execute(
        "select email, phone from staging.stg_shop__members"
    ).fetchall():
        email_n, phone_n = normalize_email(email), e164_phone(phone)
        for value in (email, phone, email_n, phone_n):
            if value and value.strip():
                values.add(value.strip())
        for value in (email_n, phone_n, phone_n.lstrip("+") if phone_n else None):
            if value:
                values.add(hashlib.sha256(value.encode()).hexdigest())
    return values


@pytest.mark.e2e
def test_no_mart_holds_a_contact_value(built_db) -> None:
    """No text value of any mart is a member's e-mail or phone, in clear or hashed."""
    contact = _member_contact_values(built_db)
    assert len(contact) > 1000  # the test data set has members with contact data
    built_db.execute("create or replace temp table contact_values (value varchar)")
    built_db.executemany("insert into contact_values values (?)", [[v] for v in contact])
    text_columns = built_db.execute(
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts' and data_type = 'VARCHAR'"
    ).fetchall()
    assert text_columns
    found = []
    for table, column in text_columns:
        hits = built_db.execute(
            f'select count(*) from marts."{table}" where trim("{column}") in '
            "(select value from contact_values)"
        ).fetchall()[0][0]
        if hits:
            found.append((table, column, hits))
    assert found == []


def _artifact_files(repo_root: Path) -> list[Path]:
    folders = [repo_root / "target", repo_root / "logs"]
    files = [path for folder in folders if folder.exists() for path in folder.rglob("*")]
    files = [path for path in files if path.is_file()]
    if not files:
        pytest.skip("no target/ or logs/ in the project folder: run `make test-build` first")
    return files


@pytest.mark.e2e
def test_build_artifacts_hold_no_salt_and_no_contact_value(built_db, repo_root) -> None:
    """target/ (compiled SQL, manifest, run results) and logs/ after the build: no salt, the
    old development default included, and no member's e-mail or phone."""
    emails = set()
    phones = set()
    for email, phone in built_db.execute(
        "select email, phone from staging.stg_shop__members"
    ).fetchall():
        if normalize_email(email):
            emails.add(normalize_email(email))
        if e164_phone(phone):
            phones.add(e164_phone(phone))
            phones.add(re.sub(r"[^0-9]", "", phone))
    assert emails and phones
    email_pattern = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
    phone_pattern = re.compile(r"\+?[0-9][0-9 ()-]{8,18}[0-9]")
    offenders = []
    for path in _artifact_files(repo_root):
        text = path.read_text(errors="replace")
        if "shopfunnel-dev-salt" in text.lower():
            offenders.append((str(path), "salt"))
        leaked = {match.lower() for match in email_pattern.findall(text)} & emails
        digits = {re.sub(r"[^0-9]", "", match) for match in phone_pattern.findall(text)}
        leaked |= {d for d in digits if d in phones or f"+{d}" in phones}
        if leaked:
            offenders.append((str(path), sorted(leaked)[:3]))
    assert offenders == []


@pytest.mark.e2e
def test_export_time_decision_agrees_with_the_build(built_db, test_db_path) -> None:
    """With staging unchanged, Python's consent and suppression decision (the export's) equals
    int_members_contactable's (the build's) for every member: one rule in two languages."""
    suppression = load_suppression(built_db)
    members = built_db.execute(
        "select members.member_id, members.email, members.phone, members.is_marketing_opt_in,"
        " members.is_sms_opt_in, contactable.can_send_marketing, contactable.can_send_sms,"
        " contactable.is_suppressed "
        "from staging.stg_shop__members as members "
        "inner join intermediate.int_members_contactable as contactable using (member_id)"
    ).fetchall()
    assert members
    disagreements = []
    suppressed = 0
    for member_id, email, phone, marketing, sms, can_marketing, can_sms, is_suppressed in members:
        member = Member(member_id, email, phone, bool(marketing), bool(sms))
        by_export = (
            drop_reason(member, "marketing", suppression) is None,
            drop_reason(member, "sms", suppression) is None,
            suppression.holds(member),
        )
        suppressed += by_export[2]
        if by_export != (can_marketing, can_sms, is_suppressed):
            disagreements.append((member_id, by_export, (can_marketing, can_sms, is_suppressed)))
    assert disagreements == []
    assert suppressed == sum(row[7] for row in members)


def _replace_staged_members(con: duckdb.DuckDBPyConnection, update_sql: str) -> None:
    """Rewrite staging.stg_shop__members in a copy of the warehouse (a table, or a view over
    an incremental table: either way replaced by an edited table)."""
    kind = con.execute(
        "select table_type from information_schema.tables "
        "where table_schema = 'staging' and table_name = 'stg_shop__members'"
    ).fetchall()[0][0]
    con.execute("create table staging.members_edit as select * from staging.stg_shop__members")
    con.execute(update_sql.replace("{table}", "staging.members_edit"))
    con.execute(
        f"drop {'view' if kind == 'VIEW' else 'table'} staging.stg_shop__members"
    )
    con.execute("alter table staging.members_edit rename to stg_shop__members")


@pytest.mark.e2e
def test_real_export_formats_and_consent_withdrawn_after_the_build(
    built_db, test_db_path, tmp_path
) -> None:
    sms_row = built_db.execute(
        "select sms.member_id, members.phone from marts.aud_vip_new_release_sms as sms "
        "inner join staging.stg_shop__members as members using (member_id) "
        "where not sms.is_holdout order by sms.affinity_rank limit 1"
    ).fetchall()
    coupon_row = built_db.execute(
        "select members.email, members.phone "
        "from marts.aud_first_purchase_coupon as coupon "
        "inner join staging.stg_shop__members as members using (member_id) "
        "where not coupon.is_holdout and members.email is not null "
        "order by coupon.member_id limit 1"
    ).fetchall()
    assert sms_row and coupon_row, "the test data set has both audiences"
    (withdrawn, withdrawn_phone), (email, phone) = sms_row[0], coupon_row[0]
    sms_size = built_db.execute(
        "select count(*) from marts.aud_vip_new_release_sms where not is_holdout"
    ).fetchall()[0][0]

    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(test_db_path, copy)
    con = duckdb.connect(str(copy))
    _replace_staged_members(
        con, f"update {{table}} set is_sms_opt_in = false where member_id = '{withdrawn}'"
    )
    con.close()
    out = tmp_path / "exports"
    summaries = {s["audience"]: s for s in export_audiences(copy, out)}

    sms = summaries["aud_vip_new_release_sms"]
    assert sms["dropped_at_export"] == {"no_sms_consent_or_phone": 1}
    sms_file = _only(out / "aud_vip_new_release_sms", "*_sms_send_list_*rows.csv")
    rows = _read_csv(sms_file)
    assert len(rows) == sms_size - 1 == sms["destinations"]["sms_send_list"]["rows"]
    assert withdrawn not in {row["member_id"] for row in rows}
    assert e164_phone(withdrawn_phone) not in {row["phone"] for row in rows}
    assert all(re.fullmatch(r"\+82[0-9]{1,13}", row["phone"]) for row in rows)
    assert stat.S_IMODE(sms_file.stat().st_mode) == 0o600

    google = _read_csv(
        _only(out / "aud_first_purchase_coupon", "*_google_ads_customer_match_*rows.csv")
    )
    meta = _read_csv(_only(out / "aud_first_purchase_coupon", "*_meta_custom_audience_*rows.csv"))
    expected_email = hashlib.sha256(email.strip().lower().encode()).hexdigest()
    assert expected_email in {row["Email"] for row in google}
    assert expected_email in {row["email"] for row in meta}
    if phone:
        digits = re.sub(r"[^0-9]", "", phone)
        national = re.sub(r"^(82)?0?", "", digits, count=1)
        assert hashlib.sha256(f"+82{national}".encode()).hexdigest() in {
            row["Phone"] for row in google
        }
        assert hashlib.sha256(f"82{national}".encode()).hexdigest() in {
            row["phone"] for row in meta
        }
    audit = [
        json.loads(line) for line in (out / "audience_exports.jsonl").read_text().splitlines()
    ]
    assert {(line["audience_name"], line["destination"]) for line in audit} == {
        (row["audience_name"], destination)
        for row in csv.DictReader(REGISTRY_CSV.open())
        for destination in row["destinations"].split()
    }
    # no clear contact value outside the restricted SMS list
    clear = {email.strip().lower()}
    for path in out.rglob("*.csv"):
        if "sms_send_list" in path.name:
            continue
        text = path.read_text().lower()
        assert not any(value in text for value in clear), path
        assert "@" not in text
