"""The generator's marketing actions (``generate --actions on``), without dbt: they change
nothing before the action date, hold out exactly the persons macro ``is_in_holdout`` holds
out, reach every other person of their population they draw, and write the outcome of each
person with and without the action. The marts' side is in test_lift_known_answers.py."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from shopfunnel.generate import Generator, Params
from shopfunnel.generate.actions import (
    ACTIONS,
    COUPON_ORDER_IDX,
    SMS_ORDER_IDX,
    TRUTH_FILE,
    holdout_draw,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SIZE = {"visitors": 3000, "days": 45, "history_days": 45, "seed": 9}
EFFECTS = {"retargeting": 0.2, "coupon": 0.5, "sms": 0.5}
ACTION_DATE = date(2026, 1, 15)  # the default: the last day (Feb 14) minus 30 days


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict]:
    """The same shop without and with the actions."""
    base = tmp_path_factory.mktemp("lift_gen")
    Generator(Params(**SIZE), base / "off").run()
    manifest = Generator(Params(**SIZE, actions=True, action_effects=EFFECTS), base / "on").run()
    return base / "off", base / "on", manifest


def _truth(folder: Path) -> list[dict]:
    con = duckdb.connect()
    try:
        cursor = con.execute(f"select * from read_parquet('{folder / TRUTH_FILE}')")
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def _rows(folder: Path, table: str, where: str = "true", columns: str = "*") -> list[tuple]:
    return duckdb.sql(
        f"select {columns} from read_parquet('{folder}/{table}/*.parquet') where {where} "
        "order by all"
    ).fetchall()


def test_defaults_are_the_marts_vars() -> None:
    """The generator's holdout seed, share and window are the dbt vars' defaults, and its
    actions are the registry's audiences with their conversion rules."""
    project_vars = yaml.safe_load((REPO_ROOT / "dbt_project.yml").read_text())["vars"]
    params = Params()
    assert params.holdout_seed == project_vars["holdout_seed"]
    assert params.holdout_share == project_vars["holdout_share"]
    assert params.lift_window_days == project_vars["lift_window_days"]
    assert params.new_release_days == project_vars["new_release_days"]
    registry = {
        row["audience_name"]: row["conversion_rule"]
        for row in csv.DictReader((REPO_ROOT / "seeds" / "audiences.csv").open())
    }
    assert {action.audience: action.conversion_rule for action in ACTIONS} == registry
    assert not params.actions  # off by default: make demo's data set is the one without


def test_default_action_date_leaves_a_whole_window() -> None:
    params = Params(start_date=date(2026, 1, 1), days=90)
    assert params.action_date() == date(2026, 3, 1)  # Mar 31 - 30 days
    assert Params(**SIZE).action_date() == ACTION_DATE


def test_holdout_draw_by_hand() -> None:
    """The same values as the mart's unit test coupon_audience_holdout_by_hand."""
    as_of, seed = "2026-03-31", 20261124
    draw = {
        member: holdout_draw(f"mbr_{member}", "aud_first_purchase_coupon", as_of, seed)
        for member in ("M00000001", "M00000007", "M00000021", "M00000042")
    }
    assert [round(value, 4) for value in draw.values()] == [0.1552, 0.0834, 0.0583, 0.0915]


def test_nothing_changes_before_the_action_date(pair) -> None:
    """Every row of the shop up to the end of the action date is the same with and without
    the actions (the members' consent and contact data too): the audiences, built from that
    data, are the same persons either way, so the actions cannot select who is measured."""
    off, on, _ = pair
    cut = "timestamptz '2026-01-16 00:00:00+00'"
    checks = {
        "events": ("event_at < " + cut, "*"),
        "members": (
            "signed_up_at < " + cut,
            "member_id, signed_up_at, sms_opt_in, marketing_opt_in, email, phone",
        ),
        "orders": ("ordered_at < " + cut, "*"),
        "member_grade_history": ("valid_from < " + cut, "*"),
        "products": ("true", "*"),
    }
    for table, (where, columns) in checks.items():
        before = _rows(off, table, where, columns)
        assert before, table
        assert _rows(on, table, where, columns) == before, table
    lines = "order_id in (select order_id from read_parquet('{}/orders/*.parquet') where {})"
    assert _rows(on, "order_items", lines.format(on, checks["orders"][0])) == _rows(
        off, "order_items", lines.format(off, checks["orders"][0])
    )


def test_actions_add_rows_after_the_action_date_only(pair) -> None:
    """New members sign up and new orders are placed after the action date. (A member's
    row also carries the grade at the export, which later orders may raise.)"""
    off, on, manifest = pair
    added = manifest["actions"]["added_rows"]
    assert added["signups"] > 0 and added["orders"] > 0
    first_new = {
        "signed_up_at": f"""
            select min(signed_up_at) from read_parquet('{on}/members/*.parquet')
            where member_id not in (select member_id from read_parquet('{off}/members/*.parquet'))
        """,
        "ordered_at": f"""
            select min(ordered_at) from (
                select * from read_parquet('{on}/orders/*.parquet')
                except all
                select * from read_parquet('{off}/orders/*.parquet')
            )
        """,
    }
    for column, sql in first_new.items():
        first = duckdb.sql(sql).fetchall()[0][0]
        assert first is not None and first.date() > ACTION_DATE, column


def test_holdout_is_the_marts_hash_person_by_person(pair) -> None:
    _, on, manifest = pair
    truth = _truth(on)
    assert {row["action"] for row in truth} == {action.name for action in ACTIONS}
    for row in truth:
        draw = holdout_draw(row["person_key"], row["audience_name"], ACTION_DATE, 20261124)
        assert row["is_holdout"] == (draw < 0.10), row
    held = sum(row["is_holdout"] for row in truth)
    assert abs(held / len(truth) - 0.10) < 4 * math.sqrt(0.09 / len(truth))
    assert manifest["actions"]["build_vars"] == {
        "audience_as_of_date": "2026-01-15",
        "lift_window_days": 30,
        "holdout_seed": 20261124,
        "holdout_share": 0.1,
    }


def test_each_response_is_in_the_data_for_persons_outside_the_holdout_only(pair) -> None:
    """A reached person's response is in the raw tables; a held-out person drawn by the
    action has none (their outcome with the action exists only in the truth file)."""
    _, on, _ = pair
    truth = _truth(on)
    members = {row[0]: row[1] for row in _rows(on, "members", columns="member_id, signed_up_at")}
    device_members = dict(
        _rows(on, "events", "event_name = 'sign_up'", "distinct anonymous_id, member_id")
    )
    orders = {row[0] for row in _rows(on, "orders", "status = 'paid'", "order_id")}
    checked = {"retargeting": 0, "coupon": 0, "sms": 0}
    for row in truth:
        if not (row["is_drawn"] and row["can_respond"]):
            continue
        checked[row["action"]] += 1
        if row["action"] == "retargeting":
            member = device_members.get(row["anonymous_id"])
            assert (member is not None) == row["is_reached"], row
            if member is not None:
                assert member == row["member_id"], row
                # the session starts at the response; the sign-up ends it
                lag = (members[member] - row["response_at"]).total_seconds()
                assert 0 < lag < 7200, row
        else:
            o_idx = COUPON_ORDER_IDX if row["action"] == "coupon" else SMS_ORDER_IDX
            person_idx = int(row["member_id"][1:]) - 1
            order_id = f"O{person_idx * 16 + o_idx + 1:010d}"
            assert (order_id in orders) == row["is_reached"], row
    assert all(count > 10 for count in checked.values()), checked


def test_outcomes_follow_the_planted_effect(pair) -> None:
    """Among the persons an action can reach, the share it converts is its effect share
    (within 4 standard errors); it never undoes a conversion; without an effect it changes
    no outcome."""
    _, on, manifest = pair
    truth = _truth(on)
    for action in ACTIONS:
        rows = [row for row in truth if row["action"] == action.name]
        assert all(row["converts_with_action"] >= row["converts_without_action"] for row in rows)
        eligible = [
            row for row in rows if row["can_respond"] and not row["converts_without_action"]
        ]
        converted = sum(row["converts_with_action"] for row in eligible) / len(eligible)
        effect = EFFECTS[action.name]
        # an SMS converts only when its new-release line really is one (almost always)
        low = effect * (0.9 if action.name == "sms" else 1.0)
        tolerance = 4 * math.sqrt(effect * (1 - effect) / len(eligible))
        assert low - tolerance <= converted <= effect + tolerance, (action.name, converted)
        planted = manifest["actions"]["actions"][action.name]
        assert planted["effect"] == effect and planted["population_persons"] == len(rows)
        assert planted["population_effect"] == pytest.approx(
            sum(row["converts_with_action"] - row["converts_without_action"] for row in rows)
            / len(rows),
            abs=1e-6,
        )


def test_no_effect_planted_changes_no_outcome(tmp_path: Path) -> None:
    manifest = Generator(
        Params(**SIZE, actions=True, action_effects={"retargeting": 0.2}), tmp_path
    ).run()
    truth = _truth(tmp_path)
    for action in ("coupon", "sms"):
        rows = [row for row in truth if row["action"] == action]
        assert rows and not any(row["is_drawn"] for row in rows)
        assert all(row["converts_with_action"] == row["converts_without_action"] for row in rows)
        assert manifest["actions"]["actions"][action]["population_effect"] == 0
        assert manifest["actions"]["actions"][action]["has_effect"] is False


def test_actions_off_write_no_truth_and_ignore_action_parameters(tmp_path: Path) -> None:
    first = Generator(Params(**SIZE), tmp_path / "a").run()
    second = Generator(
        Params(**SIZE, action_effects={"coupon": 0.9}, holdout_share=0.5), tmp_path / "b"
    ).run()
    assert first["actions"] == second["actions"] == {"enabled": False}
    assert not (tmp_path / "a" / TRUTH_FILE).exists()
    for table in ("events", "members", "orders", "order_items"):
        assert _rows(tmp_path / "a", table) == _rows(tmp_path / "b", table), table


def test_command_line(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    done = subprocess.run(
        [
            sys.executable, "-m", "shopfunnel", "generate", "--visitors", "1500", "--days",
            "40", "--history-days", "30", "--seed", "4", "--out", str(out), "--quiet",
            "--actions", "on", "--actions-as-of", "2026-01-20", "--holdout-seed", "99",
            "--holdout-share", "0.3", "--action-effect", "coupon=0.4",
            "--action-effect", "sms=0.1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "audience_as_of_date: 2026-01-20" in done.stdout
    planted = json.loads((out / "manifest.json").read_text())["actions"]
    assert planted["as_of_date"] == "2026-01-20"
    assert planted["holdout_seed"] == 99 and planted["holdout_share"] == 0.3
    effects = {name: action["effect"] for name, action in planted["actions"].items()}
    assert effects == {"retargeting": 0.03, "coupon": 0.4, "sms": 0.1}  # retargeting: default
    assert (out / TRUTH_FILE).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--actions-as-of", "2025-12-01"], "must lie in the window"),
        (["--actions-as-of", "2026-01-30"], "must lie in the window"),
        (["--action-effect", "coupon=1.5"], "must be between 0 and 1"),
        (["--action-effect", "banner=0.1"], "expected NAME=SHARE"),
        (["--holdout-share", "2"], "must be between 0 and 1"),
    ],
)
def test_bad_action_arguments_fail_clearly(tmp_path: Path, args: list[str], message: str) -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "shopfunnel", "generate", "--visitors", "100", "--days",
            "30", "--history-days", "5", "--out", str(tmp_path / "x"), "--quiet",
            "--actions", "on", *args,
        ],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert message in done.stderr
