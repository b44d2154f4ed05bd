"""``publish --to postgres`` against a real PostgreSQL server started by the test.

The server is Debian's ``postgresql`` (installed with apt-get when missing and root; else the
test fails with the command to run), a private cluster in a temporary folder listening on
127.0.0.1 only, run as the ``postgres`` system user when the test runs as root.

Checks: the role ``bi_reader`` can read the marts and the publication log and nothing else
(every staging and intermediate table of the build and the raw members' e-mail and phone are
copied into the server as decoys); the copied marts equal the DuckDB marts row for row; a
reader during publishes sees the old or the new version, never a mix, both in single
statements and in a REPEATABLE READ transaction that spans a publish.
"""

from __future__ import annotations

import glob
import math
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
from psycopg import sql

from shopfunnel.cli import main
from shopfunnel.serve import GateResult, publish_build
from shopfunnel.serve.postgres import Column, Relation, postgres_type, publish_to_postgres
from shopfunnel.serve.store import ServeStore

pytestmark = pytest.mark.postgres

ADMIN = "shopfunnel_admin"
READER_PASSWORD = "reader-" + secrets.token_hex(8)


def _pg_bin() -> str | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return str(Path(found[-1]).parent) if found else None


@dataclass(frozen=True)
class Server:
    port: int
    password: str

    def dsn(self, user: str = ADMIN, password: str | None = None, dbname: str = "shop") -> str:
        return (
            f"host=127.0.0.1 port={self.port} dbname={dbname} user={user} "
            f"password={password or self.password} connect_timeout=10"
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def server(debian_package) -> Iterator[Server]:
    bin_dir = debian_package("postgresql", _pg_bin)
    folder = Path(tempfile.mkdtemp(prefix="shopfunnel-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    password = secrets.token_hex(12)
    (folder / "pw").write_text(password + "\n")
    if as_user:
        os.chown(folder / "pw", owner.pw_uid, owner.pw_gid)
    port = _free_port()
    data = folder / "data"

    def run(*command: str) -> None:
        done = subprocess.run([*as_user, *command], capture_output=True, text=True)
        assert done.returncode == 0, f"{command[0]} failed:\n{done.stdout}\n{done.stderr}"

    run(f"{bin_dir}/initdb", "-D", str(data), "-U", ADMIN, "--auth=scram-sha-256",
        f"--pwfile={folder / 'pw'}", "--no-locale", "-E", "UTF8")  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c fsync=off"
    run(
        f"{bin_dir}/pg_ctl",
        "-D",
        str(data),
        "-l",
        str(folder / "log"),
        "-w",
        "-o",
        options,
        "start",
    )
    try:
        with psycopg.connect(Server(port, password).dsn(dbname="postgres"), autocommit=True) as con:
            con.execute("create database shop")
        yield Server(port, password)
    finally:
        subprocess.run([*as_user, f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def _copy_schema(server: Server, database: Path, schema: str, target_schema: str) -> list[str]:
    """Copy every table and view of `schema` of a DuckDB file into PostgreSQL (decoys)."""
    copied = []
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach '{database}' as src (read_only)")
        names = con.execute(
            "select table_name from duckdb_tables() "
            "where database_name = 'src' and schema_name = ? "
            "union select view_name from duckdb_views() where database_name = 'src' "
            "and schema_name = ?",
            [schema, schema],
        ).fetchall()
        with psycopg.connect(server.dsn()) as pg, pg.cursor() as cursor:
            cursor.execute(
                sql.SQL("create schema if not exists {}").format(sql.Identifier(target_schema))
            )
            for (name,) in names:
                columns = tuple(
                    Column(column, kind, postgres_type(kind), None)
                    for column, kind in con.execute(
                        "select column_name, data_type from duckdb_columns() "
                        "where database_name = 'src' "
                        "and schema_name = ? and table_name = ? order by column_index",
                        [schema, name],
                    ).fetchall()
                )
                _load_as(cursor, con, schema, Relation(target_schema, name, columns, None))
                copied.append(f"{target_schema}.{name}")
            pg.commit()
    finally:
        con.close()
    return copied


def _load_as(
    cursor: Any, con: duckdb.DuckDBPyConnection, source_schema: str, relation: Relation
) -> None:
    names = ", ".join(f'"{column.name}"' for column in relation.columns)
    rows = con.execute(f'select {names} from src.{source_schema}."{relation.name}"').fetchall()
    cursor.execute(
        sql.SQL("create table {} ({})").format(
            sql.Identifier(relation.schema, relation.name),
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.postgres_type))
                for c in relation.columns
            ),
        )
    )
    with cursor.copy(
        sql.SQL("copy {} from stdin").format(sql.Identifier(relation.schema, relation.name))
    ) as copy:
        for row in rows:
            copy.write_row(row)


def _normal(value: Any) -> Any:
    if isinstance(value, float | Decimal):
        number = float(value)
        return "NaN" if math.isnan(number) else round(number, 9)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return tuple(_normal(item) for item in value)
    return value


def _sorted_rows(rows: list[tuple]) -> list[tuple]:
    return sorted((tuple(_normal(v) for v in row) for row in rows), key=repr)


def _marts(database: Path) -> dict[str, list[tuple]]:
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach '{database}' as served (read_only)")
        names = [row[0] for row in con.execute(
            "select table_name from duckdb_tables() where database_name = 'served' "
            "and schema_name = 'marts' order by 1").fetchall()]  # fmt: skip
        return {
            name: con.execute(f'select * from served.marts."{name}"').fetchall() for name in names
        }
    finally:
        con.close()


def _reader_statement(cursor: Any, marts: list[str]) -> dict[str, Any]:
    """One statement: the current version, every mart's row count and the logged counts."""
    counts = sql.SQL(", ").join(
        sql.SQL("{}, (select count(*) from {})").format(
            sql.Literal(mart), sql.Identifier("marts", mart)
        )
        for mart in marts
    )
    cursor.execute(
        sql.SQL(
            "select (select version_id from meta.published_versions where is_current), "
            "json_build_object({}), "
            "(select json_object_agg(mart_name, row_count) from meta.published_mart_rows "
            " where version_id = (select version_id from meta.published_versions where is_current))"
        ).format(counts)
    )
    version, found, logged = cursor.fetchone()
    return {"version": version, "counts": found, "logged": logged}


def test_bi_reader_reads_the_marts_and_nothing_else(
    server: Server, published_build, capsys
) -> None:
    code = main(["publish", "--to", "postgres", "--dsn", server.dsn(), "--serve-path",
                 str(published_build.serve_path)])  # fmt: skip
    assert code == 0
    assert f"version {published_build.version_id} copied to PostgreSQL" in capsys.readouterr().out

    decoys = _copy_schema(server, published_build.build_db, "staging", "staging")
    decoys += _copy_schema(server, published_build.build_db, "intermediate", "intermediate")
    with psycopg.connect(server.dsn()) as pg:
        pg.execute("create schema raw")
        pg.execute("create table raw.members (member_id text, email text, phone text)")
        members = duckdb.sql(
            "select member_id, email, phone from "
            f"read_parquet('{published_build.raw}/members/*.parquet')"
        ).fetchall()
        with pg.cursor().copy("copy raw.members from stdin") as copy:
            for row in members:
                copy.write_row(row)
        pg.execute(f"alter role bi_reader login password '{READER_PASSWORD}'")
    assert any(name.startswith("staging.stg_shop__members") for name in decoys)
    assert len(members) > 0

    marts = sorted(_marts(published_build.serve_path))
    with psycopg.connect(server.dsn("bi_reader", READER_PASSWORD), autocommit=True) as reader:
        for mart in marts:
            reader.execute(
                sql.SQL("select * from {} limit 1").format(sql.Identifier("marts", mart))
            )
        reader.execute("select * from meta.published_versions")
        denied = []
        for table in [*decoys, "raw.members"]:
            schema, name = table.split(".", 1)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.execute(
                    sql.SQL("select * from {} limit 1").format(sql.Identifier(schema, name))
                )
            denied.append(table)
        for column in ("email", "phone"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reader.execute(sql.SQL("select {} from raw.members").format(sql.Identifier(column)))
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            reader.execute("create table marts.sneaky (x int)")
        readable = {
            f"{schema}.{name}"
            for schema, name in reader.execute(
                "select n.nspname, c.relname from pg_class c "
                "join pg_namespace n on n.oid = c.relnamespace "
                "where c.relkind in ('r', 'v', 'm', 'p', 'f') "
                "and n.nspname not in ('pg_catalog', 'information_schema') "
                "and has_table_privilege('bi_reader', c.oid, 'select')"
            ).fetchall()
        }
    assert readable == {f"marts.{mart}" for mart in marts} | {
        "meta.published_versions",
        "meta.published_mart_rows",
    }
    assert len(denied) == len(decoys) + 1


def test_the_copied_marts_equal_the_duckdb_marts_row_for_row(
    server: Server, published_build
) -> None:
    publish_to_postgres(published_build.serve_path, server.dsn())
    expected = _marts(published_build.serve_path)
    with psycopg.connect(server.dsn()) as pg:
        for mart, rows in expected.items():
            copied = pg.execute(
                sql.SQL("select * from {}").format(sql.Identifier("marts", mart))
            ).fetchall()
            assert len(copied) == len(rows), mart
            assert _sorted_rows(copied) == _sorted_rows(rows), f"marts.{mart} differs"


def _second_version(published_build, tmp_path: Path) -> Path:
    """A second version (a tenth of every mart's rows left out), in a serving file of its own
    (the shared one stays as published for the other tests); returns its archived file."""
    build = tmp_path / "build_b.duckdb"
    shutil.copyfile(published_build.build_db, build)
    con = duckdb.connect(str(build))
    try:
        for (name,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts'"
        ).fetchall():
            con.execute(f'delete from marts."{name}" where rowid % 10 = 3')
    finally:
        con.close()
    serve = tmp_path / "serve_b" / "shopfunnel.duckdb"
    result = publish_build(build, serve, gate=GateResult(True, "test version"),
                           manifest=published_build.manifest)  # fmt: skip
    assert result.published and result.version_id
    return ServeStore.at(serve).archive_path(result.version_id)


def test_a_reader_sees_the_old_or_the_new_version_never_a_mix(
    server: Server, published_build, tmp_path: Path
) -> None:
    first = published_build.version_id
    second_file = _second_version(published_build, tmp_path)
    second = second_file.stem
    versions = {
        first: ServeStore.at(published_build.serve_path).archive_path(first),
        second: second_file,
    }
    publish_to_postgres(versions[first], server.dsn())
    marts = sorted(_marts(versions[first]))
    with psycopg.connect(server.dsn()) as pg:
        pg.execute(f"alter role bi_reader login password '{READER_PASSWORD}'")

    # a REPEATABLE READ transaction that spans a publish keeps the old version, whole
    with psycopg.connect(server.dsn("bi_reader", READER_PASSWORD)) as snapshot:
        snapshot.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with snapshot.cursor() as cursor:
            before = _reader_statement(cursor, marts)
            publish_to_postgres(versions[second], server.dsn())  # must not wait for the reader
            during = {
                mart: cursor.execute(
                    sql.SQL("select count(*) from {}").format(sql.Identifier("marts", mart))
                ).fetchone()[0]
                for mart in marts
            }
        assert before["version"] == first and before["counts"] == before["logged"]
        assert during == before["counts"]

    # single statements while the versions alternate
    stop = threading.Event()
    reads: list[dict[str, Any]] = []
    errors: list[str] = []

    def read() -> None:
        with psycopg.connect(server.dsn("bi_reader", READER_PASSWORD), autocommit=True) as reader:
            deadline = time.monotonic() + 300
            while not stop.is_set() and time.monotonic() < deadline:
                try:
                    reads.append(_reader_statement(reader.cursor(), marts))
                except psycopg.Error as exc:
                    errors.append(str(exc))
                time.sleep(0.01)

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for version in (first, second, first, second):
            publish_to_postgres(versions[version], server.dsn())
            time.sleep(0.3)
    finally:
        stop.set()
        thread.join(timeout=60)
    assert not errors, errors[:3]
    assert len(reads) >= 20
    seen = set()
    for record in reads:
        assert record["counts"] == record["logged"], record
        seen.add(record["version"])
    assert seen == {first, second}
