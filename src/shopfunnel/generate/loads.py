"""The daily layout: every table as hive-style load partitions, one load per day.

``<out>/<table>/load_date=YYYY-MM-DD/part-*.parquet`` (or ``.csv``). The first load (the
first day of the window) holds the history: every row loaded on or before that day, its
``loaded_at`` moved into the first hour of the day (in the order it was loaded). Then one
load per day of the window; every row's ``loaded_at`` lies on its load date (UTC). Rows
loaded after the window (a late event of its last day, say) are not delivered yet: they
are not in the data set.

Seconds here count from the start of the history (``ctx.h0``), like the ``ts()`` macro.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from shopfunnel.generate.context import RunContext
from shopfunnel.generate.sqlkit import PARQUET
from shopfunnel.sqltext import sql_string

LOOKBACK_DAYS = 3  # the staging default of var late_event_lookback_days
PARTITION = re.compile(r"load_date=(\d{4}-\d{2}-\d{2})")


def same_day_load_s(seconds: str) -> str:
    """An export loads a row within the hour and always on the day it was made."""
    return f"({seconds} + least(3600, ((floor({seconds} / 86400) + 1) * 86400 - {seconds}) / 2))"


def into_first_load_s(ctx: RunContext, seconds: str) -> str:
    """Loads before the window move into the first hour of its first day, in order."""
    w0 = ctx.sec(ctx.w0)
    moved = f"{w0!r} + greatest({seconds}, 0) / {max(w0, 1.0)!r} * 3600"
    return f"(case when {seconds} < {w0!r} then {moved} else {seconds} end)"


def export_loaded_at(ctx: RunContext, seconds: str) -> str:
    """loaded_at of a row of an export (members, orders, ...) made at `seconds`."""
    if ctx.daily:
        return f"ts({into_first_load_s(ctx, same_day_load_s(seconds))})"
    return f"ts({ctx.sec(ctx.export_at)})"


def restamped_loaded_at(ctx: RunContext, column: str = "loaded_at") -> str:
    """A timestamptz `column` as loaded in the daily layout (unchanged from the window on)."""
    h0 = ctx.h0.timestamp()
    seconds = f"(epoch({column}) - {h0!r})"
    return (
        f"case when {column} < ts({ctx.sec(ctx.w0)!r}) "
        f"then ts({into_first_load_s(ctx, seconds)}) else {column} end"
    )


def delivered_sql(ctx: RunContext, query: str) -> str:
    """Rows of `query` as the daily layout delivers them, with their `load_date`."""
    loaded = restamped_loaded_at(ctx)
    return f"""
        select * exclude (loaded_at), {loaded} as loaded_at, ({loaded})::date as load_date
        from ({query})
        where loaded_at < ts({ctx.sec(ctx.w1)!r})
    """


def copy_options(ctx: RunContext, part: str, extra: str = "") -> str:
    """COPY options writing load partitions; file names start with `part`."""
    if ctx.fmt == "parquet":
        base, returned = PARQUET, "return_stats true"
    else:
        base, returned = "format csv, header true", "return_files true"
    return (
        f"{base}{extra}, partition_by (load_date), filename_pattern 'part-{part}-{{i}}', "
        f"overwrite_or_ignore true, {returned}"
    )


def _csv_rows(path: Path) -> int:
    """Rows of a CSV file the generator wrote: lines less the header (no value holds a
    line break)."""
    lines = 0
    with path.open("rb") as handle:
        while block := handle.read(1 << 24):
            lines += block.count(b"\n")
    return lines - 1


def record_stats(ctx: RunContext, table: str, returned: list[tuple]) -> int:
    """Book the files a partitioned COPY wrote (parquet: its RETURN_STATS rows, one per
    file; csv: its RETURN_FILES row); return the rows written."""
    if ctx.fmt == "parquet":
        written = [(row[0], int(row[1])) for row in returned]
    else:
        written = [(name, _csv_rows(Path(name))) for name in returned[0][1]]
    total = 0
    for filename, count in written:
        path = Path(filename)
        ctx.files[table].append(str(path.relative_to(ctx.out)))
        load_date = PARTITION.fullmatch(path.parent.name).group(1)
        ctx.load_rows[load_date][table] += count
        total += count
    return total


def load_dates(ctx: RunContext) -> list[date]:
    """Every load date of the window, the first one holding the history."""
    return [ctx.w0.date() + timedelta(days=k) for k in range(ctx.p.days)]


def event_lags(ctx: RunContext) -> dict[str, dict[str, int]]:
    """Per load after the first: events whose event date lies 1-3 days before the load
    date (late, within the lookback) and more than 3 days before it (beyond it).

    Counted from the written files, as a reader would: load date from the folder, event
    time as written (CSV offsets read as the same instant).
    """
    if ctx.fmt == "parquet":
        reader = (
            f"read_parquet({sql_string(ctx.out / 'events/*/*.parquet')}, hive_partitioning = true)"
        )
        event_at = "event_at"
    else:
        reader = (
            f"read_csv({sql_string(ctx.out / 'events/*/*.csv')}, header = true, "
            "all_varchar = true, "
            "hive_partitioning = true)"
        )
        event_at = "event_at::timestamptz"
    rows = ctx.con.execute(f"""
        select
            load_date::varchar,
            count(*) filter (where lag between 1 and {LOOKBACK_DAYS}),
            count(*) filter (where lag > {LOOKBACK_DAYS})
        from (
            select load_date::date as load_date,
                load_date::date - ({event_at})::date as lag
            from {reader}
        )
        where load_date > date '{ctx.w0.date().isoformat()}'
        group by 1 order by 1
    """).fetchall()
    lags: dict[str, dict[str, int]] = defaultdict(dict)
    for day, within, beyond in rows:
        lags[day] = {"within_lookback": int(within), "beyond_lookback": int(beyond)}
    return dict(lags)
