"""SQL text built from values: the one way this package writes a value into SQL.

Paths, comments and names come from users (a raw folder named ``shop's data``, a column
description with an apostrophe); they go into SQL only through these functions.
"""

from __future__ import annotations

from pathlib import Path


def sql_string(value: str | Path) -> str:
    """A SQL string literal of ``value`` (a quote doubled), quotes included."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """A double-quoted SQL identifier (a double quote doubled)."""
    return '"' + name.replace('"', '""') + '"'
