"""Benchmarks of the generator and the dbt build, with raw DuckDB as the baseline.

Steps (each command is timed as a whole process, several runs, median quoted):
  1. generate the data set (``python -m shopfunnel generate``), counting events/s;
  2. ``dbt seed`` once, then ``dbt run --select staging`` and ``dbt run`` (whole project);
  3. the same compiled SQL replayed straight in DuckDB (bench/replay_compiled.py);
  4. ``dbt build`` (run + every test) once per run.
Results go to bench/results/<label>.json and are printed as a Markdown table for
bench/RESULTS.md. Peak memory is the child process's max RSS (os.wait4).

    python bench/run_bench.py --visitors 650000 --days 90 --runs 3 --label 10m
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Run cmd, return (wall seconds, peak RSS in MiB); raise on failure."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, rusage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(output.decode(errors="replace")[-4000:])
        raise SystemExit(f"benchmark step failed ({proc.returncode}): {' '.join(cmd)}")
    return wall, rusage.ru_maxrss / 1024


def summarise(samples: list[tuple[float, float]]) -> dict[str, float]:
    walls = [wall for wall, _ in samples]
    return {
        "runs": len(samples),
        "wall_median_s": round(statistics.median(walls), 2),
        "wall_min_s": round(min(walls), 2),
        "wall_max_s": round(max(walls), 2),
        "peak_rss_mib": round(max(rss for _, rss in samples), 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generator and build benchmarks.")
    parser.add_argument("--visitors", type=int, default=650_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each step")
    parser.add_argument("--label", default="10m")
    parser.add_argument("--workdir", type=Path, default=ROOT / "data" / "bench")
    parser.add_argument("--skip-generate", action="store_true", help="reuse the data set")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")

    raw = args.workdir / "raw"
    db = args.workdir / "shop.duckdb"
    target = args.workdir / "target"
    env = dict(
        os.environ,
        DUCKDB_PATH=str(db),
        DBT_TARGET_PATH=str(target),
        DBT_LOG_PATH=str(args.workdir / "logs"),
        DBT_PROFILES_DIR=str(ROOT),
    )
    dbt = str(BIN / "dbt")
    dbt_vars = ["--vars", json.dumps({"raw_path": str(raw)})]
    results: dict[str, object] = {
        "label": args.label,
        "visitors": args.visitors,
        "days": args.days,
        "runs": args.runs,
    }

    def step(name: str, cmd: list[str], runs: int, before=None) -> None:
        samples = []
        for run in range(runs):
            if before:
                before()
            print(f"[bench] {name}: run {run + 1}/{runs}", file=sys.stderr, flush=True)
            samples.append(timed(cmd, env))
        results[name] = summarise(samples)
        print(f"[bench] {name}: {results[name]}", file=sys.stderr, flush=True)

    if not args.skip_generate:
        step(
            "generate",
            [
                str(BIN / "python"),
                "-m",
                "shopfunnel",
                "generate",
                "--visitors",
                str(args.visitors),
                "--days",
                str(args.days),
                "--seed",
                str(args.seed),
                "--out",
                str(raw),
                "--quiet",
            ],
            args.runs,
        )
    manifest = json.loads((raw / "manifest.json").read_text())
    events = manifest["tables"]["events"]["rows"]
    results["events"] = events
    if "generate" in results:
        results["generate"]["events_per_s"] = round(events / results["generate"]["wall_median_s"])

    db.unlink(missing_ok=True)
    timed([dbt, "seed", "--quiet", *dbt_vars], env)
    step("dbt_run_staging", [dbt, "run", "--quiet", "--select", "staging", *dbt_vars], args.runs)
    step("dbt_run_all", [dbt, "run", "--quiet", *dbt_vars], args.runs)
    timed([dbt, "compile", "--quiet", *dbt_vars], env)
    replay = [
        str(BIN / "python"),
        str(ROOT / "bench" / "replay_compiled.py"),
        "--manifest",
        str(target / "manifest.json"),
        "--db",
        str(db),
    ]
    step("duckdb_replay_staging", [*replay, "--select", "staging"], args.runs)
    step("duckdb_replay_all", replay, args.runs)
    step("dbt_build_all", [dbt, "build", "--quiet", *dbt_vars], args.runs)
    for part in ("staging", "all"):
        ratio = (
            results[f"dbt_run_{part}"]["wall_median_s"]
            / results[f"duckdb_replay_{part}"]["wall_median_s"]
        )
        results[f"ratio_dbt_to_duckdb_{part}"] = round(ratio, 2)

    out = ROOT / "bench" / "results" / f"{args.label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print("| step | median s | min s | max s | peak MiB |\n|---|---|---|---|---|")
    for name, value in results.items():
        if isinstance(value, dict):
            print(
                f"| {name} | {value['wall_median_s']} | {value['wall_min_s']} | "
                f"{value['wall_max_s']} | {value['peak_rss_mib']} |"
            )
    print(f"\nevents: {events:,}; results written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
