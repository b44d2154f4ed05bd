"""The DuckDB-only SQL finder on the shapes the Spark work met (shopfunnel.engine_sql)."""

from __future__ import annotations

from shopfunnel.engine_sql import find_duckdb_only_sql, sql_views


def _names(sql: str) -> list[str]:
    return [construct.name for _, construct, _ in find_duckdb_only_sql(sql)]


def test_a_config_with_a_nested_jinja_hook_does_not_hide_the_model() -> None:
    sql = (
        "{{\n    config(\n        pre_hook=\"{{ delete_touched('id', 'touched') }}\",\n"
        "    )\n}}\nselect arg_min(x, y) from t\n"
    )
    assert _names(sql) == ["arg_min/arg_max"]
    assert find_duckdb_only_sql(sql)[0][0] == 6


def test_jinja_is_blanked_whole_and_lines_are_kept() -> None:
    code, _ = sql_views("a {{ f('{{ x }}') }} b\n{% if y %}c{% endif %}")
    assert code.split("\n")[0].split() == ["a", "b"]
    assert code.count("\n") == 1


def test_the_cross_engine_spellings_are_not_reported() -> None:
    sql = (
        "select {{ regex_search('x', 'a') }}, cast(x as string), min_by(a, b),\n"
        "{{ add_days('d', 3) }}, max(flag) from t union all select * from u\n"
    )
    assert _names(sql) == []


def test_the_spellings_spark_rejects_are_reported() -> None:
    sql = (
        "select * exclude (a), x::double, cast(y as varchar), date_diff('day', a, b)\n"
        "from t union all by name select * from range(3)\n"
    )
    assert set(_names(sql)) == {
        "* exclude/replace, columns()",
        ":: cast",
        "type name Spark lacks",
        "date_diff()/date_add()/date_sub()",
        "asof/positional join, union by name",
        "range()/generate_series() table",
    }
