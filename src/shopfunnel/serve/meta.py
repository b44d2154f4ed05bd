"""The publication log that every serving file carries, for BI users to see.

``meta.published_versions``: one row per publication (a publish or a rollback), oldest
first; ``is_current`` marks the row whose marts this file holds. ``meta.published_mart_rows``:
the row count of every mart of every version in the log. The publisher reads the log from
the file being served and writes it, one row longer, into the next one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

import duckdb

META_SCHEMA = "meta"
VERSIONS_TABLE = "published_versions"
MART_ROWS_TABLE = "published_mart_rows"

_VERSIONS_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("publication_number", "integer not null primary key", "Order of the publication (1 = first)."),
    (
        "version_id",
        "varchar not null",
        "Version served by this publication (UTC time it was "
        "first published, e.g. 20260401T061502Z).",
    ),
    (
        "action",
        "varchar not null",
        "publish (a new version) or rollback (an older version served again).",
    ),
    ("published_at", "timestamp not null", "When this publication replaced the served file (UTC)."),
    ("git_sha", "varchar", "Git commit of the dbt project that built the version."),
    ("is_git_dirty", "boolean", "The project had uncommitted changes when the version was built."),
    ("gate_result", "varchar not null", "Result of the marts gate on the build (passed)."),
    ("gate_summary", "varchar", "The gate's own summary line."),
    ("build_file", "varchar", "Name of the build warehouse file the marts were copied from."),
    ("mart_count", "integer not null", "Relations of the marts schema in the version."),
    ("total_row_count", "bigint not null", "Rows over all marts of the version."),
    ("is_current", "boolean not null", "This row describes the marts of this file."),
)
_MART_ROWS_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("version_id", "varchar not null", "Published version."),
    ("mart_name", "varchar not null", "Relation of the marts schema."),
    ("row_count", "bigint not null", "Rows of the mart in that version."),
)


@dataclass(frozen=True)
class Publication:
    """One row of ``meta.published_versions``."""

    publication_number: int
    version_id: str
    action: str
    published_at: datetime
    git_sha: str
    is_git_dirty: bool
    gate_result: str
    gate_summary: str
    build_file: str
    mart_count: int
    total_row_count: int


@dataclass
class PublicationLog:
    """The whole log: publications oldest first, and row counts per version and mart."""

    publications: list[Publication] = field(default_factory=list)
    mart_rows: dict[str, dict[str, int]] = field(default_factory=dict)
    current_version: str | None = None

    @property
    def version_ids(self) -> set[str]:
        return {publication.version_id for publication in self.publications}

    def current(self) -> Publication | None:
        return self.publications[-1] if self.publications else None

    def first_publication(self, version_id: str) -> Publication | None:
        for publication in self.publications:
            if publication.version_id == version_id and publication.action == "publish":
                return publication
        return None

    def published_order(self) -> list[str]:
        """Version ids in the order they were first published."""
        return [p.version_id for p in self.publications if p.action == "publish"]

    def appended(
        self, publication: Publication, mart_rows: dict[str, int] | None = None
    ) -> PublicationLog:
        rows = dict(self.mart_rows)
        if mart_rows is not None:
            rows[publication.version_id] = dict(mart_rows)
        numbered = replace(publication, publication_number=len(self.publications) + 1)
        return PublicationLog([*self.publications, numbered], rows, publication.version_id)


def _has_log(con: duckdb.DuckDBPyConnection, alias: str) -> bool:
    rows = con.execute(
        "select count(*) from duckdb_tables() where database_name = ? and schema_name = ? "
        "and table_name in (?, ?)",
        [alias, META_SCHEMA, VERSIONS_TABLE, MART_ROWS_TABLE],
    ).fetchall()
    return bool(rows) and rows[0][0] == 2


def read_log(con: duckdb.DuckDBPyConnection, alias: str) -> PublicationLog:
    """The log of the attached database `alias` (empty when it has none)."""
    if not _has_log(con, alias):
        return PublicationLog()
    names = [name for name, _, _ in _VERSIONS_COLUMNS if name != "is_current"]
    schema = f"{_quoted(alias)}.{META_SCHEMA}"
    rows = con.execute(
        f"select {', '.join(names)}, is_current from {schema}.{VERSIONS_TABLE} "
        "order by publication_number"
    ).fetchall()
    publications = [Publication(*row[:-1]) for row in rows]
    current = next((row[1] for row in rows if row[-1]), None)
    mart_rows: dict[str, dict[str, int]] = {}
    for version_id, mart, count in con.execute(
        f"select version_id, mart_name, row_count from {schema}.{MART_ROWS_TABLE} "
        "order by version_id, mart_name"
    ).fetchall():
        mart_rows.setdefault(version_id, {})[mart] = int(count)
    return PublicationLog(publications, mart_rows, current)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _comment(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def write_log(con: duckdb.DuckDBPyConnection, alias: str, log: PublicationLog) -> None:
    """(Re)create the log tables in `alias` from `log`; the last publication is current."""
    database = _quoted(alias)
    con.execute(f"create schema if not exists {database}.{META_SCHEMA}")
    for table, columns, description in (
        (
            VERSIONS_TABLE,
            _VERSIONS_COLUMNS,
            "Publication log of the serving file: every publish and rollback; is_current "
            "marks the version whose marts this file holds.",
        ),
        (
            MART_ROWS_TABLE,
            _MART_ROWS_COLUMNS,
            "Row count of every mart in every published version.",
        ),
    ):
        qualified = f"{database}.{META_SCHEMA}.{table}"
        con.execute(f"drop table if exists {qualified}")
        body = ", ".join(f"{name} {kind}" for name, kind, _ in columns)
        if table == MART_ROWS_TABLE:
            body += ", primary key (version_id, mart_name)"
        con.execute(f"create table {qualified} ({body})")
        con.execute(f"comment on table {qualified} is {_comment(description)}")
        for name, _, text in columns:
            con.execute(f"comment on column {qualified}.{name} is {_comment(text)}")
    last = len(log.publications)
    con.executemany(
        f"insert into {database}.{META_SCHEMA}.{VERSIONS_TABLE} values "
        f"({', '.join('?' for _ in _VERSIONS_COLUMNS)})",
        [
            [
                publication.publication_number,
                publication.version_id,
                publication.action,
                publication.published_at,
                publication.git_sha,
                publication.is_git_dirty,
                publication.gate_result,
                publication.gate_summary,
                publication.build_file,
                publication.mart_count,
                publication.total_row_count,
                index == last,
            ]
            for index, publication in enumerate(log.publications, start=1)
        ],
    )
    con.executemany(
        f"insert into {database}.{META_SCHEMA}.{MART_ROWS_TABLE} values (?, ?, ?)",
        [
            [version_id, mart, count]
            for version_id, counts in sorted(log.mart_rows.items())
            for mart, count in sorted(counts.items())
        ],
    )
