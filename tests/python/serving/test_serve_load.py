"""Write-audit-publish under a reading load, with real dbt builds (issue 9, item 2).

A first version is published (the shared 2,000-visitor build of conftest.py, which passed
the gate there). Then one process queries every mart of the serving file every
50 ms (a new read-only connection each time, as a BI tool's query does) and another holds a
read-only connection open the whole time, while three build + gate + publish cycles run back
to back through the real commands (``dbt build``, ``python -m shopfunnel publish``):

1. a new data set (2,300 visitors): passes, published;
2. a partial export (500 visitors): ``dbt build`` is green but the marts gate fails its
   volume check against the previous passing run; nothing is published;
3. data set B again (the same export rebuilt, as after a failed day): published; the gate
   compares it with the last passing run, cycle 1 (a data set of another shop may differ
   by more than the gate's drift band, which is the gate doing its job).

Pass: zero failed queries; every read sees exactly one published version (each mart's row
count equals that version's count in ``meta.published_mart_rows``, and the version's counts
are the ones the publisher recorded); the failed build is never visible; the versions seen
never go back; the held-open reader keeps its version and never makes a build or a publish
fail. Bounded: the readers stop on a stop file or after READER_MAX_SECONDS, loopback only
(no network at all: DuckDB files).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import duckdb
import pytest

from shopfunnel.serve import GateResult, publish_build

PERIOD_SECONDS = 0.05
HELD_PERIOD_SECONDS = 0.2
READER_MAX_SECONDS = 1200
DAYS = 30
# (visitors, seed): a complete data set and a partial export of about a quarter of the
# visitors (the first data set is the shared build's: 2,000 visitors)
FULL_B = (2300, 22)
PARTIAL = (500, 23)


# ----------------------------------------------------------------------------- readers


def _version_and_counts(con: duckdb.DuckDBPyConnection) -> dict:
    """Every mart's row count and the current version's logged counts, in one statement."""
    marts = [
        row[0]
        for row in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
        ).fetchall()
    ]
    counts_sql = " union all ".join(
        f"select 'count', '{mart}', count(*) from marts.\"{mart}\"" for mart in marts
    )
    rows = con.execute(
        f"{counts_sql} union all "
        "select 'version', version_id, 0 from meta.published_versions where is_current "
        "union all select 'logged', mart_name, row_count from meta.published_mart_rows "
        "where version_id in (select version_id from meta.published_versions where is_current)"
    ).fetchall()
    versions = [name for kind, name, _ in rows if kind == "version"]
    return {
        "version": versions[0] if len(versions) == 1 else f"not one current version: {versions}",
        "counts": {name: count for kind, name, count in rows if kind == "count"},
        "logged": {name: count for kind, name, count in rows if kind == "logged"},
    }


def reader(serve: Path, out: Path, stop: Path) -> None:
    """Every 50 ms: a new read-only connection, every mart queried, the version read."""
    deadline = time.monotonic() + READER_MAX_SECONDS
    with out.open("w") as log:
        while not stop.exists() and time.monotonic() < deadline:
            tick = time.monotonic()
            if serve.exists():
                record: dict = {"at": time.time()}
                try:
                    con = duckdb.connect(str(serve), read_only=True)
                    try:
                        record.update(_version_and_counts(con))
                    finally:
                        con.close()
                except Exception as exc:  # every failure is a finding
                    record["error"] = f"{type(exc).__name__}: {exc}"
                log.write(json.dumps(record) + "\n")
                log.flush()
            time.sleep(max(0.0, PERIOD_SECONDS - (time.monotonic() - tick)))


def held_reader(serve: Path, out: Path, stop: Path) -> None:
    """One read-only connection held open from start to stop, queried every 200 ms."""
    deadline = time.monotonic() + READER_MAX_SECONDS
    with out.open("w") as log:
        con = duckdb.connect(str(serve), read_only=True)
        try:
            while not stop.exists() and time.monotonic() < deadline:
                record: dict = {"at": time.time()}
                try:
                    record.update(_version_and_counts(con))
                except Exception as exc:
                    record["error"] = f"{type(exc).__name__}: {exc}"
                log.write(json.dumps(record) + "\n")
                log.flush()
                time.sleep(HELD_PERIOD_SECONDS)
        finally:
            con.close()


# ----------------------------------------------------------------------------- the test


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _mart_counts(database: Path) -> dict[str, int]:
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach '{database}' as build (read_only)")
        names = con.execute(
            "select table_name from duckdb_tables() where database_name = 'build' "
            "and schema_name = 'marts'"
        ).fetchall()
        return {
            name: con.execute(f'select count(*) from build.marts."{name}"').fetchall()[0][0]
            for (name,) in names
        }
    finally:
        con.close()


@pytest.mark.slow
def test_publish_under_reading_load(tmp_path: Path, repo_root: Path, published_build) -> None:
    python = sys.executable
    dbt = str(Path(python).parent / "dbt")
    serve = tmp_path / "serve" / "shopfunnel.duckdb"
    build_db = tmp_path / "build" / "shopfunnel.duckdb"
    build_db.parent.mkdir()
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(repo_root),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
        "DBT_LOG_PATH": str(tmp_path / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
        "DUCKDB_PATH": str(build_db),
        "SHOPFUNNEL_SERVE_PATH": str(serve),
    }
    timings: dict[str, float] = {}

    def run(name: str, command: list[str]) -> subprocess.CompletedProcess[str]:
        started = time.monotonic()
        done = subprocess.run(command, cwd=repo_root, env=env, capture_output=True, text=True)
        timings[name] = round(time.monotonic() - started, 1)
        return done

    raws = {}
    for label, (visitors, seed) in {"B": FULL_B, "partial": PARTIAL}.items():
        raws[label] = tmp_path / f"raw_{label}"
        generated = run(
            f"generate {label}",
            [python, "-m", "shopfunnel", "generate", "--visitors", str(visitors), "--days",
             str(DAYS), "--seed", str(seed), "--out", str(raws[label]), "--quiet"],
        )  # fmt: skip
        assert generated.returncode == 0, generated.stderr

    def cycle(name: str, raw: Path) -> subprocess.CompletedProcess[str]:
        # each cycle builds another data set into the same build file: a full refresh
        built = run(f"{name}: dbt build", [dbt, "build", "--full-refresh", "--vars",
                                           f"{{raw_path: '{raw}'}}"])  # fmt: skip
        assert built.returncode == 0, f"{name}: dbt build failed\n{built.stdout[-3000:]}"
        return run(f"{name}: gate + publish", [python, "-m", "shopfunnel", "publish", "--db",
                                               str(build_db)])  # fmt: skip

    first = publish_build(
        published_build.build_db,
        serve,
        gate=GateResult(True, "passed (the published_build fixture ran the gate)"),
        project_dir=repo_root,
        manifest=published_build.manifest,
    )
    assert first.published, first.message

    stop = tmp_path / "stop"
    reads, held = tmp_path / "reads.jsonl", tmp_path / "held.jsonl"
    readers = [
        subprocess.Popen([python, __file__, mode, str(serve), str(out), str(stop)], env=env)
        for mode, out in (("reader", reads), ("held_reader", held))
    ]
    try:
        time.sleep(1.0)
        second = cycle("cycle 1 (B)", raws["B"])
        partial = cycle("cycle 2 (partial export)", raws["partial"])
        partial_counts = _mart_counts(build_db)
        third = cycle("cycle 3 (data set B again)", raws["B"])
        time.sleep(1.0)  # let the readers see the last version
    finally:
        stop.touch()
        for process in readers:
            process.wait(timeout=60)

    # the publishes: two passed, the partial export refused by the gate
    assert second.returncode == 0, second.stdout + second.stderr
    assert third.returncode == 0, third.stdout + third.stderr
    assert partial.returncode == 1, partial.stdout + partial.stderr
    assert "NOT published: the marts gate failed" in partial.stdout
    assert "row count within the band of the last" in partial.stdout

    listing = subprocess.run(
        [python, "-m", "shopfunnel", "versions", "--json"], env=env, capture_output=True, text=True
    )
    publications = json.loads(listing.stdout)["publications"]
    assert [row["action"] for row in publications] == ["publish"] * 3
    versions = [row["version_id"] for row in publications]
    published_counts = {row["version_id"]: row["mart_rows"] for row in publications}
    assert f"still serving version {versions[1]}" in partial.stdout
    assert partial_counts not in published_counts.values()

    records = _records(reads)
    errors = [record for record in records if "error" in record]
    assert not errors, f"{len(errors)} failed reads, first: {errors[0]}"
    assert len(records) >= 100, f"only {len(records)} reads"
    seen_order = []
    for record in records:
        assert record["counts"] == record["logged"], record
        assert record["version"] in published_counts, record
        assert record["counts"] == published_counts[record["version"]], record
        assert record["counts"] != partial_counts
        if not seen_order or seen_order[-1] != record["version"]:
            seen_order.append(record["version"])
    assert seen_order == versions, f"versions seen in this order: {seen_order}"

    held_records = _records(held)
    assert len(held_records) >= 20
    assert all("error" not in record for record in held_records), held_records[:3]
    assert {record["version"] for record in held_records} == {versions[0]}
    assert all(record["counts"] == published_counts[versions[0]] for record in held_records)

    per_version = {version: 0 for version in versions}
    for record in records:
        per_version[record["version"]] += 1
    gaps = sorted(later["at"] - earlier["at"] for earlier, later in pairwise(records))
    print(
        f"\nload test: {len(records)} reads of {len(records[0]['counts'])} marts (period "
        f"{PERIOD_SECONDS * 1000:.0f} ms; achieved median {gaps[len(gaps) // 2] * 1000:.0f} ms, "
        f"p95 {gaps[int(len(gaps) * 0.95)] * 1000:.0f} ms), 0 failed; reads per version "
        f"{per_version}; "
        f"held reader {len(held_records)} reads of {versions[0]}; timings (s) {timings}"
    )


if __name__ == "__main__":
    mode, serve_arg, out_arg, stop_arg = sys.argv[1:5]
    {"reader": reader, "held_reader": held_reader}[mode](
        Path(serve_arg), Path(out_arg), Path(stop_arg)
    )
