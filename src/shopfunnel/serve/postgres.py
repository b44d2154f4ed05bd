"""Copy a published version of the marts into PostgreSQL, for BI tools that need a server.

    python -m shopfunnel publish --to postgres --dsn postgresql://loader@127.0.0.1/shop

Reads a serving file (the served one, or an archived version) read-only and copies every
relation of its ``marts`` schema and the publication log (``meta.published_versions``,
``meta.published_mart_rows``) into the same schemas in PostgreSQL, **in one transaction**.

Why rows are replaced in place (DELETE + COPY in that transaction) rather than loading a new
schema and renaming it over the old one: PostgreSQL's MVCC covers rows, not catalog changes.
After a schema swap, a reader whose snapshot predates the swap resolves the new tables and
sees them empty (their rows were written after its snapshot), and a reader holding a lock on
one old table can deadlock with the swap. Replacing rows keeps every table's identity: a
reader sees all of the old version or all of the new one, in any single statement and in a
REPEATABLE READ transaction, and never waits. A mart whose columns changed is dropped and
created again in the same transaction (readers of that one table wait for the commit).

The role ``bi_reader`` (``--reader-role``) is created when missing (NOLOGIN: grant it to the
BI tool's login role, or give it a password yourself) and can read the ``marts`` schema and
the publication log, and nothing else: no staging, no intermediate, no seeds. Its sessions
default to read-only transactions.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from shopfunnel.serve.meta import META_SCHEMA
from shopfunnel.serve.store import ServeError, attach_read_only

MARTS_SCHEMA = "marts"
BATCH_ROWS = 10_000
ATTEMPTS = 3
# advisory lock key: one publisher at a time per PostgreSQL database
PUBLISH_LOCK = 0x73686F70  # "shop"

_SCALAR_TYPES = {
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "UTINYINT": "smallint",
    "INTEGER": "integer",
    "USMALLINT": "integer",
    "BIGINT": "bigint",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric(20, 0)",
    "HUGEINT": "numeric(39, 0)",
    "UHUGEINT": "numeric(39, 0)",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "VARCHAR": "text",
    "UUID": "uuid",
    "BLOB": "bytea",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP_S": "timestamp",
    "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_NS": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "INTERVAL": "interval",
    "JSON": "jsonb",
}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


def postgres_type(duckdb_type: str) -> str:
    """The PostgreSQL column type for a DuckDB type; ServeError for a type with no match."""
    text = duckdb_type.upper().strip()
    if text in _SCALAR_TYPES:
        return _SCALAR_TYPES[text]
    decimal = _DECIMAL.match(text)
    if decimal:
        return f"numeric({decimal.group(1)}, {decimal.group(2)})"
    if text.endswith("[]") and text[:-2] in _SCALAR_TYPES:
        return _SCALAR_TYPES[text[:-2]] + "[]"
    if text.startswith(("STRUCT", "MAP")) or (text.endswith("[]")):
        return "jsonb"
    raise ServeError(f"no PostgreSQL type for DuckDB type {duckdb_type}")


@dataclass(frozen=True)
class Column:
    name: str
    duckdb_type: str
    postgres_type: str
    comment: str | None


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str
    columns: tuple[Column, ...]
    comment: str | None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class PostgresResult:
    version_id: str | None
    relations: dict[str, int]
    seconds: float
    message: str


def read_relations(con: duckdb.DuckDBPyConnection, alias: str) -> list[Relation]:
    """Every table of the marts and meta schemas of the attached serving file."""
    tables = con.execute(
        "select schema_name, table_name, comment from duckdb_tables() "
        "where database_name = ? and schema_name in (?, ?) order by schema_name, table_name",
        [alias, MARTS_SCHEMA, META_SCHEMA],
    ).fetchall()
    relations = []
    for schema, table, comment in tables:
        columns = tuple(
            Column(name, data_type, postgres_type(data_type), column_comment)
            for name, data_type, column_comment in con.execute(
                "select column_name, data_type, comment from duckdb_columns() "
                "where database_name = ? and schema_name = ? and table_name = ? "
                "order by column_index",
                [alias, schema, table],
            ).fetchall()
        )
        relations.append(Relation(schema, table, columns, comment))
    if not any(relation.schema == MARTS_SCHEMA for relation in relations):
        raise ServeError("the serving file has no marts: publish a build first")
    return relations


def _converter(column: Column) -> Callable[[Any], Any] | None:
    if column.postgres_type == "jsonb":
        from psycopg.types.json import Jsonb

        def to_json(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, str) and column.duckdb_type.upper() == "JSON":
                return Jsonb(json.loads(value))
            return Jsonb(value)

        return to_json
    return None


def _rows(
    con: duckdb.DuckDBPyConnection, alias: str, relation: Relation
) -> Iterator[tuple[Any, ...]]:
    names = ", ".join(f'"{column.name}"' for column in relation.columns)
    cursor = con.execute(f'select {names} from "{alias}".{relation.schema}."{relation.name}"')
    converters = [_converter(column) for column in relation.columns]
    needs_conversion = any(converters)
    while True:
        batch = cursor.fetchmany(BATCH_ROWS)
        if not batch:
            return
        for row in batch:
            if needs_conversion:
                row = tuple(
                    convert(value) if convert else value
                    for convert, value in zip(converters, row, strict=True)
                )
            yield row


def _existing_columns(cursor: Any, relation: Relation) -> list[tuple[str, str]] | None:
    cursor.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) "
        "from pg_attribute a join pg_class c on c.oid = a.attrelid "
        "join pg_namespace n on n.oid = c.relnamespace "
        "where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped "
        "order by a.attnum",
        [relation.schema, relation.name],
    )
    found = cursor.fetchall()
    return [(str(name), str(kind)) for name, kind in found] if found else None


def _normalised(kind: str) -> str:
    return (
        kind.replace("timestamp without time zone", "timestamp")
        .replace("timestamp with time zone", "timestamptz")
        .replace("character varying", "text")
        .replace(", ", ",")
    )


def _load(cursor: Any, con: duckdb.DuckDBPyConnection, alias: str, relation: Relation) -> int:
    from psycopg import sql

    table = sql.Identifier(relation.schema, relation.name)
    wanted = [(column.name, column.postgres_type) for column in relation.columns]
    existing = _existing_columns(cursor, relation)
    same = existing is not None and [(n, _normalised(k)) for n, k in existing] == [
        (n, _normalised(k)) for n, k in wanted
    ]
    if same:
        cursor.execute(sql.SQL("delete from {}").format(table))
    else:
        if existing is not None:
            cursor.execute(sql.SQL("drop table {}").format(table))
        cursor.execute(
            sql.SQL("create table {} ({})").format(
                table,
                sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
                    for name, kind in wanted
                ),
            )
        )
    columns = sql.SQL(", ").join(sql.Identifier(column.name) for column in relation.columns)
    count = 0
    with cursor.copy(sql.SQL("copy {} ({}) from stdin").format(table, columns)) as copy:
        for row in _rows(con, alias, relation):
            copy.write_row(row)
            count += 1
    cursor.execute(
        sql.SQL("comment on table {} is {}").format(table, sql.Literal(relation.comment or None))
    )
    for column in relation.columns:
        cursor.execute(
            sql.SQL("comment on column {}.{} is {}").format(
                table, sql.Identifier(column.name), sql.Literal(column.comment or None)
            )
        )
    return count


def _ensure_role(cursor: Any, role: str) -> None:
    from psycopg import sql

    cursor.execute("select 1 from pg_roles where rolname = %s", [role])
    if cursor.fetchone() is None:
        identifier = sql.Identifier(role)
        cursor.execute(sql.SQL("create role {} nologin").format(identifier))
        cursor.execute(
            sql.SQL("alter role {} set default_transaction_read_only = on").format(identifier)
        )


def _grant(cursor: Any, role: str, schemas: Iterable[str]) -> None:
    from psycopg import sql

    for schema in schemas:
        name = sql.Identifier(schema)
        cursor.execute(sql.SQL("revoke all on schema {} from public").format(name))
        cursor.execute(sql.SQL("grant usage on schema {} to {}").format(name, sql.Identifier(role)))
        cursor.execute(sql.SQL("revoke all on all tables in schema {} from public").format(name))
        cursor.execute(
            sql.SQL("grant select on all tables in schema {} to {}").format(
                name, sql.Identifier(role)
            )
        )


def _transaction(
    dsn: str, con: duckdb.DuckDBPyConnection, alias: str, relations: list[Relation], role: str
) -> dict[str, int]:
    import psycopg
    from psycopg import sql

    with psycopg.connect(dsn, autocommit=False) as connection, connection.cursor() as cursor:
        cursor.execute("set local lock_timeout = '60s'")
        cursor.execute("select pg_advisory_xact_lock(%s)", [PUBLISH_LOCK])
        _ensure_role(cursor, role)
        schemas = sorted({relation.schema for relation in relations})
        for schema in schemas:
            cursor.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        counts = {relation.qualified: _load(cursor, con, alias, relation) for relation in relations}
        # marts that no longer exist in the published version
        wanted = {(relation.schema, relation.name) for relation in relations}
        cursor.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema = any(%s) and table_type = 'BASE TABLE'",
            [schemas],
        )
        for schema, name in cursor.fetchall():
            if (schema, name) not in wanted:
                cursor.execute(sql.SQL("drop table {}").format(sql.Identifier(schema, name)))
        _grant(cursor, role, schemas)
        connection.commit()
    return counts


def publish_to_postgres(
    source: Path,
    dsn: str,
    *,
    reader_role: str = "bi_reader",
    log: Callable[[str], None] = lambda message: print(f"publish: {message}", flush=True),
) -> PostgresResult:
    """Copy the marts and the publication log of `source` into PostgreSQL, in one transaction."""
    import psycopg

    started = time.monotonic()
    with attach_read_only(source, "published") as con:
        relations = read_relations(con, "published")
        rows = con.execute(
            f"select version_id from published.{META_SCHEMA}.published_versions where is_current"
        ).fetchall()
        version_id = str(rows[0][0]) if rows else None
        for attempt in range(1, ATTEMPTS + 1):
            try:
                counts = _transaction(dsn, con, "published", relations, reader_role)
                break
            except (psycopg.errors.DeadlockDetected, psycopg.errors.LockNotAvailable) as exc:
                if attempt == ATTEMPTS:
                    raise ServeError(
                        f"PostgreSQL publish gave up after {attempt} tries: {exc}"
                    ) from exc
                log(f"PostgreSQL: {type(exc).__name__}, trying again ({attempt}/{ATTEMPTS})")
            except psycopg.Error as exc:
                raise ServeError(
                    f"PostgreSQL publish failed, nothing changed there: {exc}"
                ) from exc
    marts = sum(1 for relation in relations if relation.schema == MARTS_SCHEMA)
    message = (
        f"version {version_id} copied to PostgreSQL: {marts} marts, "
        f"{sum(counts.values()):,} rows, one transaction, readable by role {reader_role} "
        f"({time.monotonic() - started:.1f}s)"
    )
    log(message)
    return PostgresResult(version_id, counts, time.monotonic() - started, message)
