"""The ``publish`` command: write, audit, publish the marts of a build to BI tools.

    python -m shopfunnel publish --db data/shopfunnel.duckdb

1. Audit: the dbt build recorded in ``run_results.json`` has no failed node, and the marts
   gate (``python -m shopfunnel validate --db <build> --stage marts``) passes on the build
   file. Otherwise nothing is published, the reason is printed and the exit code is 1;
   the version being served stays served.
2. Write: every relation of the build's ``marts`` schema (and nothing else: staging,
   intermediate and seeds hold clear-text PII) is copied into a new DuckDB file written
   in the storage format of DuckDB v1.4.0 (DuckDB 1.4+ clients open it), with the dbt
   descriptions as table and column comments and the publication log in ``meta``. The
   copy's row counts are checked against the build's.
3. Publish: the file is archived as a version (``<serve>.versions/<id>.duckdb``, the last
   ``--keep`` kept) and a copy of it is renamed over the serving file
   (``SHOPFUNNEL_SERVE_PATH``, default ``data/serve/shopfunnel.duckdb``).

``--to postgres --dsn ...`` then copies the served version into PostgreSQL (see
``shopfunnel.serve.postgres``); without ``--db`` it copies the version already served.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from shopfunnel.argtypes import whole_number
from shopfunnel.serve.audit import GateResult, failed_dbt_nodes, run_marts_gate
from shopfunnel.serve.docs import RelationDoc, mart_docs
from shopfunnel.serve.meta import Publication, PublicationLog, read_log, write_log
from shopfunnel.serve.store import (
    DEFAULT_KEEP,
    SERVE_PATH_ENV,
    SERVE_STORAGE_VERSION,
    ServeError,
    ServeStore,
    attach_read_only,
    sql_string,
    storage_version,
)

MARTS_SCHEMA = "marts"
PG_DSN_ENV = "SHOPFUNNEL_PG_DSN"

Log = Callable[[str], None]


def _print(message: str) -> None:
    print(f"publish: {message}", flush=True)


@dataclass
class PublishResult:
    """What a publish did. ``published`` is False when the audit refused the build."""

    published: bool
    serve_path: Path
    message: str
    version_id: str | None = None
    served_version: str | None = None
    mart_rows: dict[str, int] = field(default_factory=dict)
    gate: GateResult | None = None
    removed_versions: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------- helpers


def find_project_dir(start: Path | None = None) -> Path:
    """The folder holding dbt_project.yml: `start` (default: the current folder) or above."""
    folder = (start or Path.cwd()).absolute()
    for candidate in (folder, *folder.parents):
        if (candidate / "dbt_project.yml").is_file():
            return candidate
    raise ServeError(f"no dbt_project.yml in {folder} or above: run from the project folder")


def dbt_target_dir(project_dir: Path) -> Path:
    """dbt's target folder of the project: ``$DBT_TARGET_PATH`` or ``target/``."""
    target = Path(os.environ.get("DBT_TARGET_PATH", "target"))
    return target if target.is_absolute() else project_dir / target


def git_state(project_dir: Path) -> tuple[str, bool]:
    """(commit sha, has uncommitted changes) of the project; ("unknown", False) outside git."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(project_dir), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            ["git", "-C", str(project_dir), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown", False
    return sha or "unknown", bool(status.strip())


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_served_log(store: ServeStore) -> PublicationLog:
    """The publication log of the file being served (empty before the first publish)."""
    if not store.serve_path.exists():
        return PublicationLog()
    with attach_read_only(store.serve_path, "served") as con:
        return read_log(con, "served")


def mart_relations(con: duckdb.DuckDBPyConnection, alias: str) -> list[str]:
    """Every table and view of the ``marts`` schema of the attached database `alias`."""
    rows = con.execute(
        "select table_name from duckdb_tables() where database_name = ? and schema_name = ? "
        "union select view_name from duckdb_views() where database_name = ? and schema_name = ? "
        "order by 1",
        [alias, MARTS_SCHEMA, alias, MARTS_SCHEMA],
    ).fetchall()
    return [str(row[0]) for row in rows]


# clear-text contact data must stay in staging: a mart column named like this is refused
CLEAR_CONTACT_COLUMN = re.compile(r"^(?!has_|is_)(.*_)?(e_?mail|phone|mobile)(_address|_number)?$")


def clear_contact_columns(build_db: Path) -> list[str]:
    """``marts.<relation>.<column>`` of every mart column that looks like clear e-mail/phone."""
    with attach_read_only(build_db, "build") as con:
        rows = con.execute(
            "select table_name, column_name from duckdb_columns() "
            "where database_name = 'build' and schema_name = ? order by 1, 2",
            [MARTS_SCHEMA],
        ).fetchall()
    return [
        f"{MARTS_SCHEMA}.{table}.{column}"
        for table, column in rows
        if CLEAR_CONTACT_COLUMN.match(str(column).lower())
    ]


def _count(con: duckdb.DuckDBPyConnection, relation: str) -> int:
    return int(con.execute(f"select count(*) from {relation}").fetchall()[0][0])


def _add_comments(
    con: duckdb.DuckDBPyConnection, relation: str, columns: list[str], doc: RelationDoc
) -> None:
    if doc.description:
        con.execute(f"comment on table {relation} is {sql_string(doc.description)}")
    for column in columns:
        text = doc.columns.get(column)
        if text:
            con.execute(f"comment on column {relation}.{_identifier(column)} is {sql_string(text)}")


def write_version_file(
    build_db: Path,
    target: Path,
    log: PublicationLog,
    publication: Publication,
    docs: dict[str, RelationDoc],
) -> tuple[dict[str, int], PublicationLog]:
    """Copy the marts of `build_db` into the new file `target`; return rows per mart."""
    target.unlink(missing_ok=True)
    con = duckdb.connect(
        str(target), config={"storage_compatibility_version": SERVE_STORAGE_VERSION}
    )
    try:
        try:
            con.execute(f"attach {sql_string(str(build_db))} as build (read_only)")
        except duckdb.Error as exc:
            raise ServeError(
                f"cannot open the build file {build_db} read-only (is a build still "
                f"running?): {exc}"
            ) from exc
        relations = mart_relations(con, "build")
        if not relations:
            raise ServeError(
                f"{build_db} has no relation in schema {MARTS_SCHEMA}: nothing to serve"
            )
        own = con.execute("select current_database()").fetchall()[0][0]
        con.execute(f"create schema {MARTS_SCHEMA}")
        rows: dict[str, int] = {}
        for name in relations:
            source = f"build.{MARTS_SCHEMA}.{_identifier(name)}"
            copy = f"{MARTS_SCHEMA}.{_identifier(name)}"
            con.execute(f"create table {copy} as select * from {source}")
            built, copied = _count(con, source), _count(con, copy)
            if built != copied:
                raise ServeError(
                    f"copy of {MARTS_SCHEMA}.{name} has {copied} rows, the build {built}"
                )
            rows[name] = copied
            columns = [
                str(row[0])
                for row in con.execute(
                    "select column_name from duckdb_columns() where database_name = ? and "
                    "schema_name = ? and table_name = ? order by column_index",
                    [own, MARTS_SCHEMA, name],
                ).fetchall()
            ]
            _add_comments(con, copy, columns, docs.get(name, RelationDoc("")))
        con.execute("detach build")
        new_log = log.appended(
            replace(publication, mart_count=len(rows), total_row_count=sum(rows.values())),
            rows,
        )
        write_log(con, own, new_log)
        con.execute("checkpoint")
    finally:
        con.close()
    return rows, new_log


def verify_version_file(path: Path, version_id: str, rows: dict[str, int]) -> None:
    """Reopen a written version read-only: format, log and row counts as intended."""
    with attach_read_only(path, "written") as con:
        version = storage_version(con, "written")
        if not version.startswith(SERVE_STORAGE_VERSION):
            raise ServeError(f"{path} has storage version {version}, not {SERVE_STORAGE_VERSION}")
        log = read_log(con, "written")
        if log.current_version != version_id:
            raise ServeError(f"{path}: log names {log.current_version} current, not {version_id}")
        found = {name: _count(con, f"written.{MARTS_SCHEMA}.{_identifier(name)}") for name in rows}
        if found != rows or set(mart_relations(con, "written")) != set(rows):
            raise ServeError(f"{path}: marts or row counts differ from what was written")


# ----------------------------------------------------------------------------- publish


def publish_build(
    build_db: Path,
    serve_path: Path | None = None,
    *,
    keep: int = DEFAULT_KEEP,
    gate: GateResult | None = None,
    run_results: Path | None = None,
    project_dir: Path | None = None,
    manifest: Path | None = None,
    gate_docs_dir: Path | None = None,
    log: Log = _print,
) -> PublishResult:
    """Audit the build `build_db` and publish its marts to `serve_path`.

    `gate` is the marts gate's verdict when the caller already ran it on this build file;
    None runs it. `run_results` is dbt's run_results.json of the build (None: not checked).
    Returns a :class:`PublishResult`; ``published`` is False (and the served file is
    untouched) when the build or the gate failed. Raises :class:`ServeError` on a problem
    of the serving location itself.
    """
    if keep < 1:
        raise ServeError(f"keep must be at least 1, got {keep}")
    store = ServeStore.at(serve_path)
    project = find_project_dir(project_dir)
    build_db = build_db.absolute()

    def refuse(reason: str, gate_result: GateResult | None = None) -> PublishResult:
        served = read_served_log(store)
        still = (
            f"still serving version {served.current_version} ({store.serve_path})"
            if served.current_version
            else f"nothing is served yet at {store.serve_path}"
        )
        message = f"NOT published: {reason}; {still}"
        log(message)
        return PublishResult(
            False,
            store.serve_path,
            message,
            served_version=served.current_version,
            gate=gate_result,
        )

    if not build_db.is_file():
        return refuse(f"the build file {build_db} does not exist (did the build run?)")
    if run_results is not None and run_results.is_file():
        failed = failed_dbt_nodes(run_results)
        if failed:
            shown = ", ".join(failed[:5]) + (
                f" and {len(failed) - 5} more" if len(failed) > 5 else ""
            )
            return refuse(f"the dbt build failed ({run_results}: {shown})")
    if gate is None:
        log(f"running the marts gate on {build_db} ...")
        gate = run_marts_gate(build_db, project, gate_docs_dir)
    if not gate.passed:
        for failure in gate.failures:
            log(f"  gate: {failure}")
        return refuse(f"the marts gate failed on {build_db} ({gate.summary})", gate)

    try:
        clear_text = clear_contact_columns(build_db)
    except ServeError as exc:
        return refuse(f"the build file cannot be read; is a build still running? ({exc})")
    if clear_text:
        return refuse(
            f"marts hold clear-text contact columns ({', '.join(clear_text)}): BI readers must "
            "never see clear e-mail or phone (hash them, keep the clear values in staging)"
        )

    docs = mart_docs(manifest or dbt_target_dir(project) / "manifest.json")
    sha, dirty = git_state(project)
    started = time.monotonic()
    with store.lock():
        served = read_served_log(store)
        version_id = store.new_version_id(served.version_ids)
        scratch = store.scratch_path(version_id)
        archive = store.archive_path(version_id)
        publication = Publication(
            publication_number=0,  # numbered when appended to the log
            version_id=version_id,
            action="publish",
            published_at=datetime.now(UTC).replace(tzinfo=None),
            git_sha=sha,
            is_git_dirty=dirty,
            gate_result=gate.label,
            gate_summary=gate.summary,
            build_file=build_db.name,
            mart_count=0,
            total_row_count=0,
        )
        try:
            rows, _ = write_version_file(build_db, scratch, served, publication, docs)
            verify_version_file(scratch, version_id, rows)
            os.replace(scratch, archive)
        except (ServeError, duckdb.Error) as exc:
            return refuse(f"writing the new version failed: {exc}")
        finally:
            scratch.unlink(missing_ok=True)
            scratch.with_name(scratch.name + ".wal").unlink(missing_ok=True)
        store.install(archive)
        removed = store.prune(keep, protect={version_id})
    message = (
        f"version {version_id} published to {store.serve_path}: {len(rows)} marts, "
        f"{sum(rows.values()):,} rows (gate {gate.summary}; git {sha[:12]}"
        f"{' dirty' if dirty else ''}) in {time.monotonic() - started:.1f}s"
    )
    log(message)
    if removed:
        log(f"removed old versions {', '.join(removed)} (keeping {keep})")
    return PublishResult(
        True,
        store.serve_path,
        message,
        version_id=version_id,
        served_version=version_id,
        mart_rows=rows,
        gate=gate,
        removed_versions=removed,
    )


# ----------------------------------------------------------------------------- command


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "publish",
        help="audit a build and publish its marts to BI tools (DuckDB serving file, PostgreSQL)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--db", type=Path, help="the build warehouse file (opened read-only)")
    parser.add_argument(
        "--serve-path",
        type=Path,
        default=None,
        help=f"the serving file (default: env {SERVE_PATH_ENV} or data/serve/shopfunnel.duckdb)",
    )
    parser.add_argument(
        "--keep",
        type=whole_number(1),
        default=DEFAULT_KEEP,
        help=f"archived versions to keep (default {DEFAULT_KEEP})",
    )
    parser.add_argument(
        "--gate-passed",
        action="store_true",
        help="the caller already ran `validate --stage marts` on this build file and it "
        "passed: do not run the gate again (recorded as passed)",
    )
    parser.add_argument(
        "--gate-docs-dir",
        type=Path,
        default=None,
        help="let the gate write its HTML data docs here (default: no data docs)",
    )
    parser.add_argument(
        "--run-results",
        default=None,
        help="dbt's run_results.json of the build; publishing is refused if a node failed "
        "(default: $DBT_TARGET_PATH or target/ of the project, when it exists; 'none' to "
        "skip the check)",
    )
    parser.add_argument(
        "--manifest",
        type=Path,
        default=None,
        help="dbt's manifest.json, for the table and column descriptions (default: "
        "$DBT_TARGET_PATH or target/ of the project)",
    )
    parser.add_argument(
        "--to",
        choices=("duckdb", "postgres"),
        default="duckdb",
        help="duckdb (default): publish the build to the serving file. postgres: also copy "
        "the served version into PostgreSQL (after publishing --db when given)",
    )
    parser.add_argument(
        "--dsn",
        default=None,
        help=f"PostgreSQL connection string for --to postgres (default: env {PG_DSN_ENV})",
    )
    parser.add_argument(
        "--version",
        dest="version_id",
        default=None,
        help="with --to postgres and no --db: copy this archived version instead of the served one",
    )
    parser.add_argument(
        "--reader-role",
        default="bi_reader",
        help="PostgreSQL role granted read access to the marts (default bi_reader)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except ServeError as exc:
        print(f"publish: error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.db is None and args.to == "duckdb":
        raise ServeError("--db PATH is needed (the build warehouse to publish)")
    dsn = args.dsn or os.environ.get(PG_DSN_ENV)
    if args.to == "postgres" and not dsn:
        raise ServeError(f"--to postgres needs --dsn or env {PG_DSN_ENV}")
    store = ServeStore.at(args.serve_path)
    if args.db is not None:
        if args.version_id:
            raise ServeError("--version copies an archived version: use it without --db")
        project = find_project_dir()
        if args.run_results is None:
            run_results: Path | None = dbt_target_dir(project) / "run_results.json"
        elif args.run_results.lower() == "none":
            run_results = None
        else:
            run_results = Path(args.run_results)
            if not run_results.is_file():
                raise ServeError(f"--run-results {run_results} does not exist")
        gate = (
            GateResult(True, "passed (run by the caller before publish)")
            if args.gate_passed
            else None
        )
        result = publish_build(
            args.db,
            store.serve_path,
            keep=args.keep,
            gate=gate,
            run_results=run_results,
            project_dir=project,
            manifest=args.manifest,
            gate_docs_dir=args.gate_docs_dir,
        )
        if not result.published:
            return 1
    if args.to == "postgres":
        from shopfunnel.serve.postgres import publish_to_postgres

        source = store.archive_path(args.version_id) if args.version_id else store.serve_path
        if not source.is_file():
            raise ServeError(f"{source} does not exist: publish a build first")
        publish_to_postgres(source, dsn, reader_role=args.reader_role)
    return 0
