"""Incremental daily runs equal a full refresh, after every run, on every model.

A 35-day data set in load partitions (``generate --layout daily``) is delivered for days
1-30 and built in full; then days 31-35 are delivered one load at a time, each followed by
an incremental ``dbt run`` (the models of ``dbt build``, whose tests run elsewhere). After
every daily run a second warehouse is built from scratch on the same raw folder, and every
relation of staging, intermediate and marts is compared: row counts and ``EXCEPT ALL`` in
both directions (NULL-safe, duplicates counted, empty tables included). Run-scoped models
(tag ``run_scoped``: what the run touched, its batch of files) and the batch views describe
the run, not the data, and are left out.

The last five loads hold, by the generator's manifest, every case incremental pipelines get
wrong: late events inside and beyond the 3-day lookback, re-delivered duplicates (some with
another payload), a device whose first login comes 20+ days after its first anonymous
visit, a member whose grade changes and an order refunded in a later load. The test checks
they are there and that the marts show their effect after their run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shopfunnel.generate.deliver import deliver

pytestmark = pytest.mark.slow

SCHEMAS = ("staging", "intermediate", "marts")
FULL_DAYS = 30
DAILY_RUNS = 5


def _dbt(repo: Path, db: Path, raw: Path, work: Path, *args: str) -> None:
    env = {
        **os.environ,
        "DUCKDB_PATH": str(db),
        "DBT_PROFILES_DIR": str(repo),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    dbt = str(Path(sys.executable).with_name("dbt"))
    variables = json.dumps({"raw_path": str(raw)})
    done = subprocess.run(
        [dbt, *args, "--vars", variables, "--quiet"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"dbt {' '.join(args)} failed:\n{done.stdout[-4000:]}"


def _run_scoped(repo: Path, work: Path) -> set[str]:
    """Names of the models that describe a run rather than the data."""
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    return {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and ("run_scoped" in node.get("tags", []) or node["name"].endswith("_batch"))
    }


def _relations(con: Any, database: str) -> list[tuple[str, str]]:
    return con.execute(
        "select schema_name, table_name from duckdb_tables() "
        "where database_name = ? and schema_name in ('staging', 'intermediate', 'marts') "
        "union select schema_name, view_name from duckdb_views() "
        "where database_name = ? and schema_name in ('staging', 'intermediate', 'marts') "
        "order by 1, 2",
        [database, database],
    ).fetchall()


def differences(incremental: Path, full: Path, skip: set[str]) -> tuple[int, list[str]]:
    """How many relations were compared, and one line per relation that differs."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{incremental}' as incremental (read_only)")
        con.execute(f"attach '{full}' as full_refresh (read_only)")
        full_relations = _relations(con, "full_refresh")
        incremental_relations = set(_relations(con, "incremental"))
        problems, compared = [], 0
        for schema, name in full_relations:
            if name in skip:
                continue
            compared += 1
            if (schema, name) not in incremental_relations:
                problems.append(f"{schema}.{name}: missing from the incremental warehouse")
                continue
            columns = ", ".join(
                f'"{row[0]}"'
                for row in con.execute(
                    "select column_name from duckdb_columns() where database_name = "
                    "'full_refresh' and schema_name = ? and table_name = ? "
                    "order by column_index",
                    [schema, name],
                ).fetchall()
            )
            counts = []
            for left, right in (("incremental", "full_refresh"), ("full_refresh", "incremental")):
                counts.append(
                    con.execute(
                        f"select count(*) from (select {columns} from {left}.{schema}.{name} "
                        f"except all select {columns} from {right}.{schema}.{name})"
                    ).fetchall()[0][0]
                )
            rows = [
                con.execute(f"select count(*) from {side}.{schema}.{name}").fetchall()[0][0]
                for side in ("incremental", "full_refresh")
            ]
            if rows[0] != rows[1] or any(counts):
                problems.append(
                    f"{schema}.{name}: {rows[0]} rows incremental vs {rows[1]} full refresh; "
                    f"{counts[0]} only incremental, {counts[1]} only full refresh"
                )
        return compared, problems
    finally:
        con.close()


@pytest.fixture(scope="module")
def daily_data(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Path:
    out = tmp_path_factory.mktemp("daily") / "loads"
    done = subprocess.run(
        [
            sys.executable, "-m", "shopfunnel", "generate", "--visitors", "1500",
            "--days", str(FULL_DAYS + DAILY_RUNS), "--history-days", "30", "--seed", "5",
            "--layout", "daily", "--out", str(out), "--quiet",
        ],
        cwd=repo_root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return out


def test_the_last_loads_hold_every_hard_case(daily_data: Path) -> None:
    loads = json.loads((daily_data / "manifest.json").read_text())["loads"]["by_date"]
    last = [loads[day] for day in sorted(loads)[-DAILY_RUNS:]]
    assert sum(day["late_events_within_lookback"] for day in last) > 0
    assert sum(day["late_events_beyond_lookback"] for day in last) > 0
    assert sum(day["redelivered_events"] for day in last) > 0
    assert sum(day["redelivered_changed_events"] for day in last) > 0
    assert sum(day["grade_change_members"] for day in last) > 0
    assert sum(len(day["refunded_orders"]) for day in last) > 0
    late_logins = [device for day in last for device in day["late_login_devices"]]
    assert late_logins and all(device["days_to_login"] >= 20 for device in late_logins)


def test_each_daily_run_equals_a_full_refresh(
    daily_data: Path, repo_root: Path, tmp_path: Path
) -> None:
    manifest = json.loads((daily_data / "manifest.json").read_text())
    days = sorted(manifest["loads"]["by_date"])
    assert len(days) == FULL_DAYS + DAILY_RUNS
    raw = tmp_path / "raw"
    incremental = tmp_path / "incremental.duckdb"
    work = tmp_path / "incremental_work"

    deliver(daily_data, raw, date.fromisoformat(days[FULL_DAYS - 1]))
    _dbt(repo_root, incremental, raw, work, "seed")
    _dbt(repo_root, incremental, raw, work, "run")
    skip = _run_scoped(repo_root, work)
    assert {"int_devices_touched_by_run", "stg_ops__batch_files"} <= skip

    failures = []
    for day in days[FULL_DAYS:]:
        deliver(daily_data, raw, date.fromisoformat(day))
        _dbt(repo_root, incremental, raw, work, "run")
        full = tmp_path / f"full_{day}.duckdb"
        full_work = tmp_path / f"full_{day}"
        _dbt(repo_root, full, raw, full_work, "seed")
        _dbt(repo_root, full, raw, full_work, "run")
        compared, problems = differences(incremental, full, skip)
        assert compared >= 40, f"only {compared} relations compared"
        failures += [f"after the load of {day}: {problem}" for problem in problems]
        full.unlink()
        _check_the_day_took_effect(incremental, manifest["loads"]["by_date"][day], day)
    assert not failures, "\n".join(failures)

    con = duckdb.connect(str(incremental), read_only=True)
    try:
        runs = con.execute(
            "select status, files_read, too_late_events from ops.pipeline_runs "
            "order by started_at"
        ).fetchall()
    finally:
        con.close()
    assert [run[0] for run in runs] == ["success"] * (DAILY_RUNS + 1)
    # each daily run read only its own load's files
    assert all(0 < run[1] <= 6 for run in runs[1:])


def _check_the_day_took_effect(db: Path, planted: dict, day: str) -> None:
    """The marts show what the day's load planted, right after its incremental run."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        for device in planted["late_login_devices"]:
            persons = con.execute(
                "select distinct person_id from marts.fct_sessions where anonymous_id = ?",
                [device["anonymous_id"]],
            ).fetchall()
            assert persons == [(f"mbr_{device['member_id']}",)], (day, device, persons)
            first_visit = con.execute(
                "select cast(first_visit_at as date) from marts.dim_persons where person_id = ?",
                [f"mbr_{device['member_id']}"],
            ).fetchall()[0][0]
            assert str(first_visit) <= device["first_visit_date"], (day, device, first_visit)
            gone = con.execute(
                "select count(*) from marts.dim_persons where person_id = ?",
                [f"anon_{device['anonymous_id']}"],
            ).fetchall()[0][0]
            assert gone == 0, (day, device)
        for order_id in planted["refunded_orders"]:
            paid = con.execute(
                "select is_paid, order_status from marts.fct_orders where order_id = ?",
                [order_id],
            ).fetchall()
            assert paid == [(False, "refunded")], (day, order_id, paid)
    finally:
        con.close()
