"""The ``validate`` command: the Great Expectations quality gate.

It checks what dbt's tests do not own (docs/architecture.md, "Who owns which assertion"):

raw
    Before any model is built: the raw files, read by the dbt source's own reader (its
    rendered ``external_location``, from ``dbt compile`` with the same ``raw_path`` and
    ``raw_format``), against the raw-data contract of the same YAML
    (``meta: {required, type}``): every required column present (any case), non-null in
    at least ``--min-required-completeness`` of rows, and every typed column readable as
    staging reads it (the project's macros) except at most ``--max-unparsable-share``.
    A table without files is "not provided" (a warning); events and orders both without
    rows is an error. ``--new-only --db <build db>`` validates only the files not yet in
    the warehouse's ``ops.processed_raw_files``, and compares the new load's rows with the
    previous loads. A raw failure stops the gate before the marts (fail fast).
marts
    After ``dbt build``: the built DuckDB file (``--db``), opened read-only. Per mart: its
    row count, and the key figures (sign-up rate, share of new visitors, average order
    value) within a band of the median of the previous passing runs (kept in
    ``<db>.validation_state.json``; the first run records without comparing).

Prints one line per expectation (status, suite, expectation, column, observed), then each
failure as ``FAIL <schema>.<table>.<column>: <rule> (...)`` and each warning as ``WARN``,
writes GX's HTML data docs to ``--docs-dir`` (default gx_docs/) and exits 1 when anything
failed (2 when the gate could not run).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from shopfunnel.argtypes import number, whole_number
from shopfunnel.validate.contract import (
    ContractError,
    RawContract,
    find_project_dir,
    load_contract,
)
from shopfunnel.validate.daily import ProcessedFiles, read_processed
from shopfunnel.validate.history import append_run, measure_history, read_runs, state_path
from shopfunnel.validate.marts import MartTable, mart_tables
from shopfunnel.validate.raw import prepare_views
from shopfunnel.validate.settings import CORE_TABLES, MARTS_SCHEMA, Thresholds

if TYPE_CHECKING:
    from shopfunnel.validate.gate import Gate, Outcome

STAGES = ("raw", "marts", "all")
_DEFAULTS = Thresholds()


class UsageError(Exception):
    """Bad arguments or inputs that cannot be validated at all."""


# ----------------------------------------------------------------------------- arguments


_share = number(0, 1)
_non_negative_float = number(0)
_non_negative_int = whole_number(0)
_positive_int = whole_number(1)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="Great Expectations gate on the raw files and the built marts",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--db", type=Path, help="the built DuckDB file (opened read-only)")
    parser.add_argument(
        "--raw", type=Path, help="raw folder: the dbt var raw_path of the build it precedes"
    )
    parser.add_argument(
        "--raw-format",
        choices=("parquet", "csv"),
        default=None,
        help="the dbt var raw_format of the build (default: the project's default)",
    )
    parser.add_argument(
        "--stage",
        choices=STAGES,
        default="all",
        help="raw (needs --raw), marts (needs --db) or all (default; raw first when --raw "
        "is given)",
    )
    parser.add_argument(
        "--new-only",
        action="store_true",
        help="daily mode of the raw stage: only the files not in ops.processed_raw_files of "
        "--db (the build warehouse); the new load's rows are compared with previous loads",
    )
    parser.add_argument(
        "--docs-dir",
        type=Path,
        default=Path("gx_docs"),
        help="where GX writes its HTML data docs (default gx_docs/; rewritten each run)",
    )
    parser.add_argument(
        "--no-docs", action="store_true", help="skip the HTML data docs (a quicker local check)"
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=None,
        help="the dbt project (default: the folder holding dbt_project.yml, from the "
        "current folder up)",
    )
    parser.add_argument(
        "--min-required-completeness",
        type=_share,
        default=_DEFAULTS.min_required_completeness,
        help="smallest non-null share of a required raw column (default "
        f"{_DEFAULTS.min_required_completeness})",
    )
    parser.add_argument(
        "--max-unparsable-share",
        type=_share,
        default=_DEFAULTS.max_unparsable_share,
        help="largest share of a typed raw column's non-null values that may not parse "
        f"(default {_DEFAULTS.max_unparsable_share})",
    )
    parser.add_argument(
        "--volume-band",
        type=_non_negative_float,
        default=_DEFAULTS.volume_band,
        help="largest relative change of a row count against the median of its history "
        f"(default {_DEFAULTS.volume_band}: between half and 1.5 times)",
    )
    parser.add_argument(
        "--volume-slack-rows",
        type=_non_negative_int,
        default=_DEFAULTS.volume_slack_rows,
        help="a change of at most this many rows always passes (default "
        f"{_DEFAULTS.volume_slack_rows})",
    )
    parser.add_argument(
        "--drift-band",
        type=_non_negative_float,
        default=_DEFAULTS.drift_band,
        help="largest relative change of a key figure against the median of its history "
        f"(default {_DEFAULTS.drift_band})",
    )
    parser.add_argument(
        "--history-runs",
        type=_positive_int,
        default=_DEFAULTS.history_runs,
        help="how many previous passing runs (or daily loads) the median is taken over "
        f"(default {_DEFAULTS.history_runs})",
    )
    parser.add_argument(
        "--reset-history",
        "--reset-volume-state",
        dest="reset_history",
        action="store_true",
        help="ignore the previous runs' measures (accept today's as the new baseline)",
    )
    parser.set_defaults(func=run)


# ----------------------------------------------------------------------------- helpers


@dataclass
class Report:
    """Everything a run found, in the order it is printed."""

    outcomes: list[Outcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: (suite, column, why not checked)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def failures(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.success]


def _failure(suite: str, expectation: str, observed: str, rule: str, text: str = "") -> Outcome:
    from shopfunnel.validate.gate import Outcome

    return Outcome(suite, expectation, "", observed, False, rule, text=text)


def _cell(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def print_table(outcomes: Sequence[Outcome], skipped: Sequence[tuple[str, str, str]]) -> None:
    header = ("result", "suite", "expectation (expect_...)", "column", "observed")
    widths = (6, 32, 40, 34, 56)
    rows = [
        (
            "pass" if outcome.success else "FAIL",
            outcome.suite,
            outcome.expectation.removeprefix("expect_"),
            outcome.column,
            outcome.observed,
        )
        for outcome in outcomes
    ]
    rows += [("skip", suite, "", column, reason) for suite, column, reason in skipped]
    print("  ".join(title.ljust(width) for title, width in zip(header, widths, strict=True)))
    print("  ".join("-" * width for width in widths))
    for cells in rows:
        print(
            "  ".join(
                _cell(cell, width).ljust(width) for cell, width in zip(cells, widths, strict=True)
            ).rstrip()
        )


# ----------------------------------------------------------------------------- command


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (UsageError, ContractError, OSError, ValueError) as exc:
        print(f"validate: error: {exc}", file=sys.stderr)
        return 2


def _thresholds(args: argparse.Namespace) -> Thresholds:
    return Thresholds(
        min_required_completeness=args.min_required_completeness,
        max_unparsable_share=args.max_unparsable_share,
        volume_band=args.volume_band,
        volume_slack_rows=args.volume_slack_rows,
        drift_band=args.drift_band,
        history_runs=args.history_runs,
    )


def _run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    thresholds = _thresholds(args)
    run_raw = args.stage in ("raw", "all") and args.raw is not None
    run_marts = args.stage in ("marts", "all")
    if args.stage == "raw" and args.raw is None:
        raise UsageError("--stage raw needs --raw DIR")
    if run_marts and args.db is None:
        raise UsageError(f"--stage {args.stage} needs --db PATH")
    if args.new_only and (args.db is None or not run_raw):
        raise UsageError("--new-only needs --raw DIR and --db <build warehouse>")
    if run_raw and not args.raw.is_dir():
        raise UsageError(f"raw folder {args.raw} does not exist")
    if run_marts and not args.db.is_file():
        raise UsageError(f"DuckDB file {args.db} does not exist (build it with dbt first)")
    project_dir = find_project_dir(args.project_dir)

    # inputs first (fast, clear errors), GX second (its import alone takes seconds)
    try:
        marts = mart_tables(args.db) if run_marts else []
    except duckdb.Error as exc:
        raise UsageError(f"cannot open {args.db} read-only: {exc}") from exc
    processed = read_processed(args.db, project_dir) if args.new_only else None
    report = Report()
    with tempfile.TemporaryDirectory(prefix="shopfunnel_validate_") as scratch:
        contract = None
        if run_raw:
            dbt_vars = {"raw_path": str(args.raw.resolve())}
            if args.raw_format:
                dbt_vars["raw_format"] = args.raw_format
            print(f"validate: raw files in {args.raw}, read as dbt reads them ...", flush=True)
            contract = load_contract(project_dir, dbt_vars, Path(scratch))
        from shopfunnel.validate.gate import Gate

        gate = Gate(args.docs_dir)
        try:
            if args.stage == "all" and args.raw is None:
                print("validate: no --raw: raw files not checked", flush=True)
            if contract is not None:
                _run_raw(gate, contract, project_dir, Path(scratch), thresholds, processed, report)
            if run_marts and report.failures:
                print("validate: the raw gate failed; marts not validated (fail fast)", flush=True)
            elif run_marts:
                print(f"validate: marts in {args.db} (read-only) ...", flush=True)
                _run_marts(gate, args.db, marts, thresholds, args.reset_history, report)
            gate.close()
            index_page = None if args.no_docs else gate.build_docs()
        finally:
            gate.close()

    print()
    print_table(report.outcomes, report.skipped)
    failures = report.failures
    print()
    print(
        f"validate: {len(report.outcomes) - len(failures)} passed, {len(failures)} failed, "
        f"{len(report.warnings)} warning(s), {len(report.skipped)} skipped "
        f"in {time.monotonic() - started:.0f}s"
    )
    if index_page is not None:
        print(f"validate: data docs written to {index_page}")
    for warning in report.warnings:
        print(f"WARN {warning}", file=sys.stderr)
    for failure in failures:
        print(f"FAIL {failure.message}", file=sys.stderr)
    return 1 if failures else 0


def _run_raw(
    gate: Gate,
    contract: RawContract,
    project_dir: Path,
    scratch: Path,
    thresholds: Thresholds,
    processed: ProcessedFiles | None,
    report: Report,
) -> None:
    from shopfunnel.validate.gate import raw_suite

    if processed is not None and processed.note:
        print(f"validate: {processed.note}", flush=True)
    views = prepare_views(contract, scratch, processed, project_dir, thresholds.history_runs)
    new_only = processed is not None
    for table, reason in views.not_provided.items():
        report.warnings.append(
            f"raw table {table} not provided ({reason}); the marts built from it stay empty"
        )
    for table, error in views.unreadable.items():
        report.outcomes.append(
            _failure(
                f"raw.{table}",
                "raw_files_readable",
                error,
                "the dbt source's reader can read every file",
            )
        )
    for view in views.views:
        if view.rows == 0 and new_only:
            last = f" (the previous load had {view.previous_loads[-1]} rows)"
            report.warnings.append(
                f"raw table {view.name}: no new file since the last run"
                + (last if view.previous_loads else "")
            )
        elif view.rows == 0:
            report.warnings.append(f"raw table {view.name} has no rows")
        elif new_only and len(view.previous_loads) < thresholds.min_load_history:
            report.skipped.append(
                (
                    f"raw.{view.name}",
                    "rows of the new load",
                    f"{len(view.previous_loads)} previous load(s), fewer than "
                    f"{thresholds.min_load_history}: volume not compared",
                )
            )
    rows = {view.name: view.rows for view in views.views}
    core = [table for table in CORE_TABLES if table in {t.name for t in contract.tables}]
    if core and not new_only and not any(rows.get(table, 0) for table in core):
        names = " and ".join(core)
        report.outcomes.append(
            _failure(
                "raw",
                "raw_has_events_or_orders",
                "0 rows",
                f"{names} not both empty",
                text=f"raw tables {names} have no rows (not provided or empty): nothing to "
                "build; a shop brings web events, orders or both (see the raw-data contract "
                "in README)",
            )
        )
    suites = [
        raw_suite(view, contract, thresholds, new_only)
        for view in views.views
        if view.rows or not new_only
    ]
    if new_only and not suites:
        print("validate: no new raw file: nothing to validate", flush=True)
    report.outcomes += gate.run("raw", views.database, suites)


def _run_marts(
    gate: Gate,
    database: Path,
    marts: list[MartTable],
    thresholds: Thresholds,
    reset_history: bool,
    report: Report,
) -> None:
    from shopfunnel.validate.gate import mart_suite

    if not marts:
        report.outcomes.append(
            _failure(MARTS_SCHEMA, "marts_exist", "none", f"{database} holds the built marts")
        )
        return
    state_file = state_path(database)
    runs = [] if reset_history else read_runs(state_file)
    if not runs:
        print(f"validate: no previous passing run ({state_file}): measures recorded only")
    history = measure_history(runs)
    suites = []
    for mart in marts:
        suite, skipped = mart_suite(mart, history, thresholds)
        suites.append(suite)
        report.skipped += skipped
    outcomes = gate.run("marts", database, suites)
    report.outcomes += outcomes
    if all(outcome.success for outcome in outcomes):
        measures = {o.measure: o.value for o in outcomes if o.measure and o.value is not None}
        append_run(state_file, database, runs, measures)
    else:
        print(f"validate: marts failed; {state_file} keeps the previous passing runs")
