"""Deliver a daily-layout data set load by load: copy the load partitions up to a date
into a raw folder, as a shop's daily export would arrive.

    python -m shopfunnel generate deliver --from data/daily --to data/raw --through 2026-01-30

Only whole load partitions are copied (``<table>/load_date=YYYY-MM-DD/``); a partition
already delivered with the same files is left alone. Delivery only moves forward: a raw
folder that already holds a load after the date is refused.
"""

from __future__ import annotations

import filecmp
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from shopfunnel.generate.loads import PARTITION
from shopfunnel.generate.sqlkit import TABLES


@dataclass
class Delivery:
    """What one call delivered: the partitions copied and those already there."""

    copied: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def load_partitions(root: Path, table: str) -> dict[date, Path]:
    """The load partitions of one table, by load date (none when the table is missing)."""
    folder = root / table
    if not folder.is_dir():
        return {}
    found = {}
    for path in folder.iterdir():
        match = PARTITION.fullmatch(path.name)
        if path.is_dir() and match:
            found[date.fromisoformat(match.group(1))] = path
    return found


def _same_files(a: Path, b: Path) -> bool:
    names_a = sorted(path.name for path in a.iterdir())
    names_b = sorted(path.name for path in b.iterdir())
    if names_a != names_b:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, names_a, shallow=False)
    return not mismatch and not errors


def deliver(source: Path, target: Path, through: date) -> Delivery:
    """Make `target` hold every load partition of `source` dated on or before `through`."""
    if not source.is_dir():
        raise ValueError(f"--from {source} is not a folder")
    partitions = {table: load_partitions(source, table) for table in TABLES}
    if not any(partitions.values()):
        raise ValueError(
            f"--from {source} holds no load partitions (<table>/load_date=YYYY-MM-DD/): "
            "generate it with --layout daily"
        )
    for table in TABLES:
        later = sorted(day for day in load_partitions(target, table) if day > through)
        if later:
            raise ValueError(
                f"--to {target}/{table} already holds load {later[0].isoformat()}, after "
                f"--through {through.isoformat()}: delivery only moves forward"
            )
    result = Delivery()
    for table in TABLES:
        for day, folder in sorted(partitions[table].items()):
            if day > through:
                continue
            destination = target / table / folder.name
            name = f"{table}/{folder.name}"
            if destination.is_dir() and _same_files(folder, destination):
                result.unchanged.append(name)
                continue
            if destination.exists():
                shutil.rmtree(destination)
            destination.parent.mkdir(parents=True, exist_ok=True)
            # copy aside, then rename: a reader never sees half a partition
            staging = target / ".partial" / table / folder.name
            shutil.rmtree(staging, ignore_errors=True)
            shutil.copytree(folder, staging)
            staging.rename(destination)
            result.copied.append(name)
    shutil.rmtree(target / ".partial", ignore_errors=True)
    return result
