"""Make Great Expectations' SQL route work on DuckDB: a SQLAlchemy dialect of our own.

Why this module exists
----------------------
GX (1.24) talks to DuckDB through SQLAlchemy and duckdb-engine. Two things break on the way:

1. Rows fetched after the connection is closed. ``SqlAlchemyExecutionEngine.execute_query``
   runs a query inside ``with engine.connect() as connection:`` and returns the *unfetched*
   ``CursorResult``; GX calls ``.fetchall()`` on it after the ``with`` block. Closing the
   connection returns it to the pool, the pool rolls the connection back, and a DuckDB
   rollback drops the pending result. ``fetchall()`` then returns ``[]`` and every
   expectation errors with ``IndexError: list index out of range`` (GX reads ``res[0]``).
   This is an open upstream GX bug; no pin of duckdb, duckdb-engine or SQLAlchemy avoids it.

   Fix: the execution context below fetches every row of a row-returning statement right
   after it runs (SQLAlchemy's ``FullyBufferedCursorFetchStrategy``), while the connection is
   still open, so the result outlives the connection. GX's queries return aggregates or a
   handful of example rows (bounded by the result format), so buffering costs nothing; we
   never pull a mart into pandas.

2. Column reflection. duckdb-engine 0.17 reflects columns with SQLAlchemy 2.1's PostgreSQL
   catalogue query, which joins ``pg_catalog.pg_collation`` (absent from DuckDB). GX then
   falls back to ``SELECT * FROM <table> LIMIT 1`` *without the schema*, which fails for any
   table outside ``main``. Fix: ``get_columns`` and ``get_pk_constraint`` read DuckDB's own
   ``information_schema`` / ``duckdb_constraints()``.

How to use it
-------------
``register()`` adds the dialect to SQLAlchemy's registry under ``duckdb+shopfunnel``;
``connection_url(path, schema=...)`` builds its URL, which opens the file read-only
(``access_mode=read_only``) and makes ``schema`` the connection's default schema (GX 1.14+
deprecates per-asset ``schema_name`` in favour of the schema in the connection)::

    register()
    source = context.data_sources.add_sql(
        "marts", connection_string=connection_url(db_path, schema="marts")
    )
    source.add_table_asset("dim_persons", table_name="dim_persons")

Nothing is monkey-patched: plain ``duckdb:///`` URLs keep duckdb-engine's behaviour (the
tests in ``tests/python/test_gx_compat.py`` show that they still fail, so we notice when
upstream fixes the bug and this module can go). The dialect's ``name`` stays ``duckdb``, so
GX compiles the same SQL it would for duckdb-engine.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
from duckdb_engine import Dialect as DuckDBEngineDialect
from sqlalchemy import text
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.postgresql.psycopg2 import PGExecutionContext_psycopg2
from sqlalchemy.engine import URL, Connection
from sqlalchemy.engine.cursor import FullyBufferedCursorFetchStrategy
from sqlalchemy.exc import NoSuchTableError

from shopfunnel.sqltext import sql_string

#: ``duckdb+<DRIVER>:///path`` selects this dialect once ``register()`` has run.
DRIVER = "shopfunnel"
#: URL query parameter naming the schema unqualified table names resolve in.
SCHEMA_PARAMETER = "default_schema"

_TYPE_WITH_ARGUMENTS = re.compile(r"^\s*([A-Za-z_ ]+?)\s*\((.*)\)\s*$")


class BufferedDuckDBExecutionContext(PGExecutionContext_psycopg2):
    """Fetches all rows of a statement before the connection can be closed (fix 1)."""

    def post_exec(self) -> None:
        super().post_exec()
        description = self.cursor.description
        if description is not None:
            # the rows are read now, on the open connection; the CursorResult built next
            # serves them from memory
            self.cursor_fetch_strategy = FullyBufferedCursorFetchStrategy(
                self.cursor, alternate_description=description
            )


class BufferedDuckDBDialect(DuckDBEngineDialect):
    """duckdb-engine with buffered results and reflection from DuckDB's catalogue."""

    driver = DRIVER
    execution_ctx_cls = BufferedDuckDBExecutionContext
    supports_statement_cache = False

    def create_connect_args(self, url: URL) -> tuple[tuple, dict]:  # type: ignore[override]
        args, options = super().create_connect_args(url)
        schema = options["url_config"].pop(SCHEMA_PARAMETER, None)
        if schema:
            options[SCHEMA_PARAMETER] = schema
        return args, options

    def connect(self, *cargs: Any, **cparams: Any) -> Any:
        schema = cparams.pop(SCHEMA_PARAMETER, None)
        connection = super().connect(*cargs, **cparams)
        if schema:
            try:
                connection.execute("set schema = " + sql_string(schema))
            except duckdb.Error:
                connection.close()
                raise
        return connection

    def _reflected_type(self, data_type: str) -> sqltypes.TypeEngine:
        match = _TYPE_WITH_ARGUMENTS.match(data_type)
        base = (match.group(1) if match else data_type).strip().lower()
        if base in ("decimal", "numeric"):
            if match:
                precision, _, scale = match.group(2).partition(",")
                return sqltypes.Numeric(int(precision), int(scale or 0))
            return sqltypes.Numeric()
        if base == "double":
            return sqltypes.Double()
        type_class = self.ischema_names.get(base)
        if type_class is None:
            return sqltypes.NullType()
        return type_class()

    def get_columns(  # type: ignore[override]
        self,
        connection: Connection,
        table_name: str,
        schema: str | None = None,
        **kw: Any,
    ) -> list[dict[str, Any]]:
        """Columns of a table or view, in order, from ``information_schema.columns``."""
        rows = connection.execute(
            text(
                "select column_name, data_type, is_nullable, column_default "
                "from information_schema.columns "
                "where table_name = :table_name "
                "and table_schema = coalesce(:schema, current_schema()) "
                "order by ordinal_position"
            ),
            {"table_name": str(table_name), "schema": schema},
        ).fetchall()
        if not rows:
            raise NoSuchTableError(f"{schema}.{table_name}" if schema else str(table_name))
        return [
            {
                "name": name,
                "type": self._reflected_type(data_type),
                "nullable": is_nullable == "YES",
                "default": default,
                "autoincrement": False,
                "comment": None,
            }
            for name, data_type, is_nullable, default in rows
        ]

    def get_pk_constraint(  # type: ignore[override]
        self,
        connection: Connection,
        table_name: str,
        schema: str | None = None,
        **kw: Any,
    ) -> dict[str, Any]:
        """Primary-key columns declared in DuckDB (dbt tables usually declare none)."""
        rows = connection.execute(
            text(
                "select constraint_column_names from duckdb_constraints() "
                "where constraint_type = 'PRIMARY KEY' and table_name = :table_name "
                "and schema_name = coalesce(:schema, current_schema())"
            ),
            {"table_name": str(table_name), "schema": schema},
        ).fetchall()
        columns = list(rows[0][0]) if rows else []
        return {"constrained_columns": columns, "name": None}


def register() -> None:
    """Make ``duckdb+shopfunnel://`` URLs use ``BufferedDuckDBDialect`` (idempotent)."""
    registry.register(f"duckdb.{DRIVER}", __name__, "BufferedDuckDBDialect")


def connection_url(database: str | Path, schema: str | None = None, read_only: bool = True) -> str:
    """SQLAlchemy URL of a DuckDB file for this dialect.

    ``read_only`` (default) opens the file with ``access_mode=read_only``: the gate never
    writes to the warehouse and needs no write lock. ``schema`` becomes the connection's
    default schema.
    """
    query: dict[str, str] = {}
    if read_only:
        query["access_mode"] = "read_only"
    if schema:
        query[SCHEMA_PARAMETER] = schema
    url = URL.create(f"duckdb+{DRIVER}", database=str(Path(database).resolve()), query=query)
    return url.render_as_string(hide_password=False)
