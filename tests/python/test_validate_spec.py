"""What the gate derives from the project, without GX: fast.

The stage list agrees with the marts' YAML, rate columns are recognised by name, the YAML
test syntaxes are read, the volume band is computed as documented, and (on the built test
warehouse, when there is one) every reconciliation query runs and finds nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from shopfunnel.validate.project import (
    ProjectError,
    find_project_dir,
    is_rate_column,
    mart_specs,
    project_vars,
    raw_required_columns,
)
from shopfunnel.validate.reconcile import reconciliations
from shopfunnel.validate.settings import FUNNEL_STAGES, RAW_KEY_COLUMNS, Thresholds
from shopfunnel.validate.state import read_row_counts, state_path, write_row_counts

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_funnel_stages_match_the_accepted_values_of_the_mart() -> None:
    spec = mart_specs(REPO_ROOT)["fct_funnel_stages"]
    assert tuple(spec.accepted_values["funnel_stage"]) == FUNNEL_STAGES


def test_every_raw_key_column_is_in_the_contract() -> None:
    required = raw_required_columns(REPO_ROOT)
    for table, columns in RAW_KEY_COLUMNS.items():
        assert table in required
        assert set(columns) <= set(required[table]), table


@pytest.mark.parametrize(
    ("name", "is_rate"),
    [
        ("signup_rate", True),
        ("new_visitor_share", True),
        ("signup_rate_ci_lower", True),
        ("first_purchase_rate_short_window", True),
        ("other_new_release_share", True),
        ("p_value", True),
        ("new_release_p_value", True),
        ("lift", False),
        ("premium_tier_affinity", False),
        ("signups", False),
        ("shared_devices", False),
        ("separate_id", False),
    ],
)
def test_rate_columns_are_recognised_by_name(name: str, is_rate: bool) -> None:
    assert is_rate_column(name) is is_rate


def test_mart_specs_read_every_test_syntax(tmp_path: Path) -> None:
    marts = tmp_path / "models" / "marts" / "area"
    marts.mkdir(parents=True)
    (tmp_path / "dbt_project.yml").write_text("name: x\nvars:\n  some_var: 7\n")
    (marts / "_area__models.yml").write_text(
        """
version: 2
models:
  - name: fct_things
    data_tests:
      - unique_combination_of_columns:
          arguments:
            combination_of_columns: [thing_date, channel]
    columns:
      - name: thing_id
        tests: [unique, not_null]
      - name: kind
        data_tests:
          - accepted_values:
              values: [a, b]
      - name: share_of_things
        data_tests:
          - value_between:
              arguments: {min_value: 0, max_value: 1}
              config: {severity: warn}
      - name: score
        data_tests:
          - value_between: {min_value: -1, max_value: 1}
"""
    )
    spec = mart_specs(tmp_path)["fct_things"]
    assert spec.key_columns == [["thing_date", "channel"], ["thing_id"]]
    assert spec.not_null_columns == ["thing_id"]
    assert spec.accepted_values == {"kind": ["a", "b"]}
    assert spec.bounds == {"share_of_things": (0, 1), "score": (-1, 1)}
    assert spec.yaml_path == Path("models/marts/area/_area__models.yml")
    assert project_vars(tmp_path) == {"some_var": 7}
    assert find_project_dir(marts) == tmp_path


def test_a_folder_outside_any_project_is_reported(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("shopfunnel.validate.project.__file__", str(tmp_path / "project.py"))
    with pytest.raises(ProjectError, match="cannot find dbt_project.yml"):
        find_project_dir(tmp_path)


@pytest.mark.parametrize(
    ("previous", "bounds"),
    [
        (20_000, (10_000, 30_000)),  # +/-50%
        (4, (0, 14)),  # tiny tables: at least 10 rows of slack
        (0, (0, 10)),
    ],
)
def test_volume_bounds(previous: int, bounds: tuple[int, int]) -> None:
    assert Thresholds().volume_bounds(previous) == bounds


def test_state_round_trip_and_unreadable_state(tmp_path: Path) -> None:
    database = tmp_path / "shop.duckdb"
    path = state_path(database)
    assert path == tmp_path / "shop.duckdb.validation_state.json"
    assert read_row_counts(path) == {}
    write_row_counts(path, database, {"marts.b": 2, "marts.a": 1})
    assert read_row_counts(path) == {"marts.a": 1, "marts.b": 2}
    assert list(json.loads(path.read_text())["row_counts"]) == ["marts.a", "marts.b"]
    path.write_text("{not json")
    with pytest.raises(ValueError, match="--reset-volume-state"):
        read_row_counts(path)


def test_reconciliations_use_the_project_window() -> None:
    checks = {check.name: check for check in reconciliations({"signup_conversion_window_days": 7})}
    assert "to_days(7)" in checks["signups_match_staging"].query
    assert "7 days" in checks["signups_match_staging"].rule
    for check in checks.values():
        assert "{batch}" in check.query, check.name
        assert f"marts.{check.mart}" in check.tables, check.name


@pytest.mark.e2e
def test_reconciliations_hold_on_the_built_warehouse(
    built_db: duckdb.DuckDBPyConnection,
) -> None:
    tables = {
        f"{schema}.{name}"
        for schema, name in built_db.execute(
            "select table_schema, table_name from information_schema.tables"
        ).fetchall()
    }
    for check in reconciliations(project_vars(REPO_ROOT)):
        assert set(check.tables) <= tables, check.name
        rows = built_db.execute(check.query.format(batch=f"marts.{check.mart}")).fetchall()
        assert rows == [], f"{check.name}: {check.rule}: {rows[:3]}"
