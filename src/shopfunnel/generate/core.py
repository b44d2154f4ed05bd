"""The synthetic shop, simulated in DuckDB SQL: the order of the steps.

A run builds the simulated truth as small DuckDB tables (spilled to a scratch folder if
they outgrow memory), then writes the raw tables and ``manifest.json``. Where each step
lives:

- ``sqlkit.py``: constants, the random-draw macros and SQL helpers;
- ``context.py``: what the steps share (connection, parameters, clock, tallies);
- ``people.py``: visitors and sessions; ``shop.py``: products, members, orders, grades;
- ``hits.py``, ``visits.py``: event rows as SQL; ``event_dirt.py``: tracker dirt;
- ``event_files.py``: the events table, one time slice per part file;
- ``exports.py``: the other tables; ``truth.py``: realized figures and the manifest;
- ``loads.py``: the daily layout (load partitions); ``planted.py``: the cases it plants;
- ``actions.py``: the marketing actions after an action date, with the marts' holdout
  (``--actions on``); ``action_outcomes.py``: what they did (orders settled, members before
  any action) and their truth file and manifest section;
- ``deliver.py``: copies the loads up to a date into a raw folder.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from shopfunnel.generate import (
    action_outcomes,
    actions,
    event_files,
    exports,
    people,
    planted,
    shop,
    truth,
)
from shopfunnel.generate.context import RunContext
from shopfunnel.generate.params import Params
from shopfunnel.generate.sqlkit import TABLES, Progress
from shopfunnel.generate.truth import GENERATOR_VERSION
from shopfunnel.sqltext import sql_string

__all__ = ["GENERATOR_VERSION", "TABLES", "Generator", "stderr_progress"]


class Generator:
    def __init__(
        self,
        params: Params,
        out: Path,
        fmt: str = "parquet",
        progress: Progress | None = None,
        chunk_events: int = 2_000_000,
        layout: str = "flat",
        memory_limit: str = "1GB",
    ) -> None:
        if fmt not in ("parquet", "csv"):
            raise ValueError(f"--format must be parquet or csv (got {fmt!r})")
        if layout not in ("flat", "daily"):
            raise ValueError(f"--layout must be flat or daily (got {layout!r})")
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {out} exists and is not a folder")
        if chunk_events < 1:
            raise ValueError(f"--chunk-events must be at least 1 (got {chunk_events})")
        if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)", memory_limit):
            raise ValueError(f"--memory-limit must look like 1GB or 800MB (got {memory_limit!r})")
        params.validate()
        self.ctx = RunContext(
            p=params,
            out=out,
            fmt=fmt,
            layout=layout,
            memory_limit=memory_limit,
            chunk_events=chunk_events,
            progress=progress or (lambda message: None),
        )

    def run(self) -> dict:
        """Write every table and manifest.json; return the manifest."""
        ctx = self.ctx
        # the per-visitor state of a very large run may outgrow memory: let DuckDB spill
        scratch = Path(tempfile.mkdtemp(prefix="shopfunnel-generate-"))
        ctx.con.execute(f"set temp_directory = {sql_string(scratch)}")
        try:
            return self._run()
        finally:
            ctx.con.close()
            shutil.rmtree(scratch, ignore_errors=True)

    def _run(self) -> dict:
        ctx = self.ctx
        started = time.perf_counter()
        if ctx.out.exists():
            for table in TABLES:
                shutil.rmtree(ctx.out / table, ignore_errors=True)
            (ctx.out / "manifest.json").unlink(missing_ok=True)
            (ctx.out / actions.TRUTH_FILE).unlink(missing_ok=True)
        ctx.out.mkdir(parents=True, exist_ok=True)
        steps = [
            ("products", shop.build_products),
            ("visitors", people.build_persons),
            ("sessions", people.build_sessions),
        ]
        if ctx.daily:
            steps.append(("planted devices", self._plant_late_logins))
        steps += [
            ("members", shop.build_members),
            ("orders", shop.build_orders),
            ("grades", shop.build_grade_history),
        ]
        for name, step in steps:
            step(ctx)
            ctx.progress(f"built {name}")
        rows = {
            "products": exports.write_table(
                ctx, "products", exports.products_sql(ctx), "00000", "product_id"
            ),
            "members": exports.write_members(ctx),
            "member_grade_history": exports.write_table(
                ctx,
                "member_grade_history",
                exports.grade_history_sql(ctx),
                "00000",
                "member_id, valid_from",
            ),
        }
        exports.build_order_exports(ctx)
        if ctx.daily:
            planted.plant_refunds(ctx)
        rows["orders"] = exports.write_table(
            ctx, "orders", "select * from orders_out", "00000", "ordered_at, order_id"
        )
        rows["order_items"] = exports.write_table(
            ctx, "order_items", "select * from items_out", "00000", "order_id, line_number"
        )
        for table in ("products", "members", "member_grade_history", "orders", "order_items"):
            ctx.progress(f"{table}: {rows[table]:,} rows")
        rows["events"] = event_files.write_events(ctx)
        manifest = truth.manifest(ctx, rows)
        manifest["actions"] = action_outcomes.report(ctx)
        if ctx.daily:
            manifest["loads"] = planted.load_report(ctx)
        (ctx.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        ctx.progress(
            f"wrote {sum(rows.values()):,} rows ({rows['events']:,} events) to {ctx.out} "
            f"in {time.perf_counter() - started:.1f} s"
        )
        return manifest

    @staticmethod
    def _plant_late_logins(ctx: RunContext) -> None:
        planted.plant_late_logins(ctx, ctx.p.visitors + shop.offline_member_count(ctx))


def stderr_progress(message: str) -> None:
    print(f"[generate] {message}", file=sys.stderr, flush=True)
