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

KNOWN_EVENTS = ("page_view", "product_view", "add_to_cart", "sign_up", "login", "purchase")


def _generate(out: Path, fmt: str = "parquet", chunk_events: int = 2_000_000, **kwargs) -> dict:
    return Generator(Params(**kwargs), out, fmt, chunk_events=chunk_events).run()


def _reader(folder: Path, table: str, fmt: str = "parquet") -> str:
    if fmt == "parquet":
        return f"read_parquet('{folder}/{table}/*.parquet')"
    # quoted empty strings stay empty strings ('' is one of the malformed ids), not nulls
    return (
        f"read_csv('{folder}/{table}/*.csv', header = true, all_varchar = true, "
        "allow_quoted_nulls = false)"
    )


def _content_hash(folder: Path, table: str) -> tuple[int, int]:
    """Row count and an order-independent hash of a table's content."""
    rows = duckdb.sql(
        # the whole row as one value (a struct), hashed; sum: independent of row order
        f"select count(*), sum(hash(row_value::varchar)) from {_reader(folder, table)} as row_value"
    ).fetchall()
    return rows[0][0], 0 if rows[0][1] is None else int(rows[0][1])


def _count(sql: str) -> int:
    return int(duckdb.sql(sql).fetchall()[0][0])


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
    for table in ("events", "members", "orders", "order_items", "products"):
        assert _content_hash(first, table) != _content_hash(other, table), table
    manifest_a = json.loads((first / "manifest.json").read_text())
    manifest_b = json.loads((again / "manifest.json").read_text())
    manifest_a.pop("generated_at", None)
    manifest_b.pop("generated_at", None)
    assert manifest_a == manifest_b


def test_manifest_has_the_documented_keys(small) -> None:
    _, manifest = small
    for key in (
        "generator_version",
        "seed",
        "visitors",
        "days",
        "history_days",
        "window_start",
        "window_end",
        "format",
        "dirt_enabled",
        "parameters",
        "planted",
        "realized",
        "dirt",
        "dirt_kinds",
        "tables",
    ):
        assert key in manifest, key
    assert manifest["window_start"] == "2026-01-01T00:00:00+00:00"
    assert manifest["window_end"] == "2026-01-31T00:00:00+00:00"
    params = manifest["parameters"]
    for name in ("visitors", "days", "seed", "target_signup_rate", "member_type_mix"):
        assert name in params, name
    for name in (
        "new_visitor_share",
        "benefit_view_rate",
        "signup_rate_viewed",
        "signup_rate_not_viewed",
        "signup_rate",
        "signup_share_viewed_benefit",
        "nonsignup_share_not_viewed_benefit",
    ):
        assert 0 < manifest["planted"][name] < 1, name
    # every dirt kind is described as extra rows or as flagged real rows
    described = {kind for kinds in manifest["dirt_kinds"].values() for kind in kinds}
    assert set(manifest["dirt"]) <= described | {"bot_visitors"}


def test_derived_signup_rates_solve_the_case_study() -> None:
    rates = Params().derived_signup_rates()
    b, r1, r0 = (
        rates["benefit_view_rate"],
        rates["signup_rate_viewed"],
        rates["signup_rate_not_viewed"],
    )
    assert math.isclose(b, 0.276765, abs_tol=1e-6)
    assert math.isclose(r1, 0.0364, abs_tol=1e-4)
    assert math.isclose(r0, 0.00306, abs_tol=1e-5)
    signup = b * r1 + (1 - b) * r0
    assert math.isclose(signup, 0.0123, rel_tol=1e-9)
    assert math.isclose(b * r1 / signup, 0.82, rel_tol=1e-9)
    assert math.isclose((1 - b) * (1 - r0) / (1 - signup), 0.73, rel_tol=1e-9)


def test_manifest_counts_match_files(small) -> None:
    out, manifest = small
    for table in TABLES:
        rows, _ = _content_hash(out, table)
        assert rows == manifest["tables"][table]["rows"], table
        files = manifest["tables"][table]["files"]
        assert files and all((out / name).exists() for name in files), table
        assert len(list((out / table).iterdir())) == len(files), table


def test_column_types(small) -> None:
    out, _ = small
    types = {
        (table, row[0]): row[1]
        for table in TABLES
        for row in duckdb.sql(f"describe select * from {_reader(out, table)}").fetchall()
    }
    for table in TABLES:
        assert types[(table, "loaded_at")] == "TIMESTAMP WITH TIME ZONE", table
    assert types[("events", "event_at")] == "TIMESTAMP WITH TIME ZONE"
    assert types[("events", "event_id")] == "VARCHAR"
    assert types[("orders", "order_total")] == "DECIMAL(18,2)"
    assert types[("order_items", "unit_price")] == "DECIMAL(18,2)"
    assert types[("order_items", "quantity")] == "INTEGER"
    assert types[("order_items", "line_number")] == "INTEGER"
    assert types[("members", "sms_opt_in")] == "BOOLEAN"
    assert types[("products", "is_vip_exclusive")] == "BOOLEAN"


def test_ids_urls_and_codes_have_the_documented_shapes(small) -> None:
    out, _ = small
    events, members = _reader(out, "events"), _reader(out, "members")
    orders, products = _reader(out, "orders"), _reader(out, "products")
    assert (
        _count(
            f"select count(*) from {members} where not regexp_full_match(member_id, 'M\\d{{8}}')"
        )
        == 0
    )
    assert (
        _count(
            f"select count(*) from {products} where not regexp_full_match(product_id, 'P\\d{{5}}')"
        )
        == 0
    )
    assert _count(f"select count(*) from {orders} where currency <> 'KRW'") == 0
    assert (
        _count(
            f"select count(*) from {orders} "
            "where status not in ('paid', 'cancelled', 'refunded', 'test')"
        )
        == 0
    )
    # first orders with a coupon use WELCOME..., other coupons another prefix
    assert _count(f"select count(*) from {orders} where coupon_code like 'WELCOME%'") > 0
    assert _count(f"select count(*) from {orders} where coupon_code not like 'WELCOME%'") > 0
    humans = (
        f"select * from {events} where starts_with(event_id, 'ev_') "
        "and starts_with(page_url, 'https://')"
    )
    assert (
        _count(
            f"select count(*) from ({humans}) where not starts_with(page_url, 'https://www.shop.example/')"
        )
        == 0
    )
    assert (
        _count(f"select count(*) from ({humans}) where starts_with(anonymous_id, 'a_') is not true")
        == 0
    )
    assert _count(f"select count(*) from ({humans}) where page_url like '%/member-benefits'") > 0
    assert (
        _count(f"select count(*) from ({humans}) where page_url like '%utm_medium=cpc%utm_term=%'")
        > 0
    )
    # utm columns filled on some landing hits, left for staging to parse on others
    assert _count(f"select count(*) from ({humans}) where utm_medium is not null") > 0
    assert (
        _count(
            f"select count(*) from ({humans}) "
            "where utm_medium is null and page_url like '%utm_medium=%'"
        )
        > 0
    )
    signups = _count(
        f"select count(*) from {events} where event_name = 'sign_up' and member_id is not null"
    )
    assert signups > 0


def test_benefit_view_comes_before_sign_up(small) -> None:
    out, _ = small
    events = _reader(out, "events")
    late_views = _count(f"""
        with signups as (
            select anonymous_id, min(event_at) as signed_up_at
            from {events} where event_name = 'sign_up' and starts_with(event_id, 'ev_')
            group by 1
        ),
        views as (
            select anonymous_id, min(event_at) as viewed_at
            from {events} where page_url like '%/member-benefits' and starts_with(event_id, 'ev_')
            group by 1
        )
        select count(*) from signups join views using (anonymous_id)
        where viewed_at >= signed_up_at
    """)
    assert late_views == 0


def test_dirt_counts_match_files(small) -> None:
    out, manifest = small
    dirt = manifest["dirt"]
    events = _reader(out, "events")
    real = "starts_with(event_id, 'ev_')"
    expected = {
        "duplicate_events": f"select count(*) - count(distinct event_id) from {events}",
        "null_anonymous_ids": f"select count(*) from {events} where anonymous_id is null",
        "malformed_anonymous_ids": (
            f"select count(*) from {events} "
            "where anonymous_id in ('', 'undefined', 'a b c', 'null')"
        ),
        "malformed_member_ids": (
            f"select count(*) from {events} where member_id in ('M 000', '???', 'member#1')"
        ),
        "future_events": (
            f"select count(*) from {events} where event_at > loaded_at + interval 1 day"
        ),
        "unknown_event_names": (
            f"select count(distinct event_id) from {events} where event_name not in {KNOWN_EVENTS}"
        ),
        # real rows only: their duplicate copies share the id, other copies have a prefix
        "late_events": (
            f"select count(distinct event_id) from {events} "
            f"where {real} and loaded_at > event_at + interval 1 day"
        ),
        "malformed_urls": (
            f"select count(distinct event_id) from {events} "
            f"where {real} and not starts_with(page_url, 'https://')"
        ),
        "bot_events": f"select count(*) from {events} where starts_with(anonymous_id, 'a_bot')",
        "bot_visitors": (
            f"select count(distinct anonymous_id) from {events} "
            "where starts_with(anonymous_id, 'a_bot')"
        ),
        "non_positive_unit_price_lines": (
            f"select count(*) from {_reader(out, 'order_items')} where unit_price <= 0"
        ),
        "duplicate_member_exports": (
            f"select count(*) - count(distinct member_id) from {_reader(out, 'members')}"
        ),
        "duplicate_order_exports": (
            f"select count(*) - count(distinct order_id) from {_reader(out, 'orders')}"
        ),
        "unknown_member_orders": (
            f"select count(distinct order_id) from {_reader(out, 'orders')} "
            f"where member_id not in (select member_id from {_reader(out, 'members')})"
        ),
    }
    for status in ("cancelled", "refunded", "test"):
        expected[f"{status}_orders"] = (
            f"select count(distinct order_id) from {_reader(out, 'orders')} "
            f"where status = '{status}'"
        )
    assert set(expected) == set(dirt), set(expected) ^ set(dirt)
    for key, sql in expected.items():
        assert _count(sql) == dirt[key], key
    assert all(value > 0 for value in dirt.values()), dirt


def test_no_dirt_when_off(tmp_path: Path) -> None:
    manifest = _generate(
        tmp_path / "raw", visitors=800, days=10, history_days=10, seed=2, dirt=False
    )
    assert manifest["dirt"] == {}
    events = _reader(tmp_path / "raw", "events")
    assert _count(f"select count(*) - count(distinct event_id) from {events}") == 0
    assert _count(f"select count(*) from {events} where event_name not in {KNOWN_EVENTS}") == 0
    assert (
        _count(f"select count(*) from {_reader(tmp_path / 'raw', 'orders')} where status <> 'paid'")
        == 0
    )


def test_event_files_cover_successive_time_ranges(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    manifest = _generate(out, visitors=4000, days=30, history_days=10, seed=8, chunk_events=8000)
    assert len(manifest["tables"]["events"]["files"]) >= 3
    ranges = duckdb.sql(f"""
        select filename, min(event_at), max(event_at)
        from read_parquet('{out}/events/*.parquet', filename = true)
        -- future timestamps are dirt: days after loading, wherever they are stored
        where not starts_with(event_id, 'fut_')
        group by filename order by filename
    """).fetchall()
    for (_, _, end), (_, start, _) in zip(ranges, ranges[1:], strict=False):
        # a session that starts just before a boundary ends minutes after it
        assert (end - start).total_seconds() < 6 * 3600


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
    assert _within(signups_viewed / signups, planted["signup_share_viewed_benefit"], signups)
    assert _within(
        (new - viewers - (signups - signups_viewed)) / (new - signups),
        planted["nonsignup_share_not_viewed_benefit"],
        new - signups,
    )
    lines = realized["lines_by_member_type"]
    loyal_lines = lines["loyal"]["lines"]
    assert _within(realized["discount_share_loyal"], planted["discount_share_loyal"], loyal_lines)
    # loyal high spenders favour new releases and shun discounts; prices rise with loyalty
    assert realized["new_release_share_loyal"] >= planted["new_release_prob_loyal"] - 0.03
    assert realized["new_release_share_loyal"] > realized["new_release_share_other"] + 0.2
    assert realized["discount_share_loyal"] < realized["discount_share_other"] - 0.15
    assert (
        lines["loyal"]["mean_unit_price"]
        > lines["repeat"]["mean_unit_price"]
        > lines["once"]["mean_unit_price"]
    )
    by_grade = realized["lines_by_grade_at_order"]
    assert list(by_grade) == planted["mean_unit_price_rises_with_grade"]
    prices = [by_grade[grade]["mean_unit_price"] for grade in by_grade]
    assert prices == sorted(prices), prices


def test_csv_and_parquet_hold_the_same_content(tmp_path: Path) -> None:
    pq, csv = tmp_path / "pq", tmp_path / "csv"
    _generate(pq, visitors=1500, days=10, history_days=10, seed=3)
    manifest = _generate(csv, fmt="csv", visitors=1500, days=10, history_days=10, seed=3)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    for table in TABLES:
        reference = con.sql(f"select * from {_reader(pq, table)}")
        casts = ", ".join(
            f"cast({name} as {kind}) as {name}"
            for name, kind in zip(reference.columns, reference.types, strict=True)
        )
        as_typed = f"select {casts} from {_reader(csv, table, 'csv')}"
        original = f"select * from {_reader(pq, table)}"
        for a, b in ((as_typed, original), (original, as_typed)):
            missing = con.execute(f"select count(*) from (({a}) except all ({b}))").fetchall()
            assert missing[0][0] == 0, table
    # some event times are written in Korean time: same instant, another offset
    offsets = con.execute(
        f"select count(*) from {_reader(csv, 'events', 'csv')} where ends_with(event_at, '+09:00')"
    ).fetchall()[0][0]
    assert offsets == manifest["dirt"]["non_utc_offsets"] > 0


def test_rerun_replaces_old_files(tmp_path: Path) -> None:
    out = tmp_path / "raw"
    _generate(out, visitors=800, days=10, history_days=10, seed=1, chunk_events=2000)
    (out / "events" / "stale.parquet").write_bytes(b"old")
    _generate(out, visitors=400, days=10, history_days=10, seed=1)
    assert sorted(path.name for path in (out / "events").iterdir()) == ["part-00001.parquet"]
    _generate(out, fmt="csv", visitors=400, days=10, history_days=10, seed=1)
    assert not list(out.glob("*/*.parquet"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--visitors", "0"], "must be at least 1"),
        (["--visitors", "-5"], "must be at least 1"),
        (["--days", "abc"], "expected a whole number"),
        (["--history-days", "-1"], "must be 0 or more"),
        (["--format", "xlsx"], "invalid choice"),
        (["--dirt", "maybe"], "invalid choice"),
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
    assert not (tmp_path / "x").exists()


def test_bad_parameters_are_rejected() -> None:
    with pytest.raises(ValueError, match="channel_mix must sum to 1"):
        Params(channel_mix={"direct": 0.5}).validate()
    with pytest.raises(ValueError, match="format must be parquet or csv"):
        Generator(Params(visitors=10), Path("/nonexistent"), "xlsx")


def test_out_must_be_a_folder(tmp_path: Path) -> None:
    target = tmp_path / "a_file"
    target.write_text("keep me")
    result = subprocess.run(
        [sys.executable, "-m", "shopfunnel", "generate", "--out", str(target), "--quiet"],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "is not a folder" in result.stderr
    assert target.read_text() == "keep me"
