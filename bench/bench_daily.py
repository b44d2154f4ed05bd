"""The production pipeline's cost as data grows: a full build and one daily incremental run.

For one size (``--visitors``), with the generator's daily layout:

1. generate the data set as load partitions (``generate --layout daily``), timed;
2. deliver every load but the last, ``dbt seed``, then a full ``dbt build`` (every model,
   data test and unit test), timed ``--runs`` times on a fresh warehouse each;
3. deliver the last load and run one incremental ``dbt build`` as the daily command runs it
   (every data test; unit tests, which check code and not data, left out), timed (``--runs``
   times, each on a copy of the warehouse as it stood after step 2); ``--daily-only`` times
   this step alone, on the warehouse a previous call left, and keeps its full-build figures;
4. with ``--bots``: the same full build after adding 1% of the events as a few heavy devices
   (100,000+ hits each, human-looking user agents), timed once, for the ratio to the clean one;
5. with ``--replay``: the compiled SQL of the full build replayed straight in DuckDB
   (bench/replay_compiled.py), for the dbt/raw-DuckDB ratio.

Wall clock and peak RSS of every command as a whole process (os.wait4), the machine's load
average beside them. Results: ``bench/results/daily_<label>.json`` and a Markdown row for
bench/RESULTS.md.

    python bench/bench_daily.py --visitors 107000 --label 1m --runs 3
    python bench/bench_daily.py --visitors 10700000 --label 100m --runs 1 --memory-limit 8GB
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT / "src"))

from shopfunnel.generate.deliver import deliver  # noqa: E402


def timed(cmd: list[str], env: dict[str, str], label: str) -> tuple[float, float]:
    """Run cmd (output to a log beside the data), return (wall seconds, peak RSS MiB)."""
    log = Path(env["BENCH_LOG_DIR"]) / f"{label}.log"
    started = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, rusage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write(log.read_text(errors="replace")[-4000:])
        raise SystemExit(f"benchmark step failed: {' '.join(cmd)} (log: {log})")
    print(f"  {label}: {wall:.1f} s, {rusage.ru_maxrss / 1024:,.0f} MiB, load {_load()}")
    return wall, rusage.ru_maxrss / 1024


def _load() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def summary(samples: list[tuple[float, float]]) -> dict:
    walls = [wall for wall, _ in samples]
    return {
        "runs": len(samples),
        "wall_median_s": round(statistics.median(walls), 1),
        "wall_min_s": round(min(walls), 1),
        "wall_max_s": round(max(walls), 1),
        "peak_rss_mib": round(max(rss for _, rss in samples)),
    }


def add_bot_traffic(raw: Path, share: float, hits_per_device: int) -> int:
    """Add `share` of the events as heavy devices with human-looking user agents, in one
    extra file per load partition they fall in. Returns the bot rows added."""
    import duckdb

    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    events = con.execute(
        f"select count(*), min(event_at), max(event_at) "
        f"from read_parquet('{raw}/events/**/*.parquet')"
    ).fetchall()[0]
    rows = int(events[0] * share)
    devices = max(1, rows // hits_per_device)
    seconds = (events[2] - events[1]).total_seconds()
    con.execute(f"""
        create table bots as
        select
            'botx_' || range as event_id,
            (timestamp '{events[1]}' + to_microseconds(cast(
                (range % {rows // devices}) * {seconds * 1e6 / (rows // devices)} as bigint
            )))::timestamptz as event_at,
            'a_heavy_' || (range // {rows // devices}) as anonymous_id,
            null::varchar as member_id,
            'page_view' as event_name,
            'https://www.shop.example/new-arrivals' as page_url,
            null::varchar as referrer_url,
            null::varchar as utm_source, null::varchar as utm_medium,
            null::varchar as utm_campaign, null::varchar as utm_term,
            null::varchar as product_id,
            'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0'
                as user_agent
        from range({devices * (rows // devices)})
    """)
    con.execute("""
        create table bots_loaded as
        select *, event_at + interval 10 minute as loaded_at,
            cast(event_at + interval 10 minute as date) as load_date
        from bots
    """)
    for (load_date,) in con.execute(
        "select distinct load_date from bots_loaded order by 1"
    ).fetchall():
        folder = raw / "events" / f"load_date={load_date}"
        if not folder.exists():
            continue
        con.execute(
            f"copy (select * exclude (load_date) from bots_loaded where load_date = "
            f"'{load_date}') to '{folder}/part-bots.parquet'"
        )
    added = con.execute("select count(*) from bots_loaded").fetchall()[0][0]
    con.close()
    return int(added)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=107_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--label", default="1m")
    parser.add_argument("--workdir", type=Path, default=ROOT / "data" / "bench_daily")
    parser.add_argument("--memory-limit", default=os.environ.get("DUCKDB_MEMORY_LIMIT", "8GB"))
    parser.add_argument("--bots", action="store_true", help="also time a build with 1%% bots")
    parser.add_argument("--replay", action="store_true", help="also replay in raw DuckDB")
    parser.add_argument("--skip-generate", action="store_true")
    parser.add_argument(
        "--daily-only", action="store_true",
        help="time only the daily run, on the warehouse after the full build of a previous call",
    )
    args = parser.parse_args(argv)

    work = args.workdir / args.label
    loads, raw = work / "loads", work / "raw"
    logs = work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(
        os.environ,
        DBT_PROFILES_DIR=str(ROOT),
        DBT_TARGET_PATH=str(work / "target"),
        DBT_LOG_PATH=str(work / "dbt_logs"),
        DUCKDB_MEMORY_LIMIT=args.memory_limit,
        DUCKDB_TEMP_DIRECTORY=str(work / "spill"),
        BENCH_LOG_DIR=str(logs),
    )
    dbt, python = str(BIN / "dbt"), sys.executable
    result: dict = {"label": args.label, "visitors": args.visitors, "days": args.days}
    print(f"bench_daily {args.label}: {args.visitors:,} visitors, {args.days} days")

    if not args.skip_generate:
        shutil.rmtree(loads, ignore_errors=True)
        wall, rss = timed(
            [python, "-m", "shopfunnel", "generate", "--visitors", str(args.visitors),
             "--days", str(args.days), "--seed", str(args.seed), "--layout", "daily",
             "--out", str(loads), "--quiet"],
            env, "generate",
        )
        result["generate"] = {"wall_s": round(wall, 1), "peak_rss_mib": round(rss)}
    manifest = json.loads((loads / "manifest.json").read_text())
    days = sorted(manifest["loads"]["by_date"])
    result["events"] = manifest.get("realized", {}).get("events") or sum(
        day["rows"].get("events", 0) for day in manifest["loads"]["by_date"].values()
    )
    variables = json.dumps({"raw_path": str(raw)})

    def fresh_raw(through: str) -> None:
        shutil.rmtree(raw, ignore_errors=True)
        deliver(loads, raw, date.fromisoformat(through))

    full, daily = [], []
    warehouse = work / "warehouse.duckdb"
    base_copy = work / "after_full.duckdb"
    out = ROOT / "bench" / "results" / f"daily_{args.label}.json"
    for run in range(0 if args.daily_only else args.runs):
        fresh_raw(days[-2])
        for path in work.glob("*.duckdb*"):
            path.unlink()
        run_env = dict(env, DUCKDB_PATH=str(warehouse))
        timed([dbt, "seed", "--vars", variables, "--quiet"], run_env, f"seed_{run}")
        full.append(timed([dbt, "build", "--vars", variables], run_env, f"full_build_{run}"))
        shutil.copy(warehouse, base_copy)
    if args.daily_only:
        if not base_copy.exists() or not out.exists():
            raise SystemExit(f"--daily-only needs {base_copy} and {out} from a previous call")
        fresh_raw(days[-2])
    deliver(loads, raw, date.fromisoformat(days[-1]))
    for run in range(args.runs):
        shutil.copy(base_copy, warehouse)
        run_env = dict(env, DUCKDB_PATH=str(warehouse))
        daily.append(timed(
            [dbt, "build", "--vars", variables, "--exclude-resource-type", "unit_test"],
            run_env, f"daily_build_{run}",
        ))
    result["full_build"] = (
        json.loads(out.read_text())["full_build"] if args.daily_only else summary(full)
    )
    result["daily_build"] = summary(daily)
    result["daily_over_full"] = round(
        result["daily_build"]["wall_median_s"] / result["full_build"]["wall_median_s"], 3
    )

    if args.replay:
        run_env = dict(env, DUCKDB_PATH=str(warehouse))
        fresh_raw(days[-1])
        for path in work.glob("*.duckdb*"):
            path.unlink()
        timed([dbt, "seed", "--vars", variables, "--quiet"], run_env, "replay_seed")
        dbt_run = timed([dbt, "run", "--vars", variables], run_env, "replay_dbt_run")
        replay = timed(
            [python, str(ROOT / "bench" / "replay_compiled.py"), "--db", str(warehouse),
             "--manifest", str(work / "target" / "manifest.json"),
             "--memory-limit", args.memory_limit],
            run_env, "replay_raw_duckdb",
        )
        result["replay"] = {
            "dbt_run_s": round(dbt_run[0], 1), "raw_duckdb_s": round(replay[0], 1),
            "ratio": round(dbt_run[0] / replay[0], 3),
        }

    if args.bots:
        fresh_raw(days[-1])
        added = add_bot_traffic(raw, share=0.01, hits_per_device=100_000)
        for path in work.glob("*.duckdb*"):
            path.unlink()
        run_env = dict(env, DUCKDB_PATH=str(warehouse))
        timed([dbt, "seed", "--vars", variables, "--quiet"], run_env, "bots_seed")
        bots = timed([dbt, "build", "--vars", variables], run_env, "bots_full_build")
        result["bots"] = {
            "bot_events": added, "wall_s": round(bots[0], 1),
            "over_clean_median": round(bots[0] / result["full_build"]["wall_median_s"], 3),
        }

    result["load_average_after"] = _load()
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(
        f"| {args.label} | {result['events']:,} | {result['full_build']['wall_median_s']} | "
        f"{result['daily_build']['wall_median_s']} ({result['daily_over_full']:.1%}) | "
        f"{max(result['full_build']['peak_rss_mib'], result['daily_build']['peak_rss_mib']):,} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
