"""The ``validate`` command: the Great Expectations quality gate.

Two stages, run in this order by ``--stage all`` (the default):

raw
    Before any model is built: the raw files of the contract (``--raw DIR``, one folder per
    table with *.parquet or *.csv) are read through DuckDB views in a scratch file. Per
    table: every required column present, at least one row, key columns non-null above
    ``--min-key-completeness``. A failure stops the gate here (fail fast).
marts
    After ``dbt build``: the built DuckDB file (``--db``), opened read-only. Per mart: keys
    unique and not null, every rate within [0, 1], stages and other coded values in their
    allowed set, reconciliations between marts and against staging, at least one row, and
    a row count within ``--volume-band`` of the previous passing run (kept in
    ``<db>.validation_state.json``; the first run makes no comparison).

Prints one line per expectation (status, suite, expectation, column, observed), then each
failure as ``<schema>.<table>.<column>: <rule> (...)``, writes GX's HTML data docs to
``--docs-dir`` (default gx_docs/) and exits 1 when anything failed (2 on a usage error).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from shopfunnel.argtypes import number, whole_number
from shopfunnel.validate.project import (
    ProjectError,
    find_project_dir,
    mart_specs,
    project_vars,
    raw_required_columns,
)
from shopfunnel.validate.reconcile import Reconciliation, reconciliations
from shopfunnel.validate.settings import MARTS_SCHEMA, Thresholds
from shopfunnel.validate.state import read_row_counts, state_path, write_row_counts

if TYPE_CHECKING:
    from shopfunnel.validate.gate import Gate, Outcome, TableSuite

STAGES = ("raw", "marts", "all")
_DEFAULTS = Thresholds()


class UsageError(Exception):
    """Bad arguments or inputs that cannot be validated at all."""


# ----------------------------------------------------------------------------- arguments


_share = number(0, 1)
_non_negative_float = number(0)
_non_negative_int = whole_number(0)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="Great Expectations gate on the raw files and the built marts",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--db", type=Path, help="the built DuckDB file (opened read-only)")
    parser.add_argument(
        "--raw", type=Path, help="raw folder: one sub-folder per table with *.parquet or *.csv"
    )
    parser.add_argument(
        "--stage",
        choices=STAGES,
        default="all",
        help="raw (needs --raw), marts (needs --db) or all (default; raw first when --raw "
        "is given)",
    )
    parser.add_argument(
        "--docs-dir",
        type=Path,
        default=Path("gx_docs"),
        help="where GX writes its HTML data docs (default gx_docs/; rewritten each run)",
    )
    parser.add_argument(
        "--no-docs",
        action="store_true",
        help="skip the HTML data docs (a quicker local check)",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=None,
        help="the dbt project (default: the folder holding dbt_project.yml, from the "
        "current folder up)",
    )
    parser.add_argument(
        "--min-key-completeness",
        type=_share,
        default=_DEFAULTS.min_key_completeness,
        help="smallest non-null share of a raw key column (default "
        f"{_DEFAULTS.min_key_completeness})",
    )
    parser.add_argument(
        "--volume-band",
        type=_non_negative_float,
        default=_DEFAULTS.volume_band,
        help="largest relative change of a mart's row count against the previous passing "
        f"run (default {_DEFAULTS.volume_band}: between half and 1.5 times)",
    )
    parser.add_argument(
        "--volume-slack-rows",
        type=_non_negative_int,
        default=_DEFAULTS.volume_slack_rows,
        help="a change of at most this many rows always passes (default "
        f"{_DEFAULTS.volume_slack_rows})",
    )
    parser.add_argument(
        "--reset-volume-state",
        action="store_true",
        help="ignore the previous run's row counts (accept a new volume as the baseline)",
    )
    parser.set_defaults(func=run)


# ----------------------------------------------------------------------------- helpers


@dataclass
class Skipped:
    """A check that could not run: its tables are not in the file (not a failure)."""

    suite: str
    column: str
    reason: str


def _failure(suite: str, expectation: str, column: str, observed: str, rule: str) -> Outcome:
    from shopfunnel.validate.gate import Outcome

    return Outcome(
        suite=suite,
        expectation=expectation,
        column=column,
        observed=observed,
        success=False,
        rule=rule,
    )


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _raw_reader(folder: Path) -> str | None:
    """DuckDB table function reading a raw table folder, as the sources do."""
    if any(folder.glob("*.parquet")):
        files = _sql_string(f"{folder.resolve()}/*.parquet")
        return f"read_parquet({files}, union_by_name = true)"
    if any(folder.glob("*.csv")):
        files = _sql_string(f"{folder.resolve()}/*.csv")
        return f"read_csv({files}, header = true, all_varchar = true, union_by_name = true)"
    return None


def prepare_raw(
    raw_dir: Path, required: dict[str, list[str]], scratch: Path, thresholds: Thresholds
) -> tuple[list[Outcome], Path, list[TableSuite]]:
    """Views over the raw files in a scratch DuckDB file, and the raw suites."""
    from shopfunnel.validate.gate import raw_suite

    failures: list[Outcome] = []
    suites: list[TableSuite] = []
    views_db = scratch / "raw_views.duckdb"
    con = duckdb.connect(str(views_db))
    try:
        con.execute("create schema raw")
        for table, columns in required.items():
            folder = raw_dir / table
            reader = _raw_reader(folder) if folder.is_dir() else None
            if reader is None:
                failures.append(
                    _failure(
                        f"raw.{table}",
                        "raw_files_exist",
                        "",
                        f"no *.parquet or *.csv in {folder}",
                        "the raw table's folder holds its files (raw-data contract)",
                    )
                )
                continue
            try:
                con.execute(f'create view raw."{table}" as select * from {reader}')
                present = [row[0] for row in con.execute(f'describe raw."{table}"').fetchall()]
            except duckdb.Error as exc:
                failures.append(
                    _failure(
                        f"raw.{table}",
                        "raw_files_readable",
                        "",
                        str(exc).splitlines()[0],
                        "the raw files can be read",
                    )
                )
                continue
            suites.append(raw_suite(table, columns, present, thresholds))
    finally:
        con.close()
    return failures, views_db, suites


@dataclass
class Warehouse:
    """What the built file holds: tables per schema, mart columns and row counts."""

    tables: set[str]
    mart_columns: dict[str, list[str]]
    mart_rows: dict[str, int]


def inspect_warehouse(database: Path) -> Warehouse:
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as exc:
        raise UsageError(f"cannot open {database} read-only: {exc}") from exc
    try:
        tables = {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        mart_columns: dict[str, list[str]] = {}
        for name, column in con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = ? order by table_name, ordinal_position",
            [MARTS_SCHEMA],
        ).fetchall():
            mart_columns.setdefault(name, []).append(column)
        mart_rows = {
            name: int(con.execute(f'select count(*) from {MARTS_SCHEMA}."{name}"').fetchall()[0][0])
            for name in mart_columns
        }
    finally:
        con.close()
    return Warehouse(tables=tables, mart_columns=mart_columns, mart_rows=mart_rows)


def build_mart_suites(
    warehouse: Warehouse,
    project_dir: Path,
    previous_rows: dict[str, int],
    thresholds: Thresholds,
) -> tuple[list[Outcome], list[TableSuite], list[Skipped]]:
    from shopfunnel.validate.gate import mart_suite

    specs = mart_specs(project_dir)
    failures = [
        _failure(
            f"{MARTS_SCHEMA}.{name}",
            "mart_exists",
            "",
            "not in the DuckDB file",
            f"every mart described in {spec.yaml_path} is built",
        )
        for name, spec in sorted(specs.items())
        if name not in warehouse.mart_columns
    ]
    by_mart: dict[str, list[Reconciliation]] = {}
    skipped: list[Skipped] = []
    for check in reconciliations(project_vars(project_dir)):
        missing = [table for table in check.tables if table not in warehouse.tables]
        if missing:
            skipped.append(
                Skipped(
                    f"{MARTS_SCHEMA}.{check.mart}",
                    check.name,
                    "not in the file: " + ", ".join(missing),
                )
            )
        else:
            by_mart.setdefault(check.mart, []).append(check)
    suites = [
        mart_suite(
            table=name,
            columns=columns,
            spec=specs.get(name),
            previous_rows=previous_rows.get(f"{MARTS_SCHEMA}.{name}"),
            reconciliations=by_mart.get(name, []),
            thresholds=thresholds,
        )
        for name, columns in sorted(warehouse.mart_columns.items())
    ]
    return failures, suites, skipped


def _cell(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def print_table(outcomes: Sequence[Outcome], skipped: Sequence[Skipped]) -> None:
    header = ("result", "suite", "expectation (expect_...)", "column", "observed")
    widths = (6, 32, 40, 34, 56)
    print("  ".join(title.ljust(width) for title, width in zip(header, widths, strict=True)))
    print("  ".join("-" * width for width in widths))
    for outcome in outcomes:
        cells = (
            "pass" if outcome.success else "FAIL",
            outcome.suite,
            outcome.expectation.removeprefix("expect_"),
            outcome.column,
            outcome.observed,
        )
        print(
            "  ".join(
                _cell(cell, width).ljust(width) for cell, width in zip(cells, widths, strict=True)
            ).rstrip()
        )
    for skip in skipped:
        cells = ("skip", skip.suite, "unexpected_rows_expectation", skip.column, skip.reason)
        print(
            "  ".join(
                _cell(cell, width).ljust(width) for cell, width in zip(cells, widths, strict=True)
            ).rstrip()
        )


# ----------------------------------------------------------------------------- command


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (UsageError, ProjectError) as exc:
        print(f"validate: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    thresholds = Thresholds(
        min_key_completeness=args.min_key_completeness,
        volume_band=args.volume_band,
        volume_slack_rows=args.volume_slack_rows,
    )
    run_raw = args.stage in ("raw", "all") and args.raw is not None
    run_marts = args.stage in ("marts", "all")
    if args.stage == "raw" and args.raw is None:
        raise UsageError("--stage raw needs --raw DIR")
    if run_marts and args.db is None:
        raise UsageError(f"--stage {args.stage} needs --db PATH")
    if run_raw and not args.raw.is_dir():
        raise UsageError(f"raw folder {args.raw} does not exist")
    if run_marts and not args.db.is_file():
        raise UsageError(f"DuckDB file {args.db} does not exist (build it with dbt first)")
    project_dir = find_project_dir(args.project_dir)

    # inputs first (fast, clear errors), GX second (its import alone takes seconds)
    warehouse = inspect_warehouse(args.db) if run_marts else None
    from shopfunnel.validate.gate import Gate

    gate = Gate(args.docs_dir)
    outcomes: list[Outcome] = []
    skipped: list[Skipped] = []
    raw_failed = False
    try:
        with tempfile.TemporaryDirectory(prefix="shopfunnel_validate_") as scratch:
            if args.stage == "all" and args.raw is None:
                print("validate: no --raw: raw files not checked", flush=True)
            if run_raw:
                print(f"validate: raw files in {args.raw} ...", flush=True)
                raw_outcomes = _run_raw(gate, args.raw, project_dir, Path(scratch), thresholds)
                outcomes += raw_outcomes
                raw_failed = not all(outcome.success for outcome in raw_outcomes)
            if run_marts and raw_failed:
                print("validate: the raw gate failed; marts not validated (fail fast)", flush=True)
            elif run_marts and warehouse is not None:
                print(f"validate: marts in {args.db} (read-only) ...", flush=True)
                mart_outcomes, mart_skipped = _run_marts(
                    gate, args.db, warehouse, project_dir, thresholds, args.reset_volume_state
                )
                outcomes += mart_outcomes
                skipped += mart_skipped
            gate.close()
        index_page = None if args.no_docs else gate.build_docs()
    finally:
        gate.close()

    print()
    print_table(outcomes, skipped)
    failures = [outcome for outcome in outcomes if not outcome.success]
    print()
    print(
        f"validate: {len(outcomes) - len(failures)} passed, {len(failures)} failed, "
        f"{len(skipped)} skipped in {time.monotonic() - started:.0f}s"
    )
    if index_page is not None:
        print(f"validate: data docs written to {index_page}")
    if failures:
        for failure in failures:
            print(f"FAIL {failure.message}", file=sys.stderr)
        return 1
    return 0


def _run_raw(
    gate: Gate, raw_dir: Path, project_dir: Path, scratch: Path, thresholds: Thresholds
) -> list[Outcome]:
    required = raw_required_columns(project_dir)
    failures, views_db, suites = prepare_raw(raw_dir, required, scratch, thresholds)
    return failures + gate.run("raw", views_db, suites)


def _run_marts(
    gate: Gate,
    database: Path,
    warehouse: Warehouse,
    project_dir: Path,
    thresholds: Thresholds,
    reset_volume_state: bool,
) -> tuple[list[Outcome], list[Skipped]]:
    state_file = state_path(database)
    try:
        previous = {} if reset_volume_state else read_row_counts(state_file)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if not previous:
        print(f"validate: no previous row counts ({state_file}): volume change not compared")
    failures, suites, skipped = build_mart_suites(warehouse, project_dir, previous, thresholds)
    outcomes = failures + gate.run("marts", database, suites)
    if all(outcome.success for outcome in outcomes):
        write_row_counts(
            state_file,
            database,
            {f"{MARTS_SCHEMA}.{name}": rows for name, rows in warehouse.mart_rows.items()},
        )
    else:
        print(f"validate: marts failed; {state_file} keeps the previous baseline")
    return outcomes, skipped
