"""The gate's parts without GX or dbt: fast.

The contract is read from the rendered var raw_contract and the readers from a manifest (a
column without required/type is refused), columns match in
any case, the bands are computed as documented, the history round-trips, processed paths
are normalised; and, on the built test warehouse when there is one, every key figure can be
measured (so a renamed mart column cannot silently switch a figure off).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shopfunnel.validate.contract import (
    VALUE_PLACEHOLDER,
    ContractError,
    RawTable,
    contract_from,
    find_project_dir,
    inline_sql,
)
from shopfunnel.validate.daily import normalise
from shopfunnel.validate.history import (
    KEPT_RUNS,
    append_run,
    measure_history,
    read_runs,
    state_path,
)
from shopfunnel.validate.raw import match_columns
from shopfunnel.validate.settings import FIGURES, TYPE_PARSERS, Thresholds

READER = "read_parquet('/data/shop''s data/events/**/*.parquet', union_by_name = true)"

CHECKS = "select\n" + "\n".join(
    f"    -- shopfunnel-check: {name}\n    ({name}_rule({VALUE_PLACEHOLDER})) as check_{name},"
    for name in [*TYPE_PARSERS, "id"]
)


def _compiled(meta: dict[str, Any] | None = None) -> str:
    """What dbt renders: the contract (var raw_contract as JSON), then the type rules."""
    column_meta = {"required": True, "type": "timestamp"} if meta is None else meta
    contract = {"events": {"event_at": column_meta}}
    return f"-- shopfunnel-contract: {json.dumps(contract)}\n" + CHECKS


COMPILED = _compiled()


def _manifest() -> dict[str, Any]:
    return {
        "metadata": {"project_name": "shop"},
        "sources": {
            "source.shop.shop.events": {
                "package_name": "shop",
                "source_name": "shop",
                "name": "events",
                "relation_name": READER,
                "original_file_path": "models/staging/shop/_shop__sources.yml",
                "config": {"external_location": "read_parquet(...)"},
            },
            "source.other_package.x.y": {
                "package_name": "other_package",
                "name": "y",
                "config": {"external_location": "z"},
            },
        },
    }


def test_the_contract_comes_from_the_manifest() -> None:
    contract = contract_from(_manifest(), COMPILED)
    [events] = contract.tables
    assert events.name == "events" and events.reader == READER
    assert [(c.name, c.required, c.type) for c in events.columns] == [
        ("event_at", True, "timestamp")
    ]
    assert contract.readable_sql("timestamp", '"event_at"') == '(timestamp_rule("event_at"))'
    assert contract.readable_sql("text", '"event_name"') is None
    assert contract.rule_of("id") == "is_valid_id"


@pytest.mark.parametrize("meta", [{}, {"required": "yes", "type": "id"}, {"required": True}])
def test_a_column_without_its_meta_is_refused(meta: dict[str, Any]) -> None:
    with pytest.raises(
        ContractError, match=r"var raw_contract.events.event_at: needs required"
    ):
        contract_from(_manifest(), _compiled(meta))


def test_a_table_without_a_contract_is_refused() -> None:
    with pytest.raises(ContractError, match=r"var raw_contract.events: the raw table has no"):
        contract_from(_manifest(), "-- shopfunnel-contract: {}\n" + CHECKS)


def test_the_type_rules_must_all_be_rendered() -> None:
    with pytest.raises(ContractError, match="cannot read the rendered type rules"):
        contract_from(_manifest(), _compiled().split("select")[0] + "select 1")


def test_the_inline_query_renders_every_type_rule() -> None:
    sql = inline_sql()
    for macro in TYPE_PARSERS.values():
        assert f"{{{{ {macro}('{VALUE_PLACEHOLDER}') }}}}" in sql
    assert f"is_valid_id('{VALUE_PLACEHOLDER}')" in sql
    assert "tojson(var('raw_contract'))" in sql


def test_columns_match_in_any_case() -> None:
    table = contract_from(_manifest(), COMPILED).tables[0]
    assert match_columns(table, ["Event_At", "extra"]) == {"event_at": "Event_At"}
    assert match_columns(table, ["EVENT_AT", "event_at"]) == {"event_at": "event_at"}
    assert match_columns(RawTable("t", "r", (), "y"), ["a"]) == {}


def test_a_folder_outside_any_project_is_reported(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("shopfunnel.validate.contract.__file__", str(tmp_path / "contract.py"))
    with pytest.raises(ContractError, match="cannot find dbt_project.yml"):
        find_project_dir(tmp_path)


@pytest.mark.parametrize(
    ("history", "bounds"),
    [
        ([20_000], (10_000, 30_000)),  # +/-50%
        ([4], (0, 14)),  # tiny tables: at least 10 rows of slack
        ([0], (0, 10)),
        ([100, 90, 1_000], (50, 150)),  # the median, not the mean
    ],
)
def test_volume_bounds(history: list[float], bounds: tuple[int, int]) -> None:
    assert Thresholds().volume_bounds(history) == bounds


@pytest.mark.parametrize(
    ("history", "is_share", "bounds"),
    [
        ([0.02], True, (0.015, 0.025)),
        ([0.8], True, (0.75, 0.85)),  # 25% of the 20% that are not new
        ([0.5], True, (0.375, 0.625)),
        ([1.0], True, (1.0, 1.0)),
        ([200_000.0], False, (150_000.0, 250_000.0)),
    ],
)
def test_drift_bounds(history: list[float], is_share: bool, bounds: tuple[float, float]) -> None:
    assert Thresholds().drift_bounds(history, is_share) == pytest.approx(bounds)


def test_history_round_trip(tmp_path: Path) -> None:
    database = tmp_path / "shop.duckdb"
    path = state_path(database)
    assert path == tmp_path / "shop.duckdb.validation_state.json"
    assert read_runs(path) == []
    runs: list[dict[str, Any]] = []
    for rows in range(KEPT_RUNS + 2):
        append_run(path, database, runs, {"marts.b:rows": rows, "marts.a:rows": 1})
        runs = read_runs(path)
    assert len(runs) == KEPT_RUNS
    history = measure_history(runs)
    assert history["marts.b:rows"][-1] == KEPT_RUNS + 1
    assert history["marts.b:rows"][0] == 2  # the two oldest were dropped
    assert list(runs[-1]["measures"]) == ["marts.a:rows", "marts.b:rows"]


def test_a_version_1_state_is_one_run_of_row_counts(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"version": 1, "row_counts": {"marts.dim_persons": 7}}))
    assert measure_history(read_runs(path)) == {"marts.dim_persons:rows": [7.0]}


def test_an_unreadable_state_names_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="--reset-history"):
        read_runs(path)


def test_processed_paths_are_normalised(tmp_path: Path) -> None:
    assert normalise("data/raw/events/a.parquet", tmp_path) == str(
        tmp_path / "data/raw/events/a.parquet"
    )
    assert normalise("/x/./raw//events/a.parquet", tmp_path) == "/x/raw/events/a.parquet"


@pytest.mark.e2e
def test_every_key_figure_is_measurable_on_the_built_warehouse(
    built_db: duckdb.DuckDBPyConnection,
) -> None:
    for figure in FIGURES:
        column, value = figure.where
        rows = built_db.execute(
            f'select count("{figure.column}") from marts."{figure.mart}" where "{column}" = ?',
            [value],
        ).fetchall()[0][0]
        assert rows > 0, f"{figure.name}: no row of marts.{figure.mart} to measure"
