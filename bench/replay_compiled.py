"""Run the project's compiled SQL straight in DuckDB, without dbt.

This is the baseline of the build benchmark: the same SQL that ``dbt run`` sends, in the same
order, on the same DuckDB file, from one Python process. The ratio ``dbt run`` / this script is
the overhead dbt adds (parsing, materialisation macros, contracts, threads).

Usage (after ``dbt compile`` wrote target/manifest.json on the same vars):

    python bench/replay_compiled.py --manifest target/manifest.json --db data/bench/shop.duckdb \
        [--select staging]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb


def load_models(manifest_path: Path, select: str | None) -> list[dict]:
    manifest = json.loads(manifest_path.read_text())
    nodes = {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
        and node["config"].get("materialized") in ("table", "view", "incremental")
        and node.get("compiled_code")
    }
    if select:
        nodes = {uid: node for uid, node in nodes.items() if select in node["fqn"]}
    graph = {
        uid: [dep for dep in node["depends_on"]["nodes"] if dep in nodes]
        for uid, node in nodes.items()
    }
    return [nodes[uid] for uid in TopologicalSorter(graph).static_order()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=Path("target/manifest.json"))
    parser.add_argument("--db", type=Path, required=True, help="DuckDB file with the seeds loaded")
    parser.add_argument("--select", help="only models whose fqn contains this folder name")
    parser.add_argument("--memory-limit", default="8GB")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    if not args.manifest.exists():
        parser.error(f"{args.manifest} not found: run `dbt compile` first")
    models = load_models(args.manifest, args.select)
    if not models:
        parser.error("no compiled models matched")
    con = duckdb.connect(str(args.db))
    con.execute(f"set memory_limit = '{args.memory_limit}'")
    con.execute(f"set threads = {args.threads}")
    con.execute("set TimeZone = 'UTC'")
    con.execute("set preserve_insertion_order = false")
    started = time.perf_counter()
    for node in models:
        kind = "view" if node["config"]["materialized"] == "view" else "table"
        con.execute(f"create schema if not exists {node['schema']}")
        con.execute(
            f"create or replace {kind} {node['relation_name']} as (\n{node['compiled_code']}\n)"
        )
    elapsed = time.perf_counter() - started
    print(f"replayed {len(models)} models in {elapsed:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
