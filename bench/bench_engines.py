"""The same project on DuckDB and on local Spark: one data set, one `dbt build` per engine.

Generates a data set (default about 1M events: 114,000 visitors over 30 days, flat layout),
then times `dbt seed` + `dbt build` (every model, data test and unit test) on the DuckDB
target (``--runs`` times, each on a fresh file) and on the ``spark`` target (pyspark in local
mode, ``--spark-runs`` times, each on a fresh warehouse). Wall clock and peak RSS of each
command as a whole process, the load average beside them (bench_daily.timed). Results:
``bench/results/engines_<label>.json`` and the figures for README "Running on Spark".

Needs the Spark stack and Java 17: ``make bench-engines`` installs them and runs this.

    python bench/bench_engines.py --visitors 114000 --label 1m
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_daily import BIN, ROOT, _load, timed  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visitors", type=int, default=114_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--label", default="1m")
    parser.add_argument("--runs", type=int, default=3, help="DuckDB builds (median quoted)")
    parser.add_argument("--spark-runs", type=int, default=1, help="Spark builds")
    parser.add_argument("--workdir", type=Path, default=ROOT / "data" / "bench_engines")
    parser.add_argument("--skip-generate", action="store_true")
    args = parser.parse_args()

    work = args.workdir / args.label
    raw, logs = work / "raw", work / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DBT_PROFILES_DIR=str(ROOT), BENCH_LOG_DIR=str(logs),
               DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    dbt, python = str(BIN / "dbt"), sys.executable
    result: dict = {"label": args.label, "visitors": args.visitors, "days": args.days}
    print(f"bench_engines {args.label}: {args.visitors:,} visitors, {args.days} days")
    if not args.skip_generate:
        shutil.rmtree(raw, ignore_errors=True)
        subprocess.run(
            [python, "-m", "shopfunnel", "generate", "--visitors", str(args.visitors),
             "--days", str(args.days), "--seed", str(args.seed), "--out", str(raw), "--quiet"],
            cwd=ROOT, env=env, check=True,
        )
    manifest = json.loads((raw / "manifest.json").read_text())
    result["events"] = manifest["tables"]["events"]["rows"]
    variables = json.dumps({"raw_path": str(raw.resolve())})

    def build(engine: str, run: int, extra_env: dict[str, str]) -> tuple[float, float]:
        run_env = dict(env, DBT_TARGET_PATH=str(work / f"target-{engine}"),
                       DBT_LOG_PATH=str(work / f"dbt_logs-{engine}"), **extra_env)
        timed([dbt, "seed", "--vars", variables, "--quiet"], run_env, f"{engine}_seed_{run}")
        return timed([dbt, "build", "--vars", variables], run_env, f"{engine}_build_{run}")

    duck = []
    for run in range(args.runs):
        for path in work.glob("duck.duckdb*"):
            path.unlink()
        duck.append(build("duckdb", run, {"DBT_TARGET": "dev",
                                          "DUCKDB_PATH": str(work / "duck.duckdb")}))
    spark = []
    for run in range(args.spark_runs):
        shutil.rmtree(work / "spark", ignore_errors=True)
        spark.append(build("spark", run, {
            "DBT_TARGET": "spark", "SPARK_LOCAL_IP": "127.0.0.1",
            "SPARK_WAREHOUSE": str(work / "spark" / "warehouse"),
            "SPARK_METASTORE_HOME": str(work / "spark"),
        }))
    for name, samples in (("duckdb", duck), ("spark", spark)):
        walls = [wall for wall, _ in samples]
        result[name] = {
            "runs": len(walls), "build_wall_median_s": round(statistics.median(walls), 1),
            "build_wall_min_s": round(min(walls), 1), "build_wall_max_s": round(max(walls), 1),
            "peak_rss_mib": round(max(rss for _, rss in samples)),
        }
    result["spark_over_duckdb"] = round(
        result["spark"]["build_wall_median_s"] / result["duckdb"]["build_wall_median_s"], 2
    )
    result["load_average_after"] = _load()
    out = ROOT / "bench" / "results" / f"engines_{args.label}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
