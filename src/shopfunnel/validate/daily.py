"""Daily mode (``--new-only``): which raw files earlier runs already processed.

The daily pipeline records every raw file a successful run processed in the build
warehouse, table ``ops.processed_raw_files`` (``table_name``, ``file_path``, ``load_date``,
``run_id``, ``processed_at``). The raw gate then validates only the files not in it, and
compares the size of the new load with the loads of the previous runs. When the warehouse
or the table does not exist yet, every file is new.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

PROCESSED_TABLE = "ops.processed_raw_files"


@dataclass
class ProcessedFiles:
    """Per raw table: the files already processed, and the files of each previous run."""

    #: table -> normalised absolute paths
    files: dict[str, set[str]] = field(default_factory=dict)
    #: table -> the runs that processed files of that table, oldest first:
    #: (run_id, [file paths])
    runs: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    #: why nothing was read (no warehouse or no table), else empty
    note: str = ""


def normalise(path: str, base: Path) -> str:
    """An absolute, normalised path; a relative one is taken from ``base`` (dbt's folder)."""
    return os.path.normpath(path if os.path.isabs(path) else os.path.join(base, path))


def read_processed(database: Path, project_dir: Path) -> ProcessedFiles:
    """What ``ops.processed_raw_files`` of ``database`` holds (opened read-only)."""
    if not database.is_file():
        return ProcessedFiles(note=f"{database} does not exist: every raw file is new")
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as exc:
        raise OSError(f"cannot open {database} read-only: {exc}") from exc
    try:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'ops' and table_name = 'processed_raw_files'"
        ).fetchall()[0][0]
        if not exists:
            return ProcessedFiles(
                note=f"{database} has no {PROCESSED_TABLE} yet: every raw file is new"
            )
        rows = con.execute(
            f"""
            select table_name, file_path, cast(run_id as varchar) as run_id,
                max(processed_at) over (partition by run_id) as run_at
            from {PROCESSED_TABLE}
            order by run_at, run_id, file_path
            """
        ).fetchall()
    finally:
        con.close()
    processed = ProcessedFiles()
    for table, file_path, run_id, _ in rows:
        path = normalise(str(file_path), project_dir)
        processed.files.setdefault(table, set()).add(path)
        runs = processed.runs.setdefault(table, [])
        if not runs or runs[-1][0] != run_id:
            runs.append((run_id, []))
        runs[-1][1].append(path)
    return processed
