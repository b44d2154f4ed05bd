"""What every step of one generator run shares: connection, parameters, clock, tallies."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from shopfunnel.generate.params import Params
from shopfunnel.generate.sqlkit import PARQUET, TABLES, Progress, install_macros


@dataclass
class RunContext:
    """One run's state. Steps read the parameters and the clock, build DuckDB tables on
    `con`, and record the files they write and the dirt they add."""

    p: Params
    out: Path
    fmt: str
    layout: str
    chunk_events: int
    progress: Progress
    memory_limit: str = "1GB"
    con: duckdb.DuckDBPyConnection = field(init=False)
    # the history starts at h0, the window runs [w0, w1), the flat exports happen at export_at
    h0: datetime = field(init=False)
    w0: datetime = field(init=False)
    w1: datetime = field(init=False)
    export_at: datetime = field(init=False)
    files: dict[str, list[str]] = field(init=False)
    dirt: dict[str, int] = field(default_factory=dict)
    # daily layout: rows per load date and table; planted cases by load date
    load_rows: defaultdict[str, defaultdict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    redelivered_events: defaultdict[str, defaultdict[str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    planted: dict = field(default_factory=dict)
    realized_guest_orders: int = 0
    n_offline: int = 0
    # rows the marketing actions added (actions.py): counts that size other parts of the
    # shop (offline members, guest orders, order dirt) leave them out, so that the actions
    # change nothing before the action date
    action_signups: int = 0
    action_orders: int = 0

    def __post_init__(self) -> None:
        p = self.p
        self.con = duckdb.connect()
        self.con.execute("set threads = 2")
        # DuckDB's buffers (tables, sorts, COPY) stay under the limit by spilling to the
        # scratch folder: memory stays flat whatever the size of the data set
        self.con.execute(f"set memory_limit = '{self.memory_limit}'")
        self.con.execute("set TimeZone = 'UTC'")
        # row order carries no meaning (ids and randomness come from keys): let DuckDB
        # build and write in parallel
        self.con.execute("set preserve_insertion_order = false")
        self.con.execute("set enable_progress_bar = false")
        start = datetime(p.start_date.year, p.start_date.month, p.start_date.day, tzinfo=UTC)
        self.w0 = start
        self.w1 = start + timedelta(days=p.days)
        self.h0 = start - timedelta(days=p.history_days)
        self.export_at = self.w1 + timedelta(hours=2)
        self.files = {table: [] for table in TABLES}
        install_macros(self.con, int(p.seed), self.h0)

    @property
    def daily(self) -> bool:
        """Load-partitioned output: one load per day of the window (see loads.py)."""
        return self.layout == "daily"

    @property
    def first_load_end(self) -> datetime:
        """End of the first load day (the first day of the window)."""
        return self.w0 + timedelta(days=1)

    @property
    def action_start(self) -> datetime:
        """The end of the action date (UTC): the actions' effects start here."""
        day = self.p.action_date() + timedelta(days=1)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)

    @property
    def action_end(self) -> datetime:
        """The end of the conversion window after the action date (within the window)."""
        return min(self.action_start + timedelta(days=self.p.lift_window_days), self.w1)

    def sec(self, moment: datetime) -> float:
        """Seconds from the start of the history (the origin of the ts() macro)."""
        return (moment - self.h0).total_seconds()

    def count(self, table: str) -> int:
        return int(self.con.execute(f"select count(*) from {table}").fetchall()[0][0])

    @property
    def options(self) -> str:
        """COPY options of the output format."""
        if self.fmt == "parquet":
            return PARQUET
        return "format csv, header true"
