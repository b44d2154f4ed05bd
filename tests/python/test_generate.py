"""The generator: deterministic, planted rates within tolerance, dirt counted exactly."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from shopfunnel.generate import TABLES, Generator, Params


def _generate(out: Path, **kwargs) -> dict:
    fmt = kwargs.pop("fmt", "parquet")
    return Generator(Params(**kwargs), out, fmt).run()


def _content_hash(folder: Path, table: str, fmt: str = "parquet") -> tuple[int, int]:
    reader = "read_parquet" if fmt == "parquet" else "read_csv"
    extra = "" if fmt == "parquet" else ", header = true, all_varchar = true"
    rows = duckdb.sql(
        f"select count(*), sum(hash(columns(*)::varchar)) from (select * from "
        f"{reader}('{folder}/{table}/*.{fmt}'{extra}))"
    ).fetchall()
    return rows[0][0], 0 if rows[0][1] is None else int(rows[0][1])


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("gen") / "raw"
    return out, _generate(out, visitors=3000, days=30, history_days=30, seed=5)


def test_same_seed_same_tables_other_seed_differs(tmp_path: Path, small) -> None:
    first, _ = small
    again = tmp_path / "again"
    _generate(again, visitors=3000, days=30, history_days=30, seed=5)
    other = tmp_path / "other"
    _generate(other, visitors=3000, days=30, history_days=30, seed=6)
    for table in TABLES:
        assert _content_hash(first, table) == _content_hash(again, table), table
    assert _content_hash(first, "events") != _content_hash(other, "events")
    manifest_a = json.loads((first / "manifest.json").read_text())
    manifest_b = json.loads((again / "manifest.json").read_text())
    assert manifest_a == manifest_b


def test_manifest_counts_match_files(small) -> None:
    out, manifest = small
    for table in TABLES:
        rows, _ = _content_hash(out, table)
        assert rows == manifest["tables"][table]["rows"], table
        assert manifest["tables"][table]["files"], table


def test_dirt_counts_match_files(small) -> None:
    out, manifest = small
    dirt = manifest["dirt"]
    events = f"read_parquet('{out}/events/*.parquet')"

    def count(sql: str) -> int:
        return duckdb.sql(sql).fetchall()[0][0]

    assert (
        count(f"select count(*) - count(distinct event_id) from {events}")
        == dirt["duplicate_events"]
    )
    assert (
        count(f"select count(*) from {events} where anonymous_id is null")
        == dirt["null_anonymous_ids"]
    )
    assert (
        count(
            f"select count(*) from {events} "
            "where anonymous_id in ('', 'undefined', 'a b c', 'null')"
        )
        == dirt["malformed_anonymous_ids"]
    )
    assert (
        count(f"select count(*) from {events} where event_at > loaded_at + interval 1 day")
        == dirt["future_events"]
    )
    assert (
        count(
            f"select count(distinct event_id) from {events} "
            "where event_name not in ('page_view', 'product_view', 'add_to_cart', 'sign_up', "
            "'login', 'purchase')"
        )
        == dirt["unknown_event_names"]
    )
    items = f"read_parquet('{out}/order_items/*.parquet')"
    assert (
        count(f"select count(*) from {items} where unit_price <= 0")
        == dirt["non_positive_unit_price_lines"]
    )
    orders = f"read_parquet('{out}/orders/*.parquet')"
    for status, key in (
        ("cancelled", "cancelled_orders"),
        ("refunded", "refunded_orders"),
        ("test", "test_orders"),
    ):
        assert count(f"select count(*) from {orders} where status = '{status}'") == dirt[key]
    assert all(value > 0 for value in dirt.values()), dirt


def _within(observed: float, expected: float, n: int, sds: float = 4.0) -> bool:
    """|observed - expected| within `sds` binomial standard errors of a sample of n."""
    se = math.sqrt(expected * (1 - expected) / n)
    return abs(observed - expected) <= sds * se


def test_planted_rates_within_tolerance(tmp_path: Path) -> None:
    manifest = _generate(
        tmp_path / "raw", visitors=30000, days=60, history_days=60, seed=9, dirt=False
    )
    planted, realized = manifest["planted"], manifest["realized"]
    visitors, new = realized["human_visitors"], realized["new_visitors"]
    assert _within(new / visitors, planted["new_visitor_share"], visitors)
    viewers = realized["new_visitors_viewed_benefit"]
    signups_viewed = realized["signups_viewed_benefit"]
    signups = realized["signups_new"]
    assert _within(viewers / new, planted["benefit_view_rate"], new)
    assert _within(signups_viewed / viewers, planted["signup_rate_viewed"], viewers)
    assert _within(
        (signups - signups_viewed) / (new - viewers),
        planted["signup_rate_not_viewed"],
        new - viewers,
    )
    assert _within(signups / new, planted["signup_rate"], new)
    lines = realized["lines_by_member_type"]
    # loyal high spenders favour new releases and shun discounts; prices rise with loyalty
    assert lines["loyal"]["new_release_share"] > lines["once"]["new_release_share"] + 0.2
    assert lines["loyal"]["discount_share"] < lines["once"]["discount_share"] - 0.15
    assert (
        lines["loyal"]["mean_unit_price"]
        > lines["repeat"]["mean_unit_price"]
        > lines["once"]["mean_unit_price"]
    )


def test_csv_and_parquet_hold_the_same_rows(tmp_path: Path) -> None:
    _generate(tmp_path / "pq", visitors=500, days=10, history_days=10, seed=3)
    _generate(tmp_path / "csv", visitors=500, days=10, history_days=10, seed=3, fmt="csv")
    for table in TABLES:
        pq_rows, _ = _content_hash(tmp_path / "pq", table)
        csv_rows, _ = _content_hash(tmp_path / "csv", table, "csv")
        assert pq_rows == csv_rows, table


def test_rerun_replaces_old_files(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    _generate(out, visitors=800, days=10, history_days=10, seed=1)
    (out / "events" / "stale.parquet").write_bytes(b"old")
    _generate(out, visitors=400, days=10, history_days=10, seed=1)
    assert not (out / "events" / "stale.parquet").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--visitors", "0"], "must be at least 1"),
        (["--days", "abc"], "expected a whole number"),
        (["--format", "xlsx"], "invalid choice"),
        (["--start-date", "2026-13-01"], "expected YYYY-MM-DD"),
    ],
)
def test_bad_arguments_fail_clearly(tmp_path: Path, args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shopfunnel", "generate", "--out", str(tmp_path / "x"), *args],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert message in result.stderr
