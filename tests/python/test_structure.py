"""Structure checks (src/shopfunnel/structure.py) on tiny manifests and on the real project.

Each rule is proven able to fail: a tiny GOOD manifest (a dict with just the keys the rules
read, shaped like dbt's manifest.json) passes every rule, and for each rule one or more
small edits of it make that rule fail with a message naming the node and the rule. The last
test runs every rule on the real project's manifest, from a fresh ``dbt parse`` into a
temporary target path (no build needed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shopfunnel import structure
from shopfunnel.structure import Violation, check_manifest, format_report

P = "shopfunnel"

# ------------------------------------------------------------------ tiny manifests


def _model(
    name: str,
    path: str,
    parents: list[str] | None = None,
    *,
    materialized: str = "table",
    columns: dict[str, dict[str, Any]] | None = None,
    enforced: bool = False,
    meta: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "resource_type": "model",
        "package_name": P,
        "name": name,
        "path": path,
        "description": f"The {name} model.",
        "columns": columns
        if columns is not None
        else {"id": {"name": "id", "description": "Key.", "data_type": "varchar"}},
        "config": {
            "materialized": materialized,
            "contract": {"enforced": enforced},
            "meta": meta or {},
        },
        "depends_on": {"nodes": parents or []},
    }


def _test(test_name: str, model: str, column: str) -> tuple[str, dict[str, Any]]:
    unique_id = f"test.{P}.{test_name}_{model}_{column}"
    return unique_id, {
        "resource_type": "test",
        "package_name": P,
        "name": f"{test_name}_{model}_{column}",
        "test_metadata": {"name": test_name, "kwargs": {"column_name": column}},
        "attached_node": f"model.{P}.{model}",
        "column_name": column,
        "depends_on": {"nodes": [f"model.{P}.{model}"]},
    }


SRC = f"source.{P}.shop.orders"


def good_manifest() -> dict[str, Any]:
    """A small project that follows every rule."""
    models = {
        "base_shop__orders": _model(
            "base_shop__orders",
            "staging/shop/base/base_shop__orders.sql",
            [SRC],
            materialized="view",
            meta={"primary_key_exempt": "every raw row"},
        ),
        "stg_shop__orders": _model(
            "stg_shop__orders",
            "staging/shop/stg_shop__orders.sql",
            [f"model.{P}.base_shop__orders", f"seed.{P}.order_statuses"],
        ),
        "stg_shop__orders_quarantine": _model(
            "stg_shop__orders_quarantine",
            "staging/shop/stg_shop__orders_quarantine.sql",
            [f"model.{P}.base_shop__orders", f"model.{P}.stg_shop__orders"],
        ),
        "int_orders_attributed": _model(
            "int_orders_attributed",
            "intermediate/orders/int_orders_attributed.sql",
            [f"model.{P}.stg_shop__orders"],
        ),
        "fct_orders": _model(
            "fct_orders",
            "marts/loyalty/fct_orders.sql",
            [f"model.{P}.int_orders_attributed"],
            enforced=True,
        ),
        "rpt_order_items": _model(
            "rpt_order_items",
            "marts/loyalty/rpt_order_items.sql",
            [f"model.{P}.fct_orders"],
            enforced=True,
        ),
        "metricflow_time_spine": _model(
            "metricflow_time_spine",
            "marts/metrics/metricflow_time_spine.sql",
            enforced=True,
        ),
    }
    nodes: dict[str, Any] = {f"model.{P}.{name}": node for name, node in models.items()}
    nodes[f"seed.{P}.order_statuses"] = {
        "resource_type": "seed",
        "package_name": P,
        "name": "order_statuses",
        "path": "order_statuses.csv",
        "config": {"materialized": "seed"},
        "depends_on": {"nodes": []},
    }
    for name in models:
        if name == "base_shop__orders":
            continue
        for test_name in ("unique", "not_null"):
            unique_id, test = _test(test_name, name, "id")
            nodes[unique_id] = test
    # a two-column key proven by a combination test instead of unique + not_null
    del nodes[f"test.{P}.unique_rpt_order_items_id"]
    nodes[f"test.{P}.combo_rpt_order_items"] = {
        "resource_type": "test",
        "package_name": P,
        "name": "unique_combination_of_columns_rpt_order_items",
        "test_metadata": {
            "name": "unique_combination_of_columns",
            "kwargs": {"combination_of_columns": ["id", "line"]},
        },
        "attached_node": f"model.{P}.rpt_order_items",
        "column_name": None,
        "depends_on": {"nodes": [f"model.{P}.rpt_order_items"]},
    }
    return {
        "metadata": {"project_name": P},
        "nodes": nodes,
        "sources": {
            SRC: {
                "resource_type": "source",
                "package_name": P,
                "source_name": "shop",
                "name": "orders",
                "source_description": "The shop's exports.",
                "description": "One row per order.",
                "columns": {"order_id": {"name": "order_id", "description": "Key."}},
                "loaded_at_field": "loaded_at",
                "freshness": {
                    "warn_after": {"count": 2, "period": "day"},
                    "error_after": {"count": None, "period": None},
                },
                "config": {},
            }
        },
        "semantic_models": {
            f"semantic_model.{P}.orders": {"depends_on": {"nodes": [f"model.{P}.fct_orders"]}}
        },
        "metrics": {
            f"metric.{P}.revenue": {"depends_on": {"nodes": [f"semantic_model.{P}.orders"]}}
        },
        "exposures": {
            f"exposure.{P}.loyalty_dashboard": {
                "depends_on": {"nodes": [f"model.{P}.rpt_order_items", f"metric.{P}.revenue"]}
            }
        },
    }


def _m(name: str) -> str:
    return f"model.{P}.{name}"


def _add(manifest: dict[str, Any], node: dict[str, Any], *, tested: bool = True) -> None:
    unique_id = _m(node["name"])
    manifest["nodes"][unique_id] = node
    if tested:
        for test_name in ("unique", "not_null"):
            test_id, test = _test(test_name, node["name"], "id")
            manifest["nodes"][test_id] = test


# ------------------------------------------------------------------ bad edits, one per case


def _stg_in_intermediate(m: dict[str, Any]) -> None:
    _add(m, _model("stg_shop__orders_enriched", "intermediate/stg_shop__orders_enriched.sql"))


def _mart_without_prefix(m: dict[str, Any]) -> None:
    _add(m, _model("orders_summary", "marts/loyalty/orders_summary.sql", enforced=True))


def _mart_without_area(m: dict[str, Any]) -> None:
    _add(m, _model("fct_returns", "marts/fct_returns.sql", enforced=True))


def _staging_named_for_other_source(m: dict[str, Any]) -> None:
    _add(m, _model("stg_web__orders", "staging/shop/stg_web__orders.sql"))


def _staging_folder_not_source(m: dict[str, Any]) -> None:
    m["nodes"][_m("base_shop__orders")]["path"] = "staging/crm/base/base_shop__orders.sql"


def _model_outside_layers(m: dict[str, Any]) -> None:
    _add(m, _model("rpt_weekly", "reports/rpt_weekly.sql"))


def _intermediate_reads_source(m: dict[str, Any]) -> None:
    m["nodes"][_m("int_orders_attributed")]["depends_on"]["nodes"].append(SRC)


def _staging_joins_source_and_seed(m: dict[str, Any]) -> None:
    m["nodes"][_m("base_shop__orders")]["depends_on"]["nodes"].append(f"seed.{P}.order_statuses")


def _staging_reads_other_table(m: dict[str, Any]) -> None:
    _add(m, _model("stg_shop__members", "staging/shop/stg_shop__members.sql"))
    m["nodes"][_m("stg_shop__orders")]["depends_on"]["nodes"].append(_m("stg_shop__members"))


def _staging_reads_mart(m: dict[str, Any]) -> None:
    m["nodes"][_m("stg_shop__orders")]["depends_on"]["nodes"].append(_m("fct_orders"))


def _staging_reads_intermediate(m: dict[str, Any]) -> None:
    m["nodes"][_m("stg_shop__orders_quarantine")]["depends_on"]["nodes"].append(
        _m("int_orders_attributed")
    )


def _staging_reads_its_quarantine(m: dict[str, Any]) -> None:
    m["nodes"][_m("stg_shop__orders")]["depends_on"]["nodes"].append(
        _m("stg_shop__orders_quarantine")
    )


def _model_without_description(m: dict[str, Any]) -> None:
    m["nodes"][_m("fct_orders")]["description"] = "  "


def _column_without_description(m: dict[str, Any]) -> None:
    m["nodes"][_m("int_orders_attributed")]["columns"]["person_id"] = {"name": "person_id"}


def _model_without_columns(m: dict[str, Any]) -> None:
    m["nodes"][_m("int_orders_attributed")]["columns"] = {}


def _source_table_without_description(m: dict[str, Any]) -> None:
    m["sources"][SRC]["description"] = ""


def _source_column_without_description(m: dict[str, Any]) -> None:
    m["sources"][SRC]["columns"]["status"] = {"name": "status", "description": ""}


def _unique_without_not_null(m: dict[str, Any]) -> None:
    del m["nodes"][f"test.{P}.not_null_fct_orders_id"]


def _not_null_on_other_column(m: dict[str, Any]) -> None:
    del m["nodes"][f"test.{P}.not_null_fct_orders_id"]
    test_id, test = _test("not_null", "fct_orders", "person_id")
    m["nodes"][test_id] = test


def _no_tests_at_all(m: dict[str, Any]) -> None:
    _add(m, _model("int_orders_ranked", "intermediate/int_orders_ranked.sql"), tested=False)


def _exempt_without_reason(m: dict[str, Any]) -> None:
    m["nodes"][_m("base_shop__orders")]["config"]["meta"]["primary_key_exempt"] = ""


def _source_without_freshness(m: dict[str, Any]) -> None:
    m["sources"][SRC]["freshness"] = {"warn_after": None, "error_after": None}


def _source_without_loaded_at(m: dict[str, Any]) -> None:
    m["sources"][SRC]["loaded_at_field"] = None


def _mart_contract_off(m: dict[str, Any]) -> None:
    m["nodes"][_m("fct_orders")]["config"]["contract"]["enforced"] = False


def _mart_column_untyped(m: dict[str, Any]) -> None:
    m["nodes"][_m("fct_orders")]["columns"]["order_total"] = {
        "name": "order_total",
        "description": "Amount.",
    }


def _exposure_on_view(m: dict[str, Any]) -> None:
    m["nodes"][_m("rpt_order_items")]["config"]["materialized"] = "view"


def _exposure_via_metric_on_ephemeral(m: dict[str, Any]) -> None:
    m["nodes"][_m("fct_orders")]["config"]["materialized"] = "ephemeral"


def _exposure_on_source(m: dict[str, Any]) -> None:
    m["exposures"][f"exposure.{P}.loyalty_dashboard"]["depends_on"]["nodes"].append(SRC)


def _hub_model(m: dict[str, Any]) -> None:
    for index in range(structure.FAN_OUT_THRESHOLD + 1):
        _add(
            m,
            _model(
                f"int_orders_slice_{index}",
                f"intermediate/int_orders_slice_{index}.sql",
                [_m("stg_shop__orders")],
            ),
        )


def _too_many_joins(m: dict[str, Any]) -> None:
    parents = []
    for index in range(structure.JOIN_COUNT_THRESHOLD + 1):
        name = f"int_part_{index}"
        _add(m, _model(name, f"intermediate/{name}.sql", [_m("stg_shop__orders")]))
        parents.append(_m(name))
    _add(m, _model("int_everything_joined", "intermediate/int_everything_joined.sql", parents))


Edit = Callable[[dict[str, Any]], None]

# (rule, edit, node named in the violation, words the message must contain)
BAD_CASES: list[tuple[str, Edit, str, str]] = [
    ("layer_naming", _stg_in_intermediate, _m("stg_shop__orders_enriched"), "int_*"),
    ("layer_naming", _mart_without_prefix, _m("orders_summary"), "fct_*"),
    ("layer_naming", _mart_without_area, _m("fct_returns"), "area folder"),
    ("layer_naming", _staging_named_for_other_source, _m("stg_web__orders"), "stg_shop__"),
    ("layer_naming", _staging_folder_not_source, _m("base_shop__orders"), "reads source 'shop'"),
    ("layer_naming", _model_outside_layers, _m("rpt_weekly"), "models live under"),
    ("source_outside_staging", _intermediate_reads_source, _m("int_orders_attributed"), SRC),
    ("direct_join_to_source", _staging_joins_source_and_seed, _m("base_shop__orders"), "joins"),
    ("staging_dependency", _staging_reads_other_table, _m("stg_shop__orders"), "stg_shop__members"),
    ("staging_dependency", _staging_reads_mart, _m("stg_shop__orders"), "'marts'"),
    (
        "staging_dependency",
        _staging_reads_intermediate,
        _m("stg_shop__orders_quarantine"),
        "'intermediate'",
    ),
    (
        "staging_dependency",
        _staging_reads_its_quarantine,
        _m("stg_shop__orders"),
        "stg_shop__orders_quarantine",
    ),
    ("model_documented", _model_without_description, _m("fct_orders"), "no description"),
    ("model_documented", _column_without_description, _m("int_orders_attributed"), "person_id"),
    ("model_documented", _model_without_columns, _m("int_orders_attributed"), "no column"),
    ("source_documented", _source_table_without_description, SRC, "table has no description"),
    ("source_documented", _source_column_without_description, SRC, "status"),
    ("primary_key_test", _unique_without_not_null, _m("fct_orders"), "unique on id"),
    ("primary_key_test", _not_null_on_other_column, _m("fct_orders"), "no primary-key test"),
    ("primary_key_test", _no_tests_at_all, _m("int_orders_ranked"), "no primary-key test"),
    ("primary_key_test", _exempt_without_reason, _m("base_shop__orders"), "no primary-key test"),
    ("source_freshness", _source_without_freshness, SRC, "warn_after"),
    ("source_freshness", _source_without_loaded_at, SRC, "loaded_at_field"),
    ("mart_contract", _mart_contract_off, _m("fct_orders"), "enforced: true"),
    ("mart_contract", _mart_column_untyped, _m("fct_orders"), "order_total"),
    (
        "exposure_parents",
        _exposure_on_view,
        f"exposure.{P}.loyalty_dashboard",
        "rpt_order_items, materialized as 'view'",
    ),
    (
        "exposure_parents",
        _exposure_via_metric_on_ephemeral,
        f"exposure.{P}.loyalty_dashboard",
        "fct_orders, materialized as 'ephemeral'",
    ),
    ("exposure_parents", _exposure_on_source, f"exposure.{P}.loyalty_dashboard", SRC),
    ("fan_out", _hub_model, _m("stg_shop__orders"), "FAN_OUT_THRESHOLD"),
    ("join_count", _too_many_joins, _m("int_everything_joined"), "JOIN_COUNT_THRESHOLD"),
]


def test_every_rule_has_a_bad_case() -> None:
    assert {case[0] for case in BAD_CASES} == set(structure.RULES)


def test_good_manifest_passes_every_rule() -> None:
    violations = check_manifest(good_manifest())
    assert violations == [], format_report(violations)


@pytest.mark.parametrize(
    ("rule", "edit", "node", "words"),
    BAD_CASES,
    ids=[f"{case[0]}-{case[1].__name__.lstrip('_')}" for case in BAD_CASES],
)
def test_bad_manifest_fails_its_rule(rule: str, edit: Edit, node: str, words: str) -> None:
    manifest = good_manifest()
    edit(manifest)
    violations = check_manifest(manifest, [rule])
    matching = [v for v in violations if v.rule == rule and v.node == node]
    assert matching, f"{edit.__name__} broke no {rule} rule on {node}: {violations}"
    assert any(words in v.message for v in matching), matching
    printed = str(matching[0])
    assert printed.startswith(f"[{rule}] {node}: "), printed


def test_report_lists_every_violation() -> None:
    manifest = good_manifest()
    _mart_contract_off(manifest)
    _source_without_freshness(manifest)
    report = format_report(check_manifest(manifest))
    assert "2 violation(s)" in report
    assert f"[mart_contract] {_m('fct_orders')}" in report
    assert f"[source_freshness] {SRC}" in report


def test_unknown_rule_is_refused() -> None:
    with pytest.raises(KeyError, match="no_such_rule"):
        check_manifest(good_manifest(), ["no_such_rule"])


def test_other_packages_are_not_judged() -> None:
    manifest = good_manifest()
    _model_without_description(manifest)
    manifest["nodes"][_m("fct_orders")]["package_name"] = "some_package"
    assert not [v for v in check_manifest(manifest) if v.node == _m("fct_orders")]


def test_cli_exit_code(tmp_path: Path) -> None:
    manifest = good_manifest()
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    assert structure.main([str(path)]) == 0
    _mart_contract_off(manifest)
    path.write_text(json.dumps(manifest))
    assert structure.main([str(path)]) == 1


# ------------------------------------------------------------------ the real project


@pytest.fixture(scope="session")
def project_manifest(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The project's manifest from a fresh `dbt parse` into a temporary target path."""
    scratch = tmp_path_factory.mktemp("structure_parse")
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(repo_root),
        "DBT_TARGET_PATH": str(scratch / "target"),
        "DBT_LOG_PATH": str(scratch / "logs"),
        "DUCKDB_PATH": str(scratch / "parse.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt = Path(sys.executable).with_name("dbt")
    result = subprocess.run(
        [str(dbt), "parse", "--no-partial-parse"],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"dbt parse failed:\n{result.stdout}\n{result.stderr}"
    return structure.load_manifest(scratch / "target" / "manifest.json")


def test_real_project_has_models(project_manifest: dict[str, Any]) -> None:
    layers = {structure._layer(node) for _, node in structure._models(project_manifest)}
    assert {"staging", "intermediate", "marts"} <= layers


def test_real_project_passes_every_rule(project_manifest: dict[str, Any]) -> None:
    violations: list[Violation] = check_manifest(project_manifest)
    assert not violations, format_report(violations)


def test_warehouse_columns_rule() -> None:
    manifest = good_manifest()
    warehouse = {
        ("marts", "fct_orders"): ["id"],
        ("marts", "rpt_order_items"): ["id", "line", "unit_price"],
    }
    for node in manifest["nodes"].values():
        node["schema"] = "marts"
    violations = structure.check_warehouse_columns(manifest, warehouse)
    assert [str(v) for v in violations] == [
        f"[warehouse_columns_documented] {_m('rpt_order_items')}: column(s) in "
        "marts.rpt_order_items missing from its YAML: line, unit_price"
    ]


def test_real_warehouse_columns_are_documented(
    project_manifest: dict[str, Any], built_db: duckdb.DuckDBPyConnection
) -> None:
    """Every column of every built model is in its YAML (needs the test build: make test)."""
    warehouse = structure.warehouse_columns(built_db)
    violations = structure.check_warehouse_columns(project_manifest, warehouse)
    assert not violations, format_report(violations)
