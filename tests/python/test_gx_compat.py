"""The GX-on-DuckDB compatibility layer (src/shopfunnel/validate/gx_duckdb_compat.py).

Without the layer, GX's SQL route reads query rows after the connection went back to the
pool (DuckDB dropped them on rollback), so every expectation errors; and a table outside
the ``main`` schema cannot be reflected. With it, expectations pass and fail as they should.
Everything runs on a tiny DuckDB file made in tmp_path.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa

from shopfunnel.validate import gx_duckdb_compat

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def gx() -> ModuleType:
    """great_expectations, imported once per session (the import takes seconds)."""
    import great_expectations

    return great_expectations


@pytest.fixture(scope="module")
def tiny_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """main.rates (ids 1..10, one duplicate id, one rate above 1) and marts.rates (clean)."""
    path = tmp_path_factory.mktemp("compat") / "tiny.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute(
        """
        create table main.rates as
        select * from (values
            (1, 0.10), (2, 0.20), (3, 0.30), (4, 0.40), (5, 0.50),
            (6, 0.60), (7, 0.70), (8, 0.80), (9, 1.50), (9, 0.90)
        ) as rows (rate_id, signup_rate)
        """
    )
    con.execute(
        """
        create table marts.rates as
        select
            cast(range as integer) as rate_id,
            cast(range / 10 as double) as signup_rate,
            cast(range * 1.5 as decimal(18, 2)) as amount
        from range(10)
        """
    )
    con.close()
    return path


def _validate(gx: ModuleType, url: str, expectation: Any) -> Any:
    gx_duckdb_compat.register()
    context = gx.get_context(mode="ephemeral")
    context.enable_analytics(False)
    source = context.data_sources.add_sql(name="tiny", connection_string=url)
    asset = source.add_table_asset(name="rates", table_name="rates")
    batch = asset.add_batch_definition_whole_table("whole").get_batch()
    return batch.validate(expectation)


def _error_messages(result: Any) -> list[str]:
    info = result.exception_info or {}
    infos = [info] if "raised_exception" in info else list(info.values())
    return [str(item.get("exception_message")) for item in infos if item.get("raised_exception")]


# ------------------------------------------------------------------ the SQLAlchemy level


@pytest.fixture
def engines(tiny_db: Path) -> Iterator[dict[str, sa.Engine]]:
    gx_duckdb_compat.register()
    created = {
        "plain": sa.create_engine(f"duckdb:///{tiny_db}?access_mode=read_only"),
        "compat": sa.create_engine(gx_duckdb_compat.connection_url(tiny_db)),
    }
    yield created
    for engine in created.values():
        engine.dispose()


def _fetch_after_close(engine: sa.Engine) -> list[tuple]:
    """What GX does: execute inside ``with connect()``, fetch after it closed."""
    with engine.connect() as connection:
        result = connection.execute(sa.text("select count(*) from main.rates"))
    return [tuple(row) for row in result.fetchall()]


def test_plain_duckdb_engine_loses_rows_once_the_connection_closes(
    engines: dict[str, sa.Engine],
) -> None:
    # the upstream bug the layer exists for; if this starts failing, upstream fixed it and
    # the buffering in gx_duckdb_compat can go
    assert _fetch_after_close(engines["plain"]) == []


def test_compat_dialect_buffers_rows_before_the_connection_closes(
    engines: dict[str, sa.Engine],
) -> None:
    assert _fetch_after_close(engines["compat"]) == [(10,)]


def test_compat_dialect_keeps_duckdb_dialect_name(engines: dict[str, sa.Engine]) -> None:
    # GX picks its SQL flavour by dialect name; it must stay "duckdb"
    assert engines["compat"].dialect.name == "duckdb"


def test_compat_dialect_reflects_columns_outside_main(engines: dict[str, sa.Engine]) -> None:
    columns = sa.inspect(engines["compat"]).get_columns("rates", schema="marts")
    assert [column["name"] for column in columns] == ["rate_id", "signup_rate", "amount"]
    amount = columns[2]["type"]
    assert isinstance(amount, sa.Numeric)
    assert (amount.precision, amount.scale) == (18, 2)
    assert isinstance(columns[1]["type"], sa.Double)


def test_compat_url_sets_the_default_schema(tiny_db: Path) -> None:
    gx_duckdb_compat.register()
    engine = sa.create_engine(gx_duckdb_compat.connection_url(tiny_db, schema="marts"))
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("select current_schema(), sum(rate_id) from rates")
            ).fetchall()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [("marts", 45)]


def test_compat_dialect_reports_a_missing_table(engines: dict[str, sa.Engine]) -> None:
    with pytest.raises(sa.exc.NoSuchTableError):
        sa.inspect(engines["compat"]).get_columns("no_such_table", schema="marts")


def test_compat_engine_opens_the_file_read_only(engines: dict[str, sa.Engine]) -> None:
    with engines["compat"].connect() as connection, pytest.raises(sa.exc.DBAPIError) as error:
        connection.execute(sa.text("create table main.written (x integer)"))
    assert "read-only" in str(error.value).lower()


# ------------------------------------------------------------------ through GX


def test_without_the_layer_every_expectation_errors(gx: ModuleType, tiny_db: Path) -> None:
    result = _validate(
        gx,
        f"duckdb:///{tiny_db}?access_mode=read_only",
        gx.expectations.ExpectTableRowCountToBeBetween(min_value=1),
    )
    assert not result.success
    assert any("list index out of range" in message for message in _error_messages(result))


def test_with_the_layer_a_passing_expectation_passes(gx: ModuleType, tiny_db: Path) -> None:
    result = _validate(
        gx,
        gx_duckdb_compat.connection_url(tiny_db, schema="main"),
        gx.expectations.ExpectTableRowCountToBeBetween(min_value=1, max_value=10),
    )
    assert _error_messages(result) == []
    assert result.success
    assert result.result["observed_value"] == 10


def test_with_the_layer_a_rate_over_one_fails(gx: ModuleType, tiny_db: Path) -> None:
    result = _validate(
        gx,
        gx_duckdb_compat.connection_url(tiny_db, schema="main"),
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="signup_rate", min_value=0, max_value=1
        ),
    )
    assert _error_messages(result) == []
    assert not result.success
    assert result.result["unexpected_count"] == 1
    assert result.result["partial_unexpected_list"] == [1.5]


def test_with_the_layer_a_duplicated_key_fails(gx: ModuleType, tiny_db: Path) -> None:
    result = _validate(
        gx,
        gx_duckdb_compat.connection_url(tiny_db, schema="main"),
        gx.expectations.ExpectColumnValuesToBeUnique(column="rate_id"),
    )
    assert _error_messages(result) == []
    assert not result.success
    assert result.result["unexpected_count"] == 2
    assert sorted(result.result["partial_unexpected_list"]) == [9, 9]


def test_with_the_layer_tables_outside_main_validate(gx: ModuleType, tiny_db: Path) -> None:
    result = _validate(
        gx,
        gx_duckdb_compat.connection_url(tiny_db, schema="marts"),
        gx.expectations.ExpectColumnValuesToBeBetween(
            column="signup_rate", min_value=0, max_value=1
        ),
    )
    assert _error_messages(result) == []
    assert result.success
    assert result.result["element_count"] == 10


def test_with_the_layer_unexpected_rows_queries_count_rows(gx: ModuleType, tiny_db: Path) -> None:
    result = _validate(
        gx,
        gx_duckdb_compat.connection_url(tiny_db, schema="marts"),
        gx.expectations.UnexpectedRowsExpectation(
            unexpected_rows_query="select * from {batch} where signup_rate >= 0.7",
            description="rates below 0.7",
        ),
    )
    assert _error_messages(result) == []
    assert not result.success
    assert result.result["observed_value"] == 3
