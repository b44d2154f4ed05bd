"""The ``daily`` and ``backfill`` commands: the production pipeline a shop schedules.

``python -m shopfunnel daily --raw DIR --db FILE`` runs, in order, and stops at the first
step that fails (exit code 1, naming the step):

1. the raw gate on the new loads only (``validate --stage raw --new-only``): files no
   successful run has processed yet;
2. ``dbt seed`` and an incremental ``dbt build`` (every model reads only its batch of new
   files and recomputes exactly what they touch; docs block incremental_runs) with every
   data test; unit tests check the code, not the day's data, so they run in CI (``make
   test``) and not here unless ``--unit-tests`` is given (dbt's own advice for production);
3. the marts gate (``validate --stage marts``);
4. publish the marts to the serving file BI tools read (write-audit-publish,
   ``shopfunnel.serve``; ``--no-publish`` skips it).

``--full-refresh`` rebuilds every model from every file. ``python -m shopfunnel backfill
--from D1 --to D2`` reprocesses the loads of a date range (their files are read again with
today's rules and seeds, and everything they touch is recomputed), then runs the daily
pipeline. A failed run leaves its files pending: the next run resumes with them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import duckdb

from shopfunnel.argtypes import iso_date

STEPS = ("raw gate", "dbt seed", "dbt build", "marts gate", "publish")


class StepFailed(Exception):
    """One step of the pipeline failed; its name and what it printed last."""

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"{step} failed: {detail}")
        self.step = step


def project_dir() -> Path:
    """The dbt project folder (this package lives in <project>/src/shopfunnel)."""
    return Path(__file__).resolve().parents[2]


def _tool(name: str) -> str:
    beside = Path(sys.executable).with_name(name)
    return str(beside) if beside.is_file() else name


def _say(message: str) -> None:
    print(f"daily: {message}", flush=True)


def _run(step: str, command: list[str], env: dict[str, str], cwd: Path) -> float:
    """Run one step, streaming its output; raise StepFailed when it exits non-zero."""
    _say(f"{step}: {' '.join(command[:3])} ...")
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, check=False)
    print(flush=True)  # a step's last line may lack its newline
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise StepFailed(step, f"exit code {done.returncode} after {seconds:.1f} s")
    _say(f"{step}: done in {seconds:.1f} s")
    return seconds


def dbt_vars(raw: Path, raw_format: str) -> str:
    return json.dumps({"raw_path": str(raw), "raw_format": raw_format})


def last_run(db: Path) -> dict | None:
    """The newest row of ops.pipeline_runs, or None when the warehouse has none."""
    if not db.exists():
        return None
    con = duckdb.connect(str(db), read_only=True)
    try:
        found = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'ops' and table_name = 'pipeline_runs'"
        ).fetchall()[0][0]
        if not found:
            return None
        cursor = con.execute("select * from ops.pipeline_runs order by finished_at desc limit 1")
        names = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
        return dict(zip(names, rows[0], strict=True)) if rows else None
    finally:
        con.close()


def mark_for_backfill(db: Path, first: date, last: date) -> int:
    """Forget that the files of the load dates first..last were processed: the next run
    reads them again (and forgets what it stored from them first). Returns the file count."""
    if not db.exists():
        raise StepFailed("backfill", f"{db} does not exist: run the daily pipeline first")
    con = duckdb.connect(str(db))
    try:
        count = con.execute(
            "select count(*) from ops.processed_raw_files where load_date between ? and ?",
            [first, last],
        ).fetchall()[0][0]
        con.execute(
            "delete from ops.processed_raw_files where load_date between ? and ?", [first, last]
        )
        return int(count)
    finally:
        con.close()


def _publish(db: Path, gated: bool) -> None:
    """Publish the build's marts to the serving file (env SHOPFUNNEL_SERVE_PATH)."""
    from shopfunnel.serve import GateResult, publish_build

    _say("publish: writing a new version of the serving file ...")
    gate = GateResult(True, "marts gate passed in the daily run") if gated else None
    result = publish_build(db, gate=gate, run_results=project_dir() / "target" / "run_results.json")
    if not result.published:
        raise StepFailed("publish", result.message)
    _say(f"publish: serving version {result.version_id} at {result.serve_path}")


def run_pipeline(
    raw: Path,
    db: Path,
    raw_format: str = "parquet",
    full_refresh: bool = False,
    publish: bool = True,
    gates: bool = True,
    unit_tests: bool = False,
) -> dict:
    """Gate, build, gate, publish. Returns the run's row of ops.pipeline_runs."""
    cwd = project_dir()
    env = {
        **os.environ,
        "DUCKDB_PATH": str(db.resolve()),
        "DBT_PROFILES_DIR": str(cwd),
    }
    python = sys.executable
    db.parent.mkdir(parents=True, exist_ok=True)
    variables = dbt_vars(raw.resolve(), raw_format)
    if gates:
        gate = [python, "-m", "shopfunnel", "validate", "--stage", "raw", "--raw", str(raw)]
        gate += ["--raw-format", raw_format, "--no-docs"]
        if not full_refresh:
            gate += ["--new-only", "--db", str(db)]
        _run("raw gate", gate, env, cwd)
    _run("dbt seed", [_tool("dbt"), "seed", "--vars", variables, "--quiet"], env, cwd)
    build = [_tool("dbt"), "build", "--vars", variables]
    if full_refresh:
        build.append("--full-refresh")
    if not unit_tests:
        build += ["--exclude-resource-type", "unit_test"]
    _run("dbt build", build, env, cwd)
    run = last_run(db)
    if run is None or run.get("status") != "success":
        raise StepFailed("dbt build", f"the run manifest says {run and run.get('status')}")
    if gates:
        marts = [python, "-m", "shopfunnel", "validate", "--stage", "marts", "--db", str(db)]
        _run("marts gate", marts, env, cwd)
    if publish:
        _publish(db, gated=gates)
    return run


def _summary(run: dict) -> str:
    rows = json.loads(run["rows_read"]) if run.get("rows_read") else {}
    quarantined = json.loads(run["rows_quarantined"]) if run.get("rows_quarantined") else {}
    parts = [
        f"{table} {rows.get(table, 0):,} ({quarantined.get(table, 0):,} quarantined)"
        for table in rows
    ]
    window = ""
    if run.get("first_event_at"):
        window = f"; events from {run['first_event_at']} to {run['last_event_at']}"
    return (
        f"run {run['run_id']}: {run['files_read']} file(s), loads "
        f"{run['first_load_date']} .. {run['last_load_date']}; rows read: "
        + ", ".join(parts)
        + f"; {run['too_late_events'] or 0} event(s) too late{window}"
    )


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--raw", type=Path, required=True, help="raw folder (var raw_path)")
    parser.add_argument(
        "--db",
        type=Path,
        default=Path(os.environ.get("DUCKDB_PATH", "data/shopfunnel.duckdb")),
        help="the build warehouse (default: env DUCKDB_PATH, else data/shopfunnel.duckdb)",
    )
    parser.add_argument("--raw-format", choices=("parquet", "csv"), default="parquet")
    parser.add_argument(
        "--no-publish", action="store_true", help="do not publish to the serving file"
    )
    parser.add_argument(
        "--unit-tests",
        action="store_true",
        help="run dbt's unit tests in the build too (by default only in CI: they check the "
        "code, which a scheduled run does not change)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    daily = subparsers.add_parser(
        "daily",
        help="the daily pipeline: raw gate on new loads, incremental build, marts gate, publish",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(daily)
    daily.add_argument(
        "--full-refresh", action="store_true", help="rebuild every model from every file"
    )
    daily.set_defaults(func=run_daily)
    backfill = subparsers.add_parser(
        "backfill",
        help="reprocess the loads of a date range, then run the daily pipeline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(backfill)
    backfill.add_argument("--from", dest="first", type=iso_date, required=True)
    backfill.add_argument("--to", dest="last", type=iso_date, required=True)
    backfill.set_defaults(func=run_backfill)


def _execute(args: argparse.Namespace, full_refresh: bool) -> int:
    started = time.perf_counter()
    try:
        run = run_pipeline(
            args.raw,
            args.db,
            args.raw_format,
            full_refresh,
            publish=not args.no_publish,
            unit_tests=args.unit_tests,
        )
    except StepFailed as failure:
        if failure.step in ("raw gate", "dbt seed", "dbt build"):
            after = (
                "the new files stay pending: the next run reads them again (a model that "
                "failed leaves no half-applied batch behind)"
            )
        else:
            after = (
                "the build is in the warehouse but the served version is the previous "
                "one; fix the cause and run again (or publish by hand once checked)"
            )
        _say(f"FAILED at {failure.step}: {failure}. Nothing was published; {after}.")
        return 1
    _say(_summary(run))
    _say(f"done in {time.perf_counter() - started:.1f} s")
    return 0


def run_daily(args: argparse.Namespace) -> int:
    return _execute(args, args.full_refresh)


def run_backfill(args: argparse.Namespace) -> int:
    if args.first > args.last:
        print(f"backfill: --from {args.first} is after --to {args.last}", file=sys.stderr)
        return 2
    try:
        files = mark_for_backfill(args.db, args.first, args.last)
    except StepFailed as failure:
        print(f"backfill: {failure}", file=sys.stderr)
        return 2
    _say(f"backfill: {files} file(s) of the loads {args.first} .. {args.last} will be read again")
    return _execute(args, full_refresh=False)


def main(argv: Sequence[str] | None = None) -> int:
    from shopfunnel.cli import main as cli_main

    return cli_main(["daily", *(argv or [])])
