"""The events table, written one time slice at a time.

Events are never held: the session table is kept in time order and cut into successive
time slices of about ``chunk_events`` hits; each slice is streamed by one COPY straight
into its own part file (its session hits, the purchase visits and bot hits of that time
range and, with dirt on, its dirt rows). Each file therefore covers its own time range,
and its row groups hold nearly time-ordered rows (tight min/max statistics for date
filters) without the cost of a full sort.
"""

from __future__ import annotations

import math
import time

from shopfunnel.generate.context import RunContext
from shopfunnel.generate.event_dirt import build_slice_dirt, offset_condition
from shopfunnel.generate.hits import decorate_sql, session_hits_sql
from shopfunnel.generate.loads import copy_options, delivered_sql, record_stats
from shopfunnel.generate.sqlkit import EVENT_COLUMNS, PARQUET
from shopfunnel.generate.visits import bot_sql, prepare_visit_sources, purchase_visits_sql
from shopfunnel.sqltext import sql_string


def event_slices(ctx: RunContext) -> list[tuple[float, float]]:
    """Successive time slices of session starts holding about chunk_events hits each."""
    con = ctx.con
    expected = con.execute("select coalesce(sum(n_hits + 1), 0) from sessions").fetchall()
    chunks = max(1, math.ceil(int(expected[0][0]) / ctx.chunk_events))
    edges: list[float] = [-1e18]
    if chunks > 1:
        fractions = ", ".join(repr(k / chunks) for k in range(1, chunks))
        cuts = con.execute(
            f"select quantile_disc(start_s, [{fractions}]) from sessions"
        ).fetchall()[0][0]
        edges += sorted({float(cut) for cut in cuts} - {edges[0]})
    edges.append(1e18)
    return list(zip(edges[:-1], edges[1:], strict=True))


def _select_lists(ctx: RunContext) -> tuple[str, str]:
    """Column lists of the session rows (which may carry a CSV offset) and of the others."""
    columns = ", ".join(EVENT_COLUMNS)
    if ctx.fmt != "csv":
        return columns, columns
    event_at = (
        f"case when {offset_condition(ctx)} then "
        "strftime(event_at::timestamp + interval 9 hour, '%Y-%m-%d %H:%M:%S.%f') || '+09:00' "
        "else event_at::varchar end as event_at"
    )
    main_columns = columns.replace("event_at", event_at, 1)
    other_columns = columns.replace("event_at", "event_at::varchar as event_at", 1)
    return main_columns, other_columns


def slice_events_sql(ctx: RunContext, lo: float, hi: float, dirt_totals: dict[str, int]) -> str:
    """Every event row of one time slice (builds the slice's dirt table first)."""
    main_columns, other_columns = _select_lists(ctx)
    hits = session_hits_sql(ctx, lo, hi)
    parts = [f"select {main_columns} from ({decorate_sql(ctx, hits)})"]
    if ctx.p.dirt:
        build_slice_dirt(ctx, lo, hi, dirt_totals)
        parts.append(f"select {other_columns} from dirt")
    parts.append(f"select {other_columns} from ({purchase_visits_sql(lo, hi)})")
    parts.append(f"select {other_columns} from ({bot_sql(ctx, lo, hi)})")
    return " union all ".join(parts)


def write_events(ctx: RunContext) -> int:
    """One part file per time slice: its sessions, purchase visits, bots and dirt rows.

    Rows are written in the order of the session table (by session start), so each file
    covers its own time range and row groups are nearly ordered by event_at (tight min/max
    statistics for pruning) without the cost of a full sort.
    """
    con = ctx.con
    prepare_visit_sources(ctx)
    slices = event_slices(ctx)
    total = 0
    started = time.perf_counter()
    dirt_totals: dict[str, int] = {}
    folder = ctx.out / "events"
    folder.mkdir(parents=True, exist_ok=True)
    options = (
        f"{PARQUET}, row_group_size 122880" if ctx.fmt == "parquet" else "format csv, header true"
    )
    for number, (lo, hi) in enumerate(slices, start=1):
        query = slice_events_sql(ctx, lo, hi, dirt_totals)
        if ctx.daily:
            extra = ", row_group_size 122880" if ctx.fmt == "parquet" else ""
            stats = con.execute(
                f"copy ({delivered_sql(ctx, query)}) to {sql_string(folder)} "
                f"({copy_options(ctx, f'{number:05d}', extra)})"
            ).fetchall()
            total += record_stats(ctx, "events", stats)
        else:
            path = folder / f"part-{number:05d}.{ctx.fmt}"
            written = con.execute(f"copy ({query}) to {sql_string(path)} ({options})").fetchall()
            ctx.files["events"].append(str(path.relative_to(ctx.out)))
            total += int(written[0][0])
        rate = total / max(time.perf_counter() - started, 1e-9)
        ctx.progress(f"events: part {number}/{len(slices)}, {total:,} rows ({rate:,.0f} rows/s)")
    if ctx.p.dirt:
        bots = con.execute("select count(*), coalesce(sum(n_hits), 0) from bots").fetchall()
        dirt_totals["bot_visitors"], dirt_totals["bot_events"] = int(bots[0][0]), int(bots[0][1])
    ctx.dirt.update(dirt_totals)
    ctx.progress(f"events: {total:,} rows in {time.perf_counter() - started:.1f} s")
    return total
