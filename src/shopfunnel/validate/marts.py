"""What the built warehouse holds: the marts, their columns, the rows each figure averages."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from shopfunnel.sqltext import sql_identifier
from shopfunnel.validate.settings import FIGURES, MARTS_SCHEMA


@dataclass
class MartTable:
    name: str
    columns: list[str]
    #: figure -> rows it is measured over (0: nothing to measure, e.g. no paid order yet)
    figure_rows: dict[str, int] = field(default_factory=dict)


def mart_tables(database: Path) -> list[MartTable]:
    """Every table of schema marts, from the built file (opened read-only)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        columns: dict[str, list[str]] = {}
        for name, column in con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = ? order by table_name, ordinal_position",
            [MARTS_SCHEMA],
        ).fetchall():
            columns.setdefault(name, []).append(column)
        marts = [MartTable(name, names) for name, names in sorted(columns.items())]
        for mart in marts:
            for figure in FIGURES:
                column, value = figure.where
                if figure.mart != mart.name or column not in mart.columns:
                    continue
                mart.figure_rows[figure.name] = int(
                    con.execute(
                        f"select count(*) from {MARTS_SCHEMA}.{sql_identifier(mart.name)} "
                        f"where {sql_identifier(column)} = ?",
                        [value],
                    ).fetchall()[0][0]
                )
    finally:
        con.close()
    return marts
