"""Row counts of the marts at the previous passing run, for the volume-change check.

Stored as JSON next to the DuckDB file (``<db>.validation_state.json``), so each warehouse
file has its own history and the database itself stays read-only. The file is rewritten only
when every mart check passed: a failing run never becomes the baseline of the next one. The
first run (no file) makes no comparison.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATE_SUFFIX = ".validation_state.json"
STATE_VERSION = 1


def state_path(database: Path) -> Path:
    """``data/shopfunnel.duckdb`` -> ``data/shopfunnel.duckdb.validation_state.json``."""
    return database.with_name(database.name + STATE_SUFFIX)


def read_row_counts(path: Path) -> dict[str, int]:
    """Table -> rows at the previous passing run; empty on the first run."""
    if not path.exists():
        return {}
    try:
        document: dict[str, Any] = json.loads(path.read_text())
        return {str(table): int(rows) for table, rows in document["row_counts"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"cannot read the previous run's row counts from {path}: {exc}; "
            "delete the file (or pass --reset-volume-state) to start a new baseline"
        ) from exc


def write_row_counts(path: Path, database: Path, row_counts: dict[str, int]) -> None:
    """Store this run's row counts as the baseline of the next run."""
    document = {
        "version": STATE_VERSION,
        "database": str(database),
        "validated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "row_counts": dict(sorted(row_counts.items())),
    }
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n")
    temporary.replace(path)
