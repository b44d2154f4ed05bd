"""Funnel definitions: the shipped seeds are valid, and every rule of
``tests/funnels/assert_funnel_definitions_are_valid.sql`` can fail, naming the funnel, the
step and the rule (README "Funnels as configuration").

The test's SQL is compiled by dbt and run in DuckDB on the seed CSV files, then on copies of
them with one mistake each.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import duckdb
import pytest

from funnel_sql import compiled_sql

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[2]
TEST = "assert_funnel_definitions_are_valid"
SEEDS = REPO_ROOT / "seeds"
DEFINITION_TYPES = {"conversion_window": "integer", "breakdown_step": "integer"}
STEP_TYPES = {
    "step_number": "integer",
    "is_new_release": "boolean",
    "is_landing": "boolean",
    "is_optional": "boolean",
    "step_window": "integer",
    "exclude_from_step": "integer",
    "exclude_to_step": "integer",
}


@pytest.fixture(scope="module")
def compiled_test() -> str:
    sql = compiled_sql(TEST)
    for seed in ("funnel_definitions", "funnel_steps"):
        relation = re.compile(rf'"[^"]+"\."seeds"\."{seed}"')
        assert relation.search(sql), f"the compiled test no longer reads seed {seed}"
        sql = relation.sub(seed, sql)
    return sql


def _load(con: duckdb.DuckDBPyConnection, name: str, text: str, types: dict[str, str]) -> None:
    rows = list(csv.DictReader(io.StringIO(text)))
    columns = list(rows[0])
    con.execute(
        f"create or replace table {name} ("
        + ", ".join(f"{column} {types.get(column, 'varchar')}" for column in columns)
        + ")"
    )
    con.executemany(
        f"insert into {name} values ({', '.join(['?'] * len(columns))})",
        [[row[column] if row[column] != "" else None for column in columns] for row in rows],
    )


def problems(sql: str, definitions: str, steps: str) -> set[tuple[str, str | None, str]]:
    con = duckdb.connect()
    try:
        _load(con, "funnel_definitions", definitions, DEFINITION_TYPES)
        _load(con, "funnel_steps", steps, STEP_TYPES)
        return {
            (funnel, step, rule)
            for funnel, step, rule in con.execute(
                f"select funnel_name, step_name, broken_rule from ({sql})"
            ).fetchall()
        }
    finally:
        con.close()


def test_the_shipped_funnels_are_valid(compiled_test: str) -> None:
    definitions = (SEEDS / "funnel_definitions.csv").read_text()
    steps = (SEEDS / "funnel_steps.csv").read_text()
    assert problems(compiled_test, definitions, steps) == set()
    names = {row["funnel_name"] for row in csv.DictReader(io.StringIO(definitions))}
    # the case study's three funnels ship as examples
    assert {"signup_after_benefit_page", "product_to_purchase", "vip_new_release_purchase"} <= names


GOOD_DEFINITION = (
    "funnel_name,funnel_label,order_mode,hold_constant,conversion_window,"
    "conversion_window_unit,period_grain,breakdown_step,description\n"
    "f,F,{order_mode},none,{window},{unit},{grain},{breakdown},\n"
)
STEP_HEADER = (
    "funnel_name,step_type,step_number,step_name,event_name,page_type,channel_group,"
    "product_category,membership_grade,is_new_release,is_landing,is_optional,step_window,"
    "step_window_unit,exclude_from_step,exclude_to_step,description\n"
)


def _step(number: str, name: str, *, kind: str = "step", event: str = "page_view",
          optional: str = "", window: str = "", unit: str = "", first: str = "",
          last: str = "") -> str:
    return (
        f"f,{kind},{number},{name},{event},,,,,,,{optional},{window},{unit},{first},{last},\n"
    )


def _definition(order_mode: str = "ordered", window: str = "1", unit: str = "day",
                grain: str = "day", breakdown: str = "") -> str:
    return GOOD_DEFINITION.format(
        order_mode=order_mode, window=window, unit=unit, grain=grain, breakdown=breakdown
    )


THREE_STEPS = _step("1", "a") + _step("2", "b") + _step("3", "c")

CASES = {
    "one step": (_definition(), _step("1", "a"), (None, "a funnel has 2 to var")),
    "a gap in the numbers": (
        _definition(), _step("1", "a") + _step("3", "c"), (None, "steps are numbered 1"),
    ),
    "no window": (_definition(window="0"), THREE_STEPS, (None, "the conversion window")),
    "a window over too many periods": (
        _definition(window="5", grain="day"), THREE_STEPS, (None, "the window spans"),
    ),
    "a breakdown at an optional step": (
        _definition(breakdown="2"),
        _step("1", "a") + _step("2", "b", optional="true") + _step("3", "c"),
        (None, "breakdown_step is a required step"),
    ),
    "a duplicate step name": (
        _definition(), THREE_STEPS + _step("", "c", kind="exclusion"),
        ("c", "step_name is unique"),
    ),
    "an exclusion with a number": (
        _definition(), THREE_STEPS + _step("4", "x", kind="exclusion"),
        ("x", "a step has a step_number, an exclusion has none"),
    ),
    "an empty event name in a list": (
        _definition(), _step("1", "a", event="page_view;;login") + _step("2", "b"),
        ("a", "event_name lists"),
    ),
    "an optional last step": (
        _definition(), _step("1", "a") + _step("2", "b", optional="true"),
        ("b", "the first and the last step are required"),
    ),
    "an optional step in any order": (
        _definition(order_mode="any"),
        _step("1", "a") + _step("2", "b", optional="true") + _step("3", "c"),
        ("b", "the first and the last step are required"),
    ),
    "a step window without a unit": (
        _definition(), _step("1", "a") + _step("2", "b", window="5"),
        ("b", "a step window is above 0"),
    ),
    "a step window in any order": (
        _definition(order_mode="any"), _step("1", "a") + _step("2", "b", window="5", unit="hour"),
        ("b", "a step window is above 0"),
    ),
    "an exclusion ending at an optional step": (
        _definition(),
        _step("1", "a") + _step("2", "b", optional="true") + _step("3", "c")
        + _step("", "x", kind="exclusion", first="1", last="2"),
        ("x", "an exclusion lies between two required steps"),
    ),
    "an exclusion from after to": (
        _definition(), THREE_STEPS + _step("", "x", kind="exclusion", first="3", last="1"),
        ("x", "an exclusion lies between two required steps"),
    ),
    "an exclusion range in any order": (
        _definition(order_mode="any"),
        THREE_STEPS + _step("", "x", kind="exclusion", first="1", last="3"),
        ("x", "an exclusion lies between two required steps"),
    ),
    "an exclusion range on a step": (
        _definition(), _step("1", "a") + _step("2", "b", first="1"),
        ("b", "exclude_from_step and exclude_to_step are for exclusions only"),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_rule_names_the_funnel_step_and_rule(compiled_test: str, case: str) -> None:
    definitions, steps, (step, rule) = CASES[case]
    found = problems(compiled_test, definitions, STEP_HEADER + steps)
    assert any(
        funnel == "f" and found_step == step and found_rule.startswith(rule)
        for funnel, found_step, found_rule in found
    ), f"{case}: expected ({step!r}, {rule!r}...), got {found}"


def test_the_readme_example_is_valid(compiled_test: str) -> None:
    """README "Funnels as configuration" shows how to add a funnel: its rows are valid."""
    readme = (REPO_ROOT / "README.md").read_text()
    blocks = [
        block for block in readme.split("```")
        if block.lstrip("\n").startswith("funnel_name,funnel_label")
    ]
    assert blocks, "README has no example funnel definition"
    definitions, steps = blocks[0].strip("\n").split("\n\n")
    assert problems(compiled_test, definitions + "\n", steps + "\n") == set()
