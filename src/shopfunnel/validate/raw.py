"""The raw files as the build reads them: one DuckDB view per raw table, in a scratch file.

Each view selects from the table's dbt reader (:mod:`shopfunnel.validate.contract`), the
contract's columns under their contract names: a column sent in another case
(``Event_At``) is matched case-insensitively, as DuckDB and dbt do, so its checks run. In
daily mode (``--new-only``) the view keeps only the rows of files not processed yet.
A table whose reader finds no file is "not provided" (a warning: events-only and
orders-only shops are legitimate).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from shopfunnel.sqltext import sql_identifier, sql_string
from shopfunnel.validate.contract import RawContract, RawTable
from shopfunnel.validate.daily import ProcessedFiles, normalise

#: Column of the reader naming the file a row came from (``filename = true``).
FILE_COLUMN = "filename"
#: Name of that column in the views (kept apart from any contract column).
VIEW_FILE_COLUMN = "__source_file"
_NO_FILES = "No files found that match the pattern"


@dataclass
class RawTableView:
    """One raw table as the gate sees it."""

    table: RawTable
    #: contract column -> its name in the files (another case is allowed)
    found: dict[str, str]
    rows: int
    #: row counts of the previous daily loads of this table (``--new-only``), oldest first
    previous_loads: list[int] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def missing_required(self) -> list[str]:
        return [c.name for c in self.table.columns if c.required and c.name not in self.found]


@dataclass
class RawViews:
    database: Path
    views: list[RawTableView] = field(default_factory=list)
    #: table -> why it is not provided
    not_provided: dict[str, str] = field(default_factory=dict)
    #: table -> the reader's error
    unreadable: dict[str, str] = field(default_factory=dict)


def match_columns(table: RawTable, present: list[str]) -> dict[str, str]:
    """Contract column -> column of the files: the same name, else the same name in any case."""
    exact = set(present)
    folded: dict[str, str] = {}
    for name in present:
        folded.setdefault(name.casefold(), name)
    found = {}
    for column in table.columns:
        if column.name in exact:
            found[column.name] = column.name
        elif column.name.casefold() in folded:
            found[column.name] = folded[column.name.casefold()]
    return found


def prepare_views(
    contract: RawContract,
    scratch: Path,
    processed: ProcessedFiles | None,
    project_dir: Path,
    history_runs: int,
) -> RawViews:
    """Create ``raw.<table>`` views over the readers in a scratch DuckDB file."""
    result = RawViews(scratch / "raw_views.duckdb")
    con = duckdb.connect(str(result.database))
    try:
        con.execute("create schema raw")
        for table in contract.tables:
            try:
                present = [
                    row[0]
                    for row in con.execute(f"describe select * from {table.reader}").fetchall()
                ]
            except duckdb.IOException as exc:
                if _NO_FILES not in str(exc):
                    raise
                result.not_provided[table.name] = f"no file matches {table.reader}"
                continue
            except duckdb.Error as exc:
                result.unreadable[table.name] = str(exc).splitlines()[0]
                continue
            found = match_columns(table, present)
            view = _create_view(con, table, found, present, processed)
            try:
                rows = _read_all(con, view, found)
            except duckdb.Error as exc:
                result.unreadable[table.name] = str(exc).splitlines()[0]
                continue
            previous: list[int] = []
            if processed is not None and FILE_COLUMN in present:
                runs = processed.runs.get(table.name, [])[-history_runs:]
                previous = _load_sizes(con, table, runs, project_dir)
            result.views.append(RawTableView(table, found, rows, previous))
    finally:
        con.close()
    return result


def _create_view(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    found: dict[str, str],
    present: list[str],
    processed: ProcessedFiles | None,
) -> str:
    view = f"raw.{sql_identifier(table.name)}"
    columns = [
        f"{sql_identifier(actual)} as {sql_identifier(name)}" for name, actual in found.items()
    ]
    where = ""
    if FILE_COLUMN in present:
        columns.append(f"{FILE_COLUMN} as {VIEW_FILE_COLUMN}")
        done = sorted(processed.files.get(table.name, set()) if processed else set())
        if done:
            where = f"where {FILE_COLUMN} not in ({', '.join(sql_string(path) for path in done)})"
    elif processed is None:
        columns.append(f"cast(null as varchar) as {VIEW_FILE_COLUMN}")
    else:
        raise ValueError(
            f"the reader of raw table {table.name} has no {FILE_COLUMN} column "
            "(filename = true), so --new-only cannot tell new files from processed ones"
        )
    con.execute(f"create view {view} as select {', '.join(columns)} from {table.reader} {where}")
    return view


def _read_all(con: duckdb.DuckDBPyConnection, view: str, found: dict[str, str]) -> int:
    """Rows of the view, reading every contract column once: a file the reader cannot
    read (a column whose type changes between files) fails here, as it fails the build."""
    counts = ", ".join(f"count({sql_identifier(name)})" for name in found)
    return int(con.execute(f"select count(*), {counts or 0} from {view}").fetchall()[0][0])


def _load_sizes(
    con: duckdb.DuckDBPyConnection,
    table: RawTable,
    runs: list[tuple[str, list[str]]],
    project_dir: Path,
) -> list[int]:
    """Rows of each previous run's files that still exist, oldest run first."""
    files = sorted({path for _, paths in runs for path in paths})
    if not files:
        return []
    counts = {
        normalise(str(path), project_dir): int(rows)
        for path, rows in con.execute(
            f"select {FILE_COLUMN}, count(*) from {table.reader} "
            f"where {FILE_COLUMN} in ({', '.join(sql_string(path) for path in files)}) "
            "group by all"
        ).fetchall()
    }
    sizes = []
    for _, paths in runs:
        if any(path in counts for path in paths):
            sizes.append(sum(counts.get(path, 0) for path in paths))
    return sizes
