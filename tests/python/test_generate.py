"""The generator: deterministic, planted rates within tolerance, dirt counted exactly."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from shopfunnel.generate import TABLES, Generator, Params
from shopfunnel.generate.deliver import deliver

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


# Content of the `small` data set (seed 5): row count and order-independent hash per table.
# A refactoring or a speed-up must keep them; a change of the simulated shop changes them
# on purpose (and says so in its commit).
SMALL_FINGERPRINTS = {
    # a flat export holds nothing loaded after it: late loads are capped at the export and
    # too-late copies planted only where they are still too late there (14 fewer rows)
    "events": (25507, 235249660942573491677297),
    "members": (287, 2647862884119629093044),
    "member_grade_history": (348, 3106849151606616958585),
    "orders": (343, 3258522926712308057689),
    "order_items": (431, 3829399596216215999676),
    "products": (600, 5558604865065011368221),
}
# The events as the generator wrote them before late loads moved to 1-3 days and the
# too-late copies came: the same rows apart from load times, too-late copies (`late_`)
# and the future-dated copies (`fut_`), whose times derive from a load time.
SMALL_EVENTS_BEFORE_LATE_CHANGE = (25376, 235090977747830382679643)
# The truth of the `small` data set: unchanged by the split and by the daily layout work.
SMALL_REALIZED = {
    "human_visitors": 3000,
    "new_visitors": 2462,
    "signups_new": 29,
    "signups_viewed_benefit": 24,
    "nonsignups_viewed_benefit": 649,
    "new_visitors_viewed_benefit": 673,
    "returning_members": 236,
    "members": 278,
    "members_without_events": 13,
    "buyers": 160,
    "repeat_buyers": 68,
    "paid_member_orders": 308,
    "guest_orders": 9,
    "shared_devices": 0,
    "multi_device_members": 62,
    "new_release_share_other": 0.337719,
    "discount_share_other": 0.377193,
    "new_release_share_loyal": 0.70303,
    "discount_share_loyal": 0.078788,
    "paid_orders": 317,
}


def test_tables_keep_their_content(small) -> None:
    out, _ = small
    for table in TABLES:
        assert _content_hash(out, table) == SMALL_FINGERPRINTS[table], table
    before = duckdb.sql(f"""
        select count(*), sum(hash(row_value::varchar))
        from (
            select * exclude (loaded_at) from {_reader(out, "events")}
            where not starts_with(event_id, 'late_') and not starts_with(event_id, 'fut_')
        ) as row_value
    """).fetchall()[0]
    assert (before[0], int(before[1])) == SMALL_EVENTS_BEFORE_LATE_CHANGE


def test_flat_truth_unchanged(small) -> None:
    _, manifest = small
    realized = manifest["realized"]
    assert {key: realized[key] for key in SMALL_REALIZED} == SMALL_REALIZED
    assert manifest["layout"] == "flat"


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
        "too_late_events": f"select count(*) from {events} where starts_with(event_id, 'late_')",
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


def test_late_events_stay_within_the_lookback_too_late_copies_beyond_it(small) -> None:
    """Late real rows (and their duplicate copies) arrive 1-3 whole days after their event
    day, so staging keeps them; the too-late copies 4-10 days after, so it quarantines them
    as `too_late`. Nothing else is loaded more than 3 days after its event day."""
    out, _ = small
    lags = dict(
        duckdb.sql(f"""
            select
                case
                    when starts_with(event_id, 'late_') then 'too_late'
                    when loaded_at > event_at + interval 1 day then 'late'
                    else 'other'
                end,
                [min(loaded_at::date - event_at::date), max(loaded_at::date - event_at::date)]
            from {_reader(out, "events")}
            where not starts_with(event_id, 'fut_')
            group by 1
        """).fetchall()
    )
    assert lags["late"] == [1, 3]
    assert lags["too_late"][0] >= 4 and lags["too_late"][1] <= 10
    assert lags["other"][1] <= 1
    # a too-late copy repeats a real hit's payload under a new id
    copies = _count(f"""
        select count(distinct copy.event_id) from {_reader(out, "events")} as copy
        join {_reader(out, "events")} as original
            on copy.event_id = 'late_' || original.event_id
            and copy.event_at = original.event_at
            and copy.page_url = original.page_url
            and copy.anonymous_id is not distinct from original.anonymous_id
    """)
    assert copies == _count(
        f"select count(*) from {_reader(out, 'events')} where starts_with(event_id, 'late_')"
    )


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
        (["--layout", "hourly"], "invalid choice"),
        (["--memory-limit", "lots"], "must look like 1GB"),
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


# ---------------------------------------------------------------------------------------
# Daily layout: load partitions, and the cases planted in later loads.

LOOKBACK = 3


def _loads(folder: Path, table: str, fmt: str = "parquet") -> str:
    """A table read from its load partitions, with `load_date` from the folder names."""
    if fmt == "parquet":
        return (
            f"(select * exclude (load_date), load_date::date as load_date "
            f"from read_parquet('{folder}/{table}/*/*.parquet', hive_partitioning = true))"
        )
    return (
        f"(select * exclude (load_date), load_date::date as load_date "
        f"from read_csv('{folder}/{table}/*/*.csv', header = true, all_varchar = true, "
        "allow_quoted_nulls = false, hive_partitioning = true))"
    )


@pytest.fixture(scope="module")
def daily(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("daily") / "raw"
    manifest = Generator(
        Params(visitors=3000, days=35, history_days=30, seed=7), out, layout="daily"
    ).run()
    return out, manifest


def test_daily_layout_has_one_partition_per_load_day(daily) -> None:
    out, manifest = daily
    loads = manifest["loads"]
    days = list(loads["by_date"])
    assert manifest["layout"] == "daily"
    assert len(days) == 35 and days == sorted(days)
    assert loads["first_load_date"] == days[0] == manifest["window_start"][:10] == "2026-01-01"
    assert loads["last_load_date"] == days[-1] == "2026-02-04"
    events_days = sorted(path.name for path in (out / "events").iterdir())
    assert events_days == [f"load_date={day}" for day in days]
    for table in TABLES:
        folders = list((out / table).iterdir())
        assert all(folder.name.startswith("load_date=") for folder in folders), table
        assert not list((out / table).glob("*.parquet")), table
        files = manifest["tables"][table]["files"]
        assert sorted(str(p.relative_to(out)) for p in (out / table).rglob("*.parquet")) == files
        # every row's loaded_at lies on its load date
        wrong = _count(
            f"select count(*) from {_loads(out, table)} where loaded_at::date <> load_date"
        )
        assert wrong == 0, table
        # rows per load as the manifest says
        counted = dict(
            duckdb.sql(
                f"select load_date::varchar, count(*) from {_loads(out, table)} group by 1"
            ).fetchall()
        )
        claimed = {
            day: entry["rows"][table]
            for day, entry in loads["by_date"].items()
            if table in entry["rows"]
        }
        assert counted == claimed, table
        assert sum(counted.values()) == manifest["tables"][table]["rows"], table
    # the first load holds the history: the earliest events, members and orders
    first = _count(
        f"select min(event_at)::date = date '2025-12-02' from {_loads(out, 'events')} "
        "where load_date = date '2026-01-01'"
    )
    assert first == 1


def test_daily_late_events_within_and_beyond_the_lookback(daily) -> None:
    out, manifest = daily
    by_date = manifest["loads"]["by_date"]
    events = _loads(out, "events")
    lags = duckdb.sql(f"""
        select
            load_date::varchar,
            count(*) filter (where lag between 1 and {LOOKBACK}),
            count(*) filter (where lag > {LOOKBACK}),
            min(lag) filter (where starts_with(event_id, 'late_')),
            max(lag) filter (where starts_with(event_id, 'late_')),
            max(lag) filter (where not starts_with(event_id, 'late_'))
        from (select *, load_date - event_at::date as lag from {events})
        where load_date > date '2026-01-01'
        group by 1
    """).fetchall()
    assert len(lags) == 34
    for day, within, beyond, late_min, late_max, other_max in lags:
        assert by_date[day]["late_events_within_lookback"] == within, day
        assert by_date[day]["late_events_beyond_lookback"] == beyond, day
        # beyond the lookback: only the too-late copies, 4-5 days after their event day
        assert other_max <= LOOKBACK, day
        if beyond:
            assert LOOKBACK < late_min and late_max <= 5, day
    totals = manifest["loads"]["totals"]
    assert totals["late_events_beyond_lookback"] == manifest["dirt"]["too_late_events"] > 0
    # real rows loaded 2-3 days late, beside the ones loaded just after midnight
    late_real = _count(
        f"select count(*) from {events} where load_date > date '2026-01-01' "
        "and starts_with(event_id, 'ev_') and load_date - event_at::date between 2 and 3"
    )
    assert late_real > 0 and totals["late_events_within_lookback"] >= late_real


def test_daily_redelivered_events(daily) -> None:
    """Same event_id in a later load than its first delivery: an exact copy, or (a few) a
    copy with another payload."""
    out, manifest = daily
    events = _loads(out, "events")
    found = duckdb.sql(f"""
        with first_delivery as (
            select * from {events}
            qualify row_number() over (
                partition by event_id order by load_date, loaded_at
            ) = 1
        )
        select
            later.load_date::varchar,
            count(*) filter (where later.user_agent = first.user_agent
                and later.event_at = first.event_at and later.page_url = first.page_url),
            count(*) filter (where later.user_agent <> first.user_agent)
        from {events} as later
        join first_delivery as first
            on later.event_id = first.event_id and later.load_date > first.load_date
        group by 1
    """).fetchall()
    by_date = manifest["loads"]["by_date"]
    claimed_same = {d: e["redelivered_events"] for d, e in by_date.items() if d != "2026-01-01"}
    claimed_changed = {
        d: e["redelivered_changed_events"] for d, e in by_date.items() if d != "2026-01-01"
    }
    assert {day: same for day, same, _ in found if same} == {
        day: n for day, n in claimed_same.items() if n
    }
    assert {day: changed for day, _, changed in found if changed} == {
        day: n for day, n in claimed_changed.items() if n
    }
    totals = manifest["loads"]["totals"]
    assert totals["redelivered_events"] > 0 and totals["redelivered_changed_events"] > 0


def test_daily_late_login_devices(daily) -> None:
    out, manifest = daily
    devices = manifest["loads"]["late_login_devices"]
    days = list(manifest["loads"]["by_date"])
    assert sorted(device["login_date"] for device in devices) == days[-5:]
    events = _loads(out, "events")
    for device in devices:
        first_visit, first_login, login_load, first_load, misplaced = duckdb.sql(
            f"""
            select
                min(event_at)::date::varchar,
                min(event_at) filter (where member_id is not null)::date::varchar,
                min(load_date) filter (where member_id is not null)::varchar,
                min(load_date)::varchar,
                -- hits of the days before the login day arrived in earlier loads
                count(*) filter (where event_at::date < date '{device["login_date"]}'
                    and load_date >= date '{device["login_date"]}')
            from {events}
            where anonymous_id = ?
            """,
            params=[device["anonymous_id"]],
        ).fetchall()[0]
        assert first_visit == device["first_visit_date"]
        assert first_login == login_load == device["login_date"]
        assert first_load < device["login_date"] and misplaced == 0
        gap = date.fromisoformat(first_login) - date.fromisoformat(first_visit)
        assert gap.days >= 20 and gap.days == device["days_to_login"]
        login_member = duckdb.sql(
            f"select distinct member_id from {events} where anonymous_id = ? "
            "and member_id is not null",
            params=[device["anonymous_id"]],
        ).fetchall()
        assert login_member == [(device["member_id"],)]
        member_loads = _count(
            f"select count(*) from {_loads(out, 'members')} where member_id = "
            f"'{device['member_id']}' and load_date < date '{device['login_date']}'"
        )
        assert member_loads >= 1  # the member was delivered before the login


def test_daily_grade_changes_in_later_loads(daily) -> None:
    out, manifest = daily
    members, history = _loads(out, "members"), _loads(out, "member_grade_history")
    changes = duckdb.sql(f"""
        select m.load_date::varchar, m.member_id
        from {members} as m
        join {history} as h
            on h.member_id = m.member_id and h.load_date = m.load_date
            and h.membership_grade = m.membership_grade and h.valid_from = m.updated_at
        where m.load_date > date '2026-01-01' and m.membership_grade <> 'WELCOME'
          -- re-exported: the member had an earlier, older row
          and exists (
            select 1 from {members} as earlier
            where earlier.member_id = m.member_id and earlier.updated_at < m.updated_at
              and earlier.membership_grade <> m.membership_grade
          )
        order by 1, 2
    """).fetchall()
    by_date = manifest["loads"]["by_date"]
    found: dict[str, list[str]] = {}
    for day, member_id in changes:
        found.setdefault(day, []).append(member_id)
    claimed = {d: e["grade_change_member_ids"] for d, e in by_date.items() if d != "2026-01-01"}
    assert found == {day: ids for day, ids in claimed.items() if ids}
    assert manifest["loads"]["totals"]["grade_change_members"] == len(changes) > 0


def test_daily_refunds_in_later_loads(daily) -> None:
    out, manifest = daily
    orders = _loads(out, "orders")
    by_date = manifest["loads"]["by_date"]
    days = list(by_date)
    refunded = {
        order_id: day for day, e in by_date.items() for order_id in e.get("refunded_orders", [])
    }
    assert all(by_date[day]["refunded_orders"] for day in days[-5:])
    rows = duckdb.sql(f"""
        select later.order_id, later.load_date::varchar
        from {orders} as later
        join {orders} as earlier
            on earlier.order_id = later.order_id and earlier.load_date < later.load_date
            and earlier.status = 'paid' and earlier.order_total = later.order_total
        where later.status = 'refunded'
    """).fetchall()
    assert dict(rows) == refunded


def test_daily_exports_of_the_day_in_that_days_load(daily) -> None:
    """Members, orders and lines made on a day arrive in that day's load; re-deliveries and
    refunds in later ones."""
    out, _ = daily
    later = "load_date > date '2026-01-01'"
    wrong_members = _count(
        f"select count(*) from {_loads(out, 'members')} where {later} "
        "and updated_at::date <> load_date"
    )
    wrong_orders = _count(f"""
        select count(*) from (
            select * from {_loads(out, "orders")} where status <> 'refunded'
            qualify row_number() over (partition by order_id order by load_date) = 1
        )
        where {later} and ordered_at::date <> load_date
    """)
    wrong_lines = _count(f"""
        select count(*) from {_loads(out, "order_items")} as items
        where {later} and items.load_date <> (
            select min(orders.load_date) from {_loads(out, "orders")} as orders
            where orders.order_id = items.order_id
        )
    """)
    assert (wrong_members, wrong_orders, wrong_lines) == (0, 0, 0)
    assert _count(f"select count(*) from {_loads(out, 'orders')} where {later}") > 0


def test_daily_csv_has_the_same_partitions(tmp_path: Path) -> None:
    out = tmp_path / "csv"
    manifest = Generator(
        Params(visitors=1500, days=8, history_days=10, seed=3), out, "csv", layout="daily"
    ).run()
    assert not list(out.rglob("*.parquet"))
    for table in TABLES:
        wrong = _count(
            f"select count(*) from {_loads(out, table, 'csv')} "
            "where loaded_at::timestamptz::date <> load_date"
        )
        assert wrong == 0, table
        rows = _count(f"select count(*) from {_loads(out, table, 'csv')}")
        assert rows == manifest["tables"][table]["rows"], table
    offsets = _count(
        f"select count(*) from {_loads(out, 'events', 'csv')} where ends_with(event_at, '+09:00')"
    )
    assert offsets == manifest["dirt"]["non_utc_offsets"] > 0


def _partitions(root: Path) -> dict[str, list[str]]:
    return {
        table: sorted(path.name for path in (root / table).iterdir())
        for table in TABLES
        if (root / table).is_dir()
    }


def test_deliver_copies_exactly_the_loads_up_to_a_date(daily, tmp_path: Path) -> None:
    source, manifest = daily
    raw = tmp_path / "raw"
    days = list(manifest["loads"]["by_date"])
    first = deliver(source, raw, date.fromisoformat(days[29]))
    expected = {
        table: [name for name in names if name <= f"load_date={days[29]}"]
        for table, names in _partitions(source).items()
    }
    assert _partitions(raw) == {table: names for table, names in expected.items() if names}
    assert len(first.copied) == sum(len(names) for names in expected.values())
    for table, names in expected.items():
        for name in names:
            for path in (source / table / name).iterdir():
                assert (raw / table / name / path.name).read_bytes() == path.read_bytes()
    # the next day adds its own loads only
    second = deliver(source, raw, date.fromisoformat(days[30]))
    assert {name.split("/")[1] for name in second.copied} == {f"load_date={days[30]}"}
    assert len(second.unchanged) == len(first.copied)
    # delivery only moves forward
    with pytest.raises(ValueError, match="only moves forward"):
        deliver(source, raw, date.fromisoformat(days[10]))
    # the command line
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "shopfunnel",
            "generate",
            "deliver",
            "--from",
            str(source),
            "--to",
            str(raw),
            "--through",
            days[-1],
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert _partitions(raw) == _partitions(source)


def test_deliver_refuses_a_flat_data_set(small, tmp_path: Path) -> None:
    source, _ = small
    with pytest.raises(ValueError, match="no load partitions"):
        deliver(source, tmp_path / "raw", date(2026, 1, 31))
