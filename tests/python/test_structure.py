"""Structure checks (src/shopfunnel/structure.py) on tiny manifests and on the real project.

Each rule is proven able to fail: a tiny GOOD manifest (a dict with just the keys the rules
read, shaped like dbt's manifest.json) passes every rule, and for each rule one or more
small edits of it make that rule fail with a message naming the node and the rule. Every
construct of the DuckDB-only SQL list has an example that it finds, and portable SQL is
not reported. The last tests run every rule on the real project's manifest, from a fresh
``dbt parse`` into a temporary target path (no build needed), with the project's severities.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shopfunnel import cli, structure
from shopfunnel.engine_sql import DUCKDB_ONLY_SQL, find_duckdb_only_sql
from shopfunnel.structure import Violation, check_manifest, errors, format_report

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
    meta: dict[str, Any] | None = None,
    raw_code: str | None = None,
) -> dict[str, Any]:
    return {
        "resource_type": "model",
        "package_name": P,
        "name": name,
        "path": path,
        "original_file_path": f"models/{path}",
        "raw_code": raw_code if raw_code is not None else PORTABLE_MODEL_SQL,
        "description": f"The {name} model.",
        "columns": columns
        if columns is not None
        else {"id": {"name": "id", "description": "Key.", "data_type": "string"}},
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

# SQL both engines run, written to tempt the DuckDB-only patterns: constructs inside Jinja,
# comments and string literals, and the portable spellings of DuckDB-only ones.
PORTABLE_MODEL_SQL = """{#- arg_min(x, y), [1, 2], x::int: a Jinja comment -#}
{%- set parts = ['a', 'b'] %}
with

orders as (
    select * from {{ ref('stg_shop__orders') }}  -- not x::double, nor range(3)
),

final as (
    /* qualify, regexp_matches(a, 'b'), struct_pack(a := 1) */
    select
        min_by(order_id, ordered_at) as first_order_id,
        max_by(order_id, ordered_at) as last_order_id,
        count(*) filter (where status = 'paid') as paid_orders,
        median(order_total) as median_total,
        cast(order_id as string) as order_key,
        cast(order_id as varchar(64)) as order_key_64,
        min(ordered_at) + interval '30 minutes' as first_plus_30,
        max(ordered_at) + interval 1 day as last_plus_day,
        'a::b [c] ~d ^e // f {g}' as a_string,
        "odd::column" as quoted_identifier,
        {{ dbt.datediff('min(ordered_at)', 'max(ordered_at)', 'day') }} as span_days
    from orders
)

select * from final
"""


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
    # a singular data test: its SQL is checked like a model's
    nodes[f"test.{P}.assert_orders_paid"] = {
        "resource_type": "test",
        "package_name": P,
        "name": "assert_orders_paid",
        "original_file_path": "tests/assert_orders_paid.sql",
        "raw_code": PORTABLE_MODEL_SQL,
        "depends_on": {"nodes": [f"model.{P}.fct_orders"]},
    }
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
        "macros": {
            # an adapter.dispatch macro: DuckDB SQL in its duckdb__ side only
            f"macro.{P}.first_by": _macro("first_by", "{{ adapter.dispatch('first_by')(x, k) }}"),
            f"macro.{P}.duckdb__first_by": _macro("duckdb__first_by", "arg_min({{ x }}, {{ k }})"),
            f"macro.{P}.default__first_by": _macro("default__first_by", "min_by({{ x }}, {{ k }})"),
        },
    }


def _macro(name: str, body: str) -> dict[str, Any]:
    args = "(x, k)"
    return {
        "resource_type": "macro",
        "package_name": P,
        "name": name,
        "original_file_path": "macros/first_by.sql",
        "macro_sql": f"{{% macro {name}{args} -%}}\n    {body}\n{{%- endmacro %}}",
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


def _leaf(name: str, parents: list[str]) -> dict[str, Any]:
    return _model(name, f"intermediate/{name}.sql", parents)


def _hub_model(m: dict[str, Any]) -> None:
    # stg_shop__orders_quarantine is already a leaf child of stg_shop__orders: add the rest
    # to reach the threshold exactly (it counts "threshold or more", like the evaluator)
    for index in range(structure.FAN_OUT_THRESHOLD - 1):
        _add(m, _leaf(f"int_orders_slice_{index}", [_m("stg_shop__orders")]))


def _hub_exempt_without_reason(m: dict[str, Any]) -> None:
    _hub_model(m)
    m["nodes"][_m("stg_shop__orders")]["config"]["meta"]["structure_exempt"] = {"fan_out": " "}


def _rejoined_step(m: dict[str, Any]) -> None:
    # fct_orders reads int_orders_attributed directly and through int_orders_ranked, which
    # feeds nothing else
    _add(m, _leaf("int_orders_ranked", [_m("int_orders_attributed")]))
    m["nodes"][_m("fct_orders")]["depends_on"]["nodes"].append(_m("int_orders_ranked"))


def _rejoined_step_also_exposed(m: dict[str, Any]) -> None:
    # an exposure on the step does not make it more than a step (evaluator: exposures out)
    _rejoined_step(m)
    m["exposures"][f"exposure.{P}.loyalty_dashboard"]["depends_on"]["nodes"].append(
        _m("int_orders_ranked")
    )


def _root_model(m: dict[str, Any]) -> None:
    _add(m, _model("int_calendar", "intermediate/int_calendar.sql"))


def _unused_source(m: dict[str, Any]) -> None:
    returns = {**m["sources"][SRC], "name": "returns", "description": "One row per return."}
    m["sources"][f"source.{P}.shop.returns"] = returns


def _exemption_for_other_rule(m: dict[str, Any]) -> None:
    meta = m["nodes"][_m("fct_orders")]["config"]["meta"]
    meta["structure_exempt"] = {"mart_contract": "legacy table"}


def _exemption_not_a_mapping(m: dict[str, Any]) -> None:
    m["nodes"][_m("fct_orders")]["config"]["meta"]["structure_exempt"] = "fan_out"


def _model_with_duckdb_sql(m: dict[str, Any]) -> None:
    m["nodes"][_m("int_orders_attributed")]["raw_code"] = (
        "with orders as (select * from {{ ref('stg_shop__orders') }})\n"
        "select\n"
        "    arg_min(order_id, ordered_at) as first_order_id\n"
        "from orders\n"
    )


def _cast_shorthand_in_singular_test(m: dict[str, Any]) -> None:
    test = m["nodes"][f"test.{P}.assert_orders_paid"]
    test["raw_code"] = "select *\nfrom {{ ref('fct_orders') }}\nwhere order_total::double < 0\n"


def _disabled_model_with_duckdb_sql(m: dict[str, Any]) -> None:
    # a model enabled by a var (a tracker adapter) is in manifest["disabled"], still checked
    node = _model("base_tracker__events", "staging/tracker/base_tracker__events.sql")
    node["raw_code"] = "select\n    cast(null as json[]) as entities\n"
    node["config"]["enabled"] = False
    m.setdefault("disabled", {})[_m("base_tracker__events")] = [node]


def _seed_type_spark_lacks(m: dict[str, Any]) -> None:
    # a seed's column_types become the DDL of its table on the engine
    m["nodes"][f"seed.{P}.funnel_steps"] = {
        "resource_type": "seed",
        "package_name": P,
        "name": "funnel_steps",
        "path": "funnel_steps.csv",
        "original_file_path": "seeds/funnel_steps.csv",
        "description": "Steps.",
        "columns": {},
        "config": {"column_types": {"step_name": "varchar", "step_number": "integer"}},
        "depends_on": {"nodes": []},
    }


def _contract_type_spark_lacks(m: dict[str, Any]) -> None:
    columns = m["nodes"][_m("fct_orders")]["columns"]
    next(iter(columns.values()))["data_type"] = "varchar"


def _duckdb_sql_in_default_macro(m: dict[str, Any]) -> None:
    m["macros"][f"macro.{P}.default__first_by"] = _macro("default__first_by", "arg_min(x, k)")


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
    ("fan_out", _hub_model, _m("stg_shop__orders"), "3 direct leaf models"),
    ("fan_out", _hub_exempt_without_reason, _m("stg_shop__orders"), "FAN_OUT_THRESHOLD=3"),
    (
        "rejoining_of_upstream_concepts",
        _rejoined_step,
        _m("fct_orders"),
        "through int_orders_ranked",
    ),
    (
        "rejoining_of_upstream_concepts",
        _rejoined_step_also_exposed,
        _m("fct_orders"),
        "make int_orders_ranked a CTE",
    ),
    ("root_models", _root_model, _m("int_calendar"), "no ref() or source()"),
    ("unused_sources", _unused_source, f"source.{P}.shop.returns", "no model or snapshot"),
    ("exemption_documented", _hub_exempt_without_reason, _m("stg_shop__orders"), "no reason"),
    ("exemption_documented", _exemption_for_other_rule, _m("fct_orders"), "'mart_contract'"),
    ("exemption_documented", _exemption_not_a_mapping, _m("fct_orders"), "must map a rule"),
    (
        "duckdb_only_sql",
        _model_with_duckdb_sql,
        _m("int_orders_attributed"),
        "models/intermediate/orders/int_orders_attributed.sql:3: arg_min/arg_max",
    ),
    (
        "duckdb_only_sql",
        _cast_shorthand_in_singular_test,
        f"test.{P}.assert_orders_paid",
        "tests/assert_orders_paid.sql:3: :: cast",
    ),
    (
        "duckdb_only_sql",
        _disabled_model_with_duckdb_sql,
        _m("base_tracker__events"),
        "models/staging/tracker/base_tracker__events.sql:2: list literal or [] index",
    ),
    (
        "duckdb_only_sql",
        _seed_type_spark_lacks,
        f"seed.{P}.funnel_steps",
        "column step_name is declared 'varchar' in YAML: type name Spark lacks",
    ),
    (
        "duckdb_only_sql",
        _contract_type_spark_lacks,
        _m("fct_orders"),
        "is declared 'varchar' in YAML: type name Spark lacks",
    ),
    (
        "duckdb_only_sql_in_macros",
        _duckdb_sql_in_default_macro,
        f"macro.{P}.default__first_by",
        "macros/first_by.sql:2: arg_min/arg_max (arg_min()",
    ),
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


def _write_project(root: Path, severity: dict[str, str] | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {"name": P}
    if severity is not None:
        config["vars"] = {structure.SEVERITY_VAR: severity}
    (root / "dbt_project.yml").write_text(json.dumps(config))  # JSON is YAML
    return root


def test_cli_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _write_project(tmp_path / "project", {"duckdb_only_sql": "warn"})
    manifest = good_manifest()
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    command = ["structure", str(path), "--project-dir", str(project)]
    assert cli.main(command) == 0
    assert "every rule passes" in capsys.readouterr().out

    # a rule set to warn prints its findings and passes
    _model_with_duckdb_sql(manifest)
    path.write_text(json.dumps(manifest))
    assert cli.main(command) == 0
    out = capsys.readouterr().out
    assert "0 violation(s), 1 warning(s)" in out
    assert "int_orders_attributed.sql:3: arg_min/arg_max" in out
    # --severity makes it an error for one run
    assert cli.main([*command, "--severity", "duckdb_only_sql=error"]) == 1
    assert "1 violation(s), 0 warning(s)" in capsys.readouterr().out

    _mart_contract_off(manifest)
    path.write_text(json.dumps(manifest))
    assert cli.main(command) == 1


def test_cli_checks_a_built_warehouse(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = good_manifest()
    for node in manifest["nodes"].values():
        node["schema"] = "marts"
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    db = tmp_path / "built.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema marts")
    con.execute("create table marts.fct_orders as select 1 as id, 2.0 as undocumented_total")
    con.close()
    project = _write_project(tmp_path / "project")
    assert cli.main(["structure", str(path), "--project-dir", str(project), "--db", str(db)]) == 1
    assert "marts.fct_orders missing from its YAML: undocumented_total" in capsys.readouterr().out


def test_cli_refuses_a_bad_severity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = _write_project(tmp_path / "project", {"duckdb_only_sql": "loud"})
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(good_manifest()))
    assert cli.main(["structure", str(path), "--project-dir", str(project)]) == 2
    assert "severity must be one of error, warn, off" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["structure", str(path), "--severity", "duckdb_only_sql=loud"])


def test_severity_warn_off_and_default() -> None:
    manifest = good_manifest()
    _model_with_duckdb_sql(manifest)
    _root_model(manifest)
    found = check_manifest(manifest, severity={"duckdb_only_sql": "warn"})
    assert {(v.rule, v.severity) for v in found} == {
        ("duckdb_only_sql", "warn"),
        ("root_models", "error"),
    }
    assert [v.rule for v in errors(found)] == ["root_models"]
    found = check_manifest(manifest, severity={"duckdb_only_sql": "off", "root_models": "off"})
    assert found == []
    with pytest.raises(ValueError, match="unknown rule"):
        check_manifest(manifest, severity={"no_such_rule": "warn"})


def test_load_severity(tmp_path: Path) -> None:
    project = _write_project(tmp_path / "a", {"duckdb_only_sql": "warn", "fan_out": "off"})
    assert structure.load_severity(project) == {"duckdb_only_sql": "warn", "fan_out": "off"}
    assert structure.load_severity(_write_project(tmp_path / "b")) == {}
    with pytest.raises(ValueError, match="unknown rule"):
        structure.load_severity(_write_project(tmp_path / "c", {"fanout": "warn"}))


# ------------------------------------------------------------------ DAG rules, more closely


def test_fan_out_counts_only_leaves() -> None:
    manifest = good_manifest()
    for index in range(structure.FAN_OUT_THRESHOLD + 1):
        _add(manifest, _leaf(f"int_orders_slice_{index}", [_m("stg_shop__orders")]))
        # each slice feeds a model of its own: not a leaf, not counted
        _add(manifest, _leaf(f"int_orders_slice_{index}_used", [_m(f"int_orders_slice_{index}")]))
    # int_orders_slice_i has one leaf child each; stg_shop__orders has one (the quarantine)
    assert check_manifest(manifest, ["fan_out"]) == []


def test_fan_out_below_threshold_passes() -> None:
    manifest = good_manifest()
    _hub_model(manifest)
    del manifest["nodes"][_m("int_orders_slice_0")]
    assert check_manifest(manifest, ["fan_out"]) == []


def test_rejoining_needs_a_single_use_step() -> None:
    manifest = good_manifest()
    _rejoined_step(manifest)
    # the step also feeds another model: it saves duplicated code, not a loop to fold
    _add(manifest, _leaf("int_orders_ranked_daily", [_m("int_orders_ranked")]))
    assert check_manifest(manifest, ["rejoining_of_upstream_concepts"]) == []


@pytest.mark.parametrize(
    ("rule", "edit", "node"),
    [
        ("fan_out", _hub_model, _m("stg_shop__orders")),
        ("rejoining_of_upstream_concepts", _rejoined_step, _m("fct_orders")),
        ("root_models", _root_model, _m("int_calendar")),
        ("unused_sources", _unused_source, f"source.{P}.shop.returns"),
        ("duckdb_only_sql", _model_with_duckdb_sql, _m("int_orders_attributed")),
        ("duckdb_only_sql", _disabled_model_with_duckdb_sql, _m("base_tracker__events")),
    ],
)
def test_exemption_with_a_reason(rule: str, edit: Edit, node: str) -> None:
    manifest = good_manifest()
    edit(manifest)
    assert [v.node for v in check_manifest(manifest, [rule])] == [node]
    if node.startswith("source."):
        target = manifest["sources"][node]
    elif node in manifest["nodes"]:
        target = manifest["nodes"][node]
    else:
        target = manifest["disabled"][node][0]
    target.setdefault("config", {}).setdefault("meta", {})["structure_exempt"] = {
        rule: "a documented reason"
    }
    assert check_manifest(manifest, [rule, "exemption_documented"]) == []


# ------------------------------------------------------------------ DuckDB-only SQL

# one example per construct of the list: it must find that construct and nothing else
DUCKDB_EXAMPLES = {
    "arg_min/arg_max": "select arg_max(a, b) from t",
    ":: cast": "select x::int from t",
    "type name Spark lacks": "select cast(x as varchar) from t",
    "range()/generate_series() table": "select * from range(3)",
    "quantile()": "select quantile_cont(x, 0.5) from t",
    "DuckDB regexp function": "select regexp_matches(x, 'a') from t",
    "~ regex operator": "select x ~ 'a' from t",
    "list literal or [] index": "select [1, 2] as xs",
    "list function": "select list_contains(xs, 1) from t",
    "unnest()": "select unnest(xs) from t",
    "string_agg()": "select string_agg(x, ',') from t",
    "struct literal or struct_pack()": "select struct_pack(a := 1)",
    "to_<unit>() interval": "select ts + to_days(3) from t",
    "interval of an expression": "select ts + interval (n) day from t",
    "date_diff()/date_add()/date_sub()": "select date_diff('day', a, b) from t",
    "any_value()": "select any_value(x) from t group by y",
    "epoch": "select date_part('epoch', ts) from t",
    "strftime()/strptime()": "select strftime(ts, '%Y') from t",
    "* exclude/replace, columns()": "select * exclude (a) from t",
    "qualify": "select a from t qualify row_number() over (order by a) = 1",
    "ignore nulls inside the parentheses": "select last_value(x ignore nulls) over (order by t)",
    "filter (where ...) on a window aggregate": (
        "select count(*) filter (where x > 1) over (partition by y) from t"
    ),
    "hash()/sha256()": "select hash(x) from t",
    "time zone conversion": "select ts at time zone 'UTC' from t",
    "DuckDB operator ^ ** //": "select 2 ^ 3",
    "DuckDB file reader": "select * from read_parquet('x.parquet')",
    "asof/positional join, union by name": "select * from a asof join b on a.t >= b.t",
    "concat()": "select concat(a, b) from t",
    "today()": "select today()",
}


def test_every_construct_has_an_example() -> None:
    assert set(DUCKDB_EXAMPLES) == {construct.name for construct in DUCKDB_ONLY_SQL}


@pytest.mark.parametrize("name", sorted(DUCKDB_EXAMPLES))
def test_construct_example_is_found(name: str) -> None:
    hits = find_duckdb_only_sql(DUCKDB_EXAMPLES[name])
    assert [(line, construct.name) for line, construct, _ in hits] == [(1, name)]


@pytest.mark.parametrize(
    "sql",
    [
        PORTABLE_MODEL_SQL,
        "select count(*) filter (where x > 1) as n from t",  # plain aggregate: Spark 3.0+
        "select sum(x) over (order by t) from t where (y) > 1",
        "select cast(x as varchar(10)), cast(y as double), cast(z as decimal(18, 2)) from t",
        "select coalesce(a, b) as range_start, list_price from t",  # names, not calls
        "select last_value(x) over (order by t rows between unbounded preceding and current row)",
        "select '{{ not jinja in a string }}' as s, 'it''s :: fine' as t",
        "{% macro m() %}{{ return(arg_min) }}{% endmacro %}",
    ],
)
def test_portable_sql_is_not_reported(sql: str) -> None:
    assert find_duckdb_only_sql(sql) == []


def test_hits_carry_the_line_through_jinja_and_comments() -> None:
    sql = (
        "{%- set tables = [\n    'a',\n    'b',\n] %}\n"  # lines 1-4: Jinja over lines
        "/* a comment\n   over two lines: x::int */\n"  # lines 5-6
        "select 'a\nmultiline string [1]' as s,\n"  # lines 7-8
        "    x::int as x, any_value(y) as y\n"  # line 9: two constructs
        "from t\n"
    )
    hits = find_duckdb_only_sql(sql)
    assert [(line, construct.name, text) for line, construct, text in hits] == [
        (9, ":: cast", "::"),
        (9, "any_value()", "any_value("),
    ]


def test_macro_hits_report_the_line_in_the_file(tmp_path: Path) -> None:
    manifest = good_manifest()
    _duckdb_sql_in_default_macro(manifest)
    macro = manifest["macros"][f"macro.{P}.default__first_by"]
    (tmp_path / "macros").mkdir()
    (tmp_path / "macros" / "first_by.sql").write_text(
        "{# first of two macros #}\n{% macro other() %}1{% endmacro %}\n\n"
        + macro["macro_sql"]
        + "\n"
    )
    found = check_manifest(manifest, ["duckdb_only_sql_in_macros"], project_dir=tmp_path)
    assert [(v.line, v.message.split(": use")[0]) for v in found] == [
        (5, "macros/first_by.sql:5: arg_min/arg_max (arg_min()")
    ]


# ------------------------------------------------------------------ the real project


@pytest.fixture(scope="session")
def project_manifest(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The project's manifest from a fresh `dbt parse` into a temporary target path."""
    return structure.parse_project(repo_root, tmp_path_factory.mktemp("structure_parse"))


def test_real_project_has_models(project_manifest: dict[str, Any]) -> None:
    layers = {structure._layer(node) for _, node in structure._models(project_manifest)}
    assert {"staging", "intermediate", "marts"} <= layers


def test_real_project_passes_every_rule(project_manifest: dict[str, Any], repo_root: Path) -> None:
    """Every rule set to error passes; rules set to warn in dbt_project.yml (DuckDB-only SQL
    until the Spark work lands) may report, and their report names file, line and construct."""
    severity = structure.load_severity(repo_root)
    violations: list[Violation] = check_manifest(
        project_manifest, severity=severity, project_dir=repo_root
    )
    assert not errors(violations), format_report(violations)
    for violation in violations:
        assert violation.severity == severity[violation.rule] == "warn", violation
        if violation.rule.startswith("duckdb_only_sql"):
            assert f":{violation.line}: " in violation.message, violation


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
