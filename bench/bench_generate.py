"""Benchmark of the data generator: events written per second, end to end.

Runs ``python -m shopfunnel generate`` as a child process (the real command, parquet,
dirt on) and reports events, wall time, events/s, CPU time, events per CPU-second and
peak memory. With ``--events N`` (default 10 million) a small calibration run first
measures events per visitor, then the visitor count is chosen to give about N events;
``--visitors`` skips the calibration.

    python bench/bench_generate.py                  # ~10M events
    python bench/bench_generate.py --events 2000000 --runs 3
    python bench/bench_generate.py --visitors 1100000 --out /tmp/raw10m   # keeps the data

Events/s depends on what else runs on the machine: the CPU figures say how much of the
time the generator itself was working (events per CPU-second x cores = the rate on idle
cores).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_generator(
    visitors: int, days: int, seed: int, out: Path, extra: list[str] | None = None
) -> dict[str, float]:
    """One generator run; wall and CPU seconds, peak RSS and the manifest's event count."""
    load_before = os.getloadavg()[0]
    cmd = [
        sys.executable,
        "-m",
        "shopfunnel",
        "generate",
        "--visitors",
        str(visitors),
        "--days",
        str(days),
        "--seed",
        str(seed),
        "--out",
        str(out),
        "--quiet",
        *(extra or []),
    ]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    output = proc.stdout.read()
    _, status, rusage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write(output.decode(errors="replace")[-4000:])
        raise SystemExit(f"generator failed: {' '.join(cmd)}")
    manifest = json.loads((out / "manifest.json").read_text())
    events = manifest["tables"]["events"]["rows"]
    cpu = rusage.ru_utime + rusage.ru_stime
    return {
        "visitors": visitors,
        "events": events,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "events_per_s": round(events / wall),
        "events_per_cpu_s": round(events / cpu),
        "peak_rss_mib": round(rusage.ru_maxrss / 1024, 1),
        "event_files": len(manifest["tables"]["events"]["files"]),
        # the machine may be shared: the 1-minute load average around the run
        "load_before": round(load_before, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time the data generator.")
    size = parser.add_mutually_exclusive_group()
    size.add_argument(
        "--events", type=int, default=10_000_000, help="target events (default 10 million)"
    )
    size.add_argument("--visitors", type=int, help="visitors (skips the calibration run)")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=1, help="timed runs (median reported)")
    parser.add_argument(
        "--out", type=Path, help="write (and keep) the data here (default: a temporary folder)"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--layout", choices=("flat", "daily"), default="flat")
    parser.add_argument("--memory-limit", help="passed to the generator (its default: 1GB)")
    args = parser.parse_args(argv)
    if (args.visitors is not None and args.visitors < 1) or args.events < 1 or args.runs < 1:
        parser.error("--events, --visitors and --runs must be positive")

    scratch = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    out = args.out or scratch / "raw"
    try:
        extra = ["--layout", args.layout]
        if args.memory_limit:
            extra += ["--memory-limit", args.memory_limit]
        visitors = args.visitors
        if visitors is None:
            calibration = run_generator(
                20_000, args.days, args.seed, scratch / "calibration", extra
            )
            per_visitor = calibration["events"] / calibration["visitors"]
            visitors = max(1, round(args.events / per_visitor))
            print(
                f"calibration: {per_visitor:.2f} events per visitor -> {visitors:,} visitors "
                f"for ~{args.events:,} events",
                flush=True,
            )
        results = []
        for run in range(1, args.runs + 1):
            result = run_generator(visitors, args.days, args.seed, out, extra)
            results.append(result)
            print(
                f"run {run}: {result['events']:,} events in {result['wall_s']} s = "
                f"{result['events_per_s']:,} events/s (CPU {result['cpu_s']} s = "
                f"{result['events_per_cpu_s']:,} events per CPU-second, "
                f"peak {result['peak_rss_mib']} MiB, {result['event_files']} event files, "
                f"load {result['load_before']} -> {result['load_after']})",
                flush=True,
            )
        summary = {
            "cores": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "runs": results,
            "events": results[0]["events"],
            "events_per_s_median": round(statistics.median(r["events_per_s"] for r in results)),
            "events_per_cpu_s_median": round(
                statistics.median(r["events_per_cpu_s"] for r in results)
            ),
        }
        print(
            f"events: {summary['events']:,}  events/s (median): "
            f"{summary['events_per_s_median']:,}  events per CPU-second: "
            f"{summary['events_per_cpu_s_median']:,}  (cores {summary['cores']}, "
            f"load {summary['load_average_1m']})"
        )
        if args.json:
            args.json.write_text(json.dumps(summary, indent=2) + "\n")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
