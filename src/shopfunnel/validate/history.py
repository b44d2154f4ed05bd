"""What the marts measured at previous passing runs: row counts and key figures.

Stored as JSON next to the DuckDB file (``<db>.validation_state.json``), so each warehouse
file has its own history and the database itself stays read-only. A run is appended only
when every mart check passed: a failing run never becomes part of the baseline. The first
run (no file) makes no comparison. The file keeps the last :data:`KEPT_RUNS` runs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATE_SUFFIX = ".validation_state.json"
STATE_VERSION = 2
KEPT_RUNS = 30


def state_path(database: Path) -> Path:
    """``data/shopfunnel.duckdb`` -> ``data/shopfunnel.duckdb.validation_state.json``."""
    return database.with_name(database.name + STATE_SUFFIX)


def read_runs(path: Path) -> list[dict[str, Any]]:
    """The previous passing runs, oldest first: ``{"validated_at": ..., "measures": {...}}``."""
    if not path.exists():
        return []
    try:
        document: dict[str, Any] = json.loads(path.read_text())
        if "row_counts" in document:  # version 1: the row counts of the last run only
            measures = {f"{table}:rows": rows for table, rows in document["row_counts"].items()}
            return [{"validated_at": document.get("validated_at"), "measures": measures}]
        runs = list(document["runs"])
        for run in runs:
            run["measures"] = {str(k): float(v) for k, v in dict(run["measures"]).items()}
        return runs
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"cannot read the previous runs from {path}: {exc}; "
            "delete the file (or pass --reset-history) to start a new baseline"
        ) from exc


def measure_history(runs: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Measure -> its values at the previous passing runs, oldest first."""
    history: dict[str, list[float]] = {}
    for run in runs:
        for measure, value in run["measures"].items():
            history.setdefault(measure, []).append(float(value))
    return history


def append_run(
    path: Path, database: Path, runs: list[dict[str, Any]], measures: dict[str, float]
) -> None:
    """Add this run's measures to the history (keeping the last ``KEPT_RUNS``)."""
    run = {
        "validated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "measures": dict(sorted(measures.items())),
    }
    document = {
        "version": STATE_VERSION,
        "database": str(database),
        "runs": [*runs, run][-KEPT_RUNS:],
    }
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n")
    temporary.replace(path)
