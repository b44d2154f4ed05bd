"""Write-audit-publish (src/shopfunnel/serve): fast tests on small hand-made build files.

A "build file" here is a DuckDB file with the schemas dbt writes (marts, staging with clear
e-mail and phone, intermediate, seeds). The slow end-to-end proof with real dbt builds under
a reading load is tests/python/test_serve_load.py.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from shopfunnel.cli import main
from shopfunnel.serve import GateResult, list_versions, publish_build, rollback
from shopfunnel.serve.store import SERVE_STORAGE_VERSION, ServeError, ServeStore

PASSED = GateResult(True, "12 passed, 0 failed, 0 skipped")


def make_build(path: Path, persons: int, orders: int = 2) -> Path:
    """A build warehouse: marts (two tables, one view) and PII-holding other schemas."""
    path.unlink(missing_ok=True)
    con = duckdb.connect(str(path))
    try:
        for schema in ("marts", "staging", "intermediate", "seeds"):
            con.execute(f"create schema {schema}")
        con.execute(
            "create table marts.dim_persons as select range as person_id, "
            "'p' || range as person_label from range(?)",
            [persons],
        )
        con.execute(
            "create table marts.fct_orders as select range as order_id, range % 3 as person_id, "
            "cast(range * 1.5 as decimal(10, 2)) as order_total from range(?)",
            [orders],
        )
        con.execute(
            "create view marts.rpt_person_count as "
            "select count(*) as persons from marts.dim_persons"
        )
        con.execute(
            "create table staging.stg_shop__members as select range as member_id, "
            "'m' || range || '@example.com' as email, '010' || range as phone from range(5)"
        )
        con.execute("create table intermediate.int_persons as select * from marts.dim_persons")
        con.execute("create table seeds.channel_rules as select 'x' as rule")
    finally:
        con.close()
    return path


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    document = {
        "nodes": {
            "model.shopfunnel.dim_persons": {
                "resource_type": "model",
                "name": "dim_persons",
                "alias": "dim_persons",
                "schema": "marts",
                "description": "Every person.",
                "columns": {"person_id": {"name": "person_id", "description": "The person."}},
            },
            "model.shopfunnel.stg_shop__members": {
                "resource_type": "model",
                "name": "stg_shop__members",
                "schema": "staging",
                "description": "Members (clear contact data).",
                "columns": {},
            },
        }
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(document))
    return path


@pytest.fixture
def serve_path(tmp_path: Path) -> Path:
    return tmp_path / "serve" / "shop.duckdb"


def _publish(build: Path, serve_path: Path, repo_root: Path, manifest: Path, **options):
    options.setdefault("gate", PASSED)
    return publish_build(build, serve_path, project_dir=repo_root, manifest=manifest, **options)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach '{path}' as served (read_only)")
        con.execute("use served")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_publish_copies_the_marts_only_in_the_1_4_format(
    tmp_path: Path, serve_path: Path, repo_root: Path, manifest: Path
) -> None:
    build = make_build(tmp_path / "build.duckdb", persons=4)
    result = _publish(build, serve_path, repo_root, manifest)

    assert result.published, result.message
    assert result.mart_rows == {"dim_persons": 4, "fct_orders": 2, "rpt_person_count": 1}
    relations = _read(
        serve_path,
        "select schema_name, table_name from duckdb_tables() where database_name = 'served' "
        "union all select schema_name, view_name from duckdb_views() "
        "where database_name = 'served' and not internal order by 1, 2",
    )
    assert relations == [
        ("marts", "dim_persons"),
        ("marts", "fct_orders"),
        ("marts", "rpt_person_count"),
        ("meta", "published_mart_rows"),
        ("meta", "published_versions"),
    ]
    columns = {row[0] for row in _read(serve_path, "select column_name from duckdb_columns()")}
    assert not columns & {"email", "phone"}
    tags = _read(serve_path, "select tags from duckdb_databases() where database_name = 'served'")
    assert tags[0][0]["storage_version"].startswith(SERVE_STORAGE_VERSION)
    comments = _read(
        serve_path,
        "select table_name, column_name, comment from duckdb_columns() "
        "where schema_name = 'marts' and table_name = 'dim_persons' order by column_index",
    )
    assert comments[0] == ("dim_persons", "person_id", "The person.")
    assert _read(
        serve_path, "select comment from duckdb_tables() where table_name = 'dim_persons'"
    ) == [("Every person.",)]

    log = _read(
        serve_path,
        "select publication_number, version_id, action, git_sha, gate_result, gate_summary, "
        "build_file, mart_count, total_row_count, is_current from meta.published_versions",
    )
    head = subprocess.run(
        ["git", "-C", str(repo_root), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert log == [
        (
            1,
            result.version_id,
            "publish",
            head,
            "passed",
            PASSED.summary,
            "build.duckdb",
            3,
            7,
            True,
        )
    ]
    rows = _read(serve_path, "select mart_name, row_count from meta.published_mart_rows order by 1")
    assert rows == [("dim_persons", 4), ("fct_orders", 2), ("rpt_person_count", 1)]
    assert ServeStore.at(serve_path).archived_versions() == [result.version_id]


def test_a_failed_gate_publishes_nothing(
    tmp_path: Path,
    serve_path: Path,
    repo_root: Path,
    manifest: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    build = make_build(tmp_path / "build.duckdb", persons=4)
    first = _publish(build, serve_path, repo_root, manifest)
    served_before = _digest(serve_path)
    make_build(build, persons=40)

    failed = GateResult(False, "11 passed, 1 failed", ("marts.dim_persons: row count within band",))
    result = _publish(build, serve_path, repo_root, manifest, gate=failed)

    assert not result.published
    assert result.served_version == first.version_id
    out = capsys.readouterr().out
    assert "NOT published: the marts gate failed" in out
    assert f"still serving version {first.version_id}" in out
    assert "marts.dim_persons: row count within band" in out
    assert _digest(serve_path) == served_before
    assert ServeStore.at(serve_path).archived_versions() == [first.version_id]


def test_a_failed_dbt_build_publishes_nothing(
    tmp_path: Path, serve_path: Path, repo_root: Path, manifest: Path
) -> None:
    build = make_build(tmp_path / "build.duckdb", persons=4)
    run_results = tmp_path / "run_results.json"
    run_results.write_text(
        json.dumps(
            {
                "results": [
                    {"unique_id": "model.shopfunnel.dim_persons", "status": "success"},
                    {"unique_id": "test.shopfunnel.unique_x", "status": "fail"},
                    {"unique_id": "model.shopfunnel.fct_orders", "status": "error"},
                ]
            }
        )
    )
    result = _publish(build, serve_path, repo_root, manifest, run_results=run_results)

    assert not result.published
    assert "the dbt build failed" in result.message
    assert "model.shopfunnel.fct_orders (error)" in result.message
    assert "test.shopfunnel.unique_x (fail)" in result.message
    assert not serve_path.exists()

    missing = _publish(tmp_path / "never_built.duckdb", serve_path, repo_root, manifest)
    assert not missing.published
    assert "does not exist" in missing.message
    assert "nothing is served yet" in missing.message


def test_clear_contact_data_in_a_mart_is_never_published(
    tmp_path: Path, serve_path: Path, repo_root: Path, manifest: Path
) -> None:
    build = make_build(tmp_path / "build.duckdb", persons=4)
    con = duckdb.connect(str(build))
    try:
        con.execute("create table marts.aud_leaky as select 1 as person_id, 'a@b.c' as email")
    finally:
        con.close()
    result = _publish(build, serve_path, repo_root, manifest)
    assert not result.published
    assert "clear-text contact columns (marts.aud_leaky.email)" in result.message
    assert not serve_path.exists()


READER = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    print(con.execute("select count(*) from marts.dim_persons").fetchall()[0][0], flush=True)
    sys.stdin.readline()
    print(con.execute("select count(*) from marts.dim_persons").fetchall()[0][0], flush=True)
    print(con.execute(
        "select version_id from meta.published_versions where is_current").fetchall()[0][0],
        flush=True)
    """
)


def test_an_open_reader_keeps_its_version_and_never_blocks_a_publish(
    tmp_path: Path, serve_path: Path, repo_root: Path, manifest: Path
) -> None:
    build = make_build(tmp_path / "build.duckdb", persons=4)
    first = _publish(build, serve_path, repo_root, manifest)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(serve_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline().strip() == "4"  # the reader holds the file open

        make_build(build, persons=6)
        second = _publish(build, serve_path, repo_root, manifest)
        assert second.published, second.message

        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "4"  # still its consistent old version
        assert reader.stdout.readline().strip() == first.version_id
    finally:
        reader.communicate(timeout=60)
    assert reader.returncode == 0
    # a new connection sees the new version
    assert _read(serve_path, "select count(*) from marts.dim_persons") == [(6,)]


def test_keep_and_rollback(
    tmp_path: Path,
    serve_path: Path,
    repo_root: Path,
    manifest: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    build = tmp_path / "build.duckdb"
    versions = []
    for persons in (1, 2, 3, 4):
        make_build(build, persons=persons)
        versions.append(_publish(build, serve_path, repo_root, manifest, keep=3).version_id)
    store = ServeStore.at(serve_path)
    assert store.archived_versions() == versions[1:]

    back = rollback(serve_path)
    assert (back.previous_version, back.version_id) == (versions[3], versions[2])
    assert _read(serve_path, "select count(*) from marts.dim_persons") == [(3,)]
    back = rollback(serve_path)
    assert back.version_id == versions[1]
    with pytest.raises(ServeError, match="no archived version older"):
        rollback(serve_path)
    named = rollback(serve_path, versions[3])
    assert named.version_id == versions[3]
    assert _read(serve_path, "select count(*) from marts.dim_persons") == [(4,)]
    with pytest.raises(ServeError, match="not archived"):
        rollback(serve_path, versions[0])
    with pytest.raises(ServeError, match="not a version id"):
        rollback(serve_path, "../../etc/passwd")

    listing = list_versions(serve_path)
    actions = [(p.version_id, p.action) for p in listing.log.publications]
    assert actions == [
        (versions[0], "publish"),
        (versions[1], "publish"),
        (versions[2], "publish"),
        (versions[3], "publish"),
        (versions[2], "rollback"),
        (versions[1], "rollback"),
        (versions[3], "rollback"),
    ]
    assert listing.log.current_version == versions[3]
    tags = _read(serve_path, "select tags from duckdb_databases() where database_name = 'served'")
    assert tags[0][0]["storage_version"].startswith(SERVE_STORAGE_VERSION)

    capsys.readouterr()
    assert main(["versions", "--serve-path", str(serve_path)]) == 0
    out = capsys.readouterr().out
    assert f"version {versions[3]}" in out
    assert sum(" rollback " in line for line in out.splitlines()[2:-1]) == 3
    assert main(["versions", "--serve-path", str(serve_path), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    current = [row for row in document["publications"] if row["is_current"]]
    assert [row["mart_rows"]["dim_persons"] for row in current] == [4]
    assert [row["is_archived"] for row in document["publications"]][0] is False


def test_publish_command_says_why_it_refuses(
    tmp_path: Path, serve_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.duckdb"
    code = main(["publish", "--db", str(missing), "--serve-path", str(serve_path), "--gate-passed"])
    assert code == 1
    assert "NOT published: the build file" in capsys.readouterr().out
    assert main(["publish", "--serve-path", str(serve_path)]) == 1
    assert "--db PATH is needed" in capsys.readouterr().err
    assert main(["rollback", "--serve-path", str(serve_path)]) == 1
    assert "nothing is served" in capsys.readouterr().err


def test_postgres_types_of_the_duckdb_types() -> None:
    from shopfunnel.serve.postgres import postgres_type

    assert postgres_type("BIGINT") == "bigint"
    assert postgres_type("DECIMAL(18,2)") == "numeric(18, 2)"
    assert postgres_type("TIMESTAMP WITH TIME ZONE") == "timestamptz"
    assert postgres_type("VARCHAR[]") == "text[]"
    assert postgres_type("STRUCT(a INTEGER)") == "jsonb"
    with pytest.raises(ServeError, match="no PostgreSQL type for DuckDB type BIT"):
        postgres_type("BIT")


def test_a_build_still_running_publishes_nothing(
    tmp_path: Path, serve_path: Path, repo_root: Path, manifest: Path
) -> None:
    build = make_build(tmp_path / "build.duckdb", persons=4)
    first = _publish(build, serve_path, repo_root, manifest)
    writer = subprocess.Popen(  # a dbt build holds the file's write lock
        [sys.executable, "-c",
         "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('open', flush=True); "
         "sys.stdin.readline()", str(build)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "open"
        result = _publish(build, serve_path, repo_root, manifest)
    finally:
        writer.communicate("\n", timeout=60)
    assert not result.published
    assert "is a build still running?" in result.message
    assert f"still serving version {first.version_id}" in result.message
    assert ServeStore.at(serve_path).archived_versions() == [first.version_id]
