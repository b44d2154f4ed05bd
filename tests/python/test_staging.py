"""Staging: nothing lost, every kind of dirt caught exactly as planted.

Two data sets:

* the hand-made CSV fixture in tests/fixtures/raw_csv (a few dozen rows, every kind of dirt,
  counted by hand in EXPECTED_* below), built here with dbt into a temporary DuckDB file
  (marked ``slow``);
* the generator's data set that ``make test`` builds (SHOPFUNNEL_TEST_DB and
  SHOPFUNNEL_TEST_RAW with its manifest.json), checked against the manifest's dirt counts
  (marked ``e2e``; skipped with the reason when those variables are not set).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

TABLES = ("events", "members", "member_grade_history", "orders", "order_items", "products")
FIXTURE_RAW = Path(__file__).resolve().parents[1] / "fixtures" / "raw_csv"

# ---------------------------------------------------------------------------------------
# Hand-made fixture: expected counts, worked out row by row from the CSV files.

# staged rows per table
EXPECTED_STAGED = {
    "events": 15,  # ev01..ev14 and ev27 (30 minutes ahead of its load: inside the tolerance)
    "members": 4,  # M0001, M0002 (its latest profile), M0003, M0009
    "member_grade_history": 5,  # M0001 x1, M0002 x3, M0003 x1
    "orders": 5,  # O0001, O0002 (latest export: refunded), O0003, O0004, O0005
    "order_items": 4,  # O0001-1, O0001-2, O0002-1 (latest load), O0005-5
    "products": 4,  # P00001, P00002, P00003 (latest load), P00010
}
# quarantined rows per table and rule
EXPECTED_QUARANTINED = {
    "events": {
        "duplicate": 2,  # ev01 and ev02 re-delivered three hours later
        "missing_event_id": 1,
        "malformed_event_id": 1,  # 'ev 18'
        "missing_anonymous_id": 1,  # ev19
        "malformed_anonymous_id": 3,  # 'undefined', 'a b c', an earlier copy of ev03 with 'null'
        "malformed_member_id": 1,  # 'M 000'
        "missing_event_name": 1,
        "invalid_event_at": 1,  # 'not-a-time'
        "invalid_loaded_at": 1,  # 'yesterday'
        "future_event_at": 1,  # five days ahead of its load
    },
    "members": {
        "duplicate": 1,  # M0002's older SILVER profile
        "missing_member_id": 1,
        "malformed_member_id": 1,  # 'M 0006'
        "invalid_signed_up_at": 1,  # 'someday'
        "invalid_loaded_at": 1,  # 'n/a'
    },
    "member_grade_history": {
        "duplicate": 1,  # M0002 GOLD sent twice, the earlier load
        "missing_member_id": 1,
        "malformed_member_id": 1,  # 'M#9'
        "missing_membership_grade": 1,
        "invalid_valid_from": 1,  # 'bad'
    },
    "orders": {
        "duplicate": 1,  # O0002's earlier export (paid)
        "missing_order_id": 1,
        "malformed_order_id": 1,  # 'O 14'
        "malformed_member_id": 1,  # 'M#1'
        "missing_status": 1,
        "invalid_ordered_at": 1,  # 'soon'
        "invalid_loaded_at": 1,  # 'never'
        "invalid_order_total": 1,  # 'abc'
        "invalid_discount_total": 1,  # 'x'
        "negative_order_total": 1,  # -100
        "negative_discount_total": 1,  # -5
    },
    "order_items": {
        "duplicate": 1,  # O0002 line 1 loaded earlier
        "missing_order_id": 1,
        "invalid_line_number": 1,  # 'x'
        "missing_product_id": 1,
        "invalid_quantity": 1,  # '1.5'
        "non_positive_quantity": 1,  # 0
        "invalid_unit_price": 1,  # 'abc'
        "non_positive_unit_price": 2,  # 0 and -1000
    },
    "products": {
        "duplicate": 1,  # P00003 loaded earlier at 9000
        "missing_product_id": 1,
        "invalid_list_price": 1,  # 'cheap'
        "non_positive_list_price": 1,  # 0
        "invalid_released_at": 1,  # 'tbd'
        "invalid_is_vip_exclusive": 1,  # 'vip'
    },
}
EXPECTED_CHANNELS = {
    "ev01": "keyword_search_ad",  # utm_medium=cpc parsed from the URL
    "ev02": "internal",
    "ev03": "internal",
    "ev04": "email",  # the columns (newsletter / email) win over the URL's utm_medium=cpc
    "ev05": "organic_search",
    "ev06": "direct",
    "ev07": "referral",
    "ev08": "sms",
    "ev09": "paid_social",
    "ev10": "direct",
    "ev11": "direct",
    "ev12": "direct",
    "ev13": "internal",
    "ev14": "internal",
    "ev27": "direct",
}
EXPECTED_PAGE_TYPES = {
    "ev01": "home",
    "ev02": "member_benefits",
    "ev03": "signup",
    "ev04": "home",
    "ev05": "product",
    "ev06": "cart",
    "ev07": "new_arrivals",
    "ev08": "login",
    "ev09": "category",
    "ev10": "home",
    "ev11": "home",
    "ev12": "unknown",
    "ev13": "search",
    "ev14": "checkout",
    "ev27": "home",
}


def _dbt(args: list[str], env: dict[str, str], cwd: Path) -> None:
    dbt = str(Path(sys.executable).parent / "dbt")
    result = subprocess.run([dbt, *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, f"dbt {' '.join(args)} failed:\n{result.stdout[-4000:]}"


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> Iterator[Any]:
    """Staging (models, their data and unit tests) built on the CSV fixture."""
    tmp = tmp_path_factory.mktemp("staging_fixture")
    db_path = tmp / "fixture.duckdb"
    env = dict(
        os.environ,
        DUCKDB_PATH=str(db_path),
        DBT_TARGET_PATH=str(tmp / "target"),
        DBT_LOG_PATH=str(tmp / "logs"),
        DBT_PROFILES_DIR=str(repo_root),
    )
    dbt_vars = json.dumps({"raw_path": str(FIXTURE_RAW), "raw_format": "csv"})
    _dbt(
        [
            "build",
            "--select",
            "resource_type:seed",
            "staging",
            "tests/staging",
            "tests/macros/assert_staging_macros_known_values.sql",
            "--exclude",
            "tag:rerun",
            "--indirect-selection",
            "cautious",
            "--vars",
            dbt_vars,
        ],
        env,
        repo_root,
    )
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        yield con
    finally:
        con.close()


def _count(con: Any, sql: str, params: list[Any] | None = None) -> int:
    return int(con.execute(sql, params or []).fetchall()[0][0])


@pytest.mark.slow
def test_fixture_staged_and_quarantined_counts(fixture_db: Any) -> None:
    for table in TABLES:
        staged = _count(fixture_db, f"select count(*) from staging.stg_shop__{table}")
        rules = dict(
            fixture_db.execute(
                f"select quarantine_rule, count(*) from staging.stg_shop__{table}_quarantine "
                "group by quarantine_rule"
            ).fetchall()
        )
        raw = _count(
            fixture_db,
            "select count(*) from read_csv(?, header = true, all_varchar = true)",
            [str(FIXTURE_RAW / table / "data.csv")],
        )
        assert staged == EXPECTED_STAGED[table], f"{table}: staged {staged}"
        assert rules == EXPECTED_QUARANTINED[table], f"{table}: quarantined {rules}"
        assert raw == staged + sum(rules.values()), f"{table}: raw {raw} not reconciled"


@pytest.mark.slow
def test_fixture_event_flags(fixture_db: Any) -> None:
    for condition, expected in (
        ("is_bot", ["ev10"]),
        ("not is_known_event_name", ["ev11"]),
        ("is_url_malformed", ["ev12"]),
        ("is_late_arriving", ["ev13"]),
    ):
        found = [
            row[0]
            for row in fixture_db.execute(
                f"select event_id from staging.stg_shop__events where {condition} order by 1"
            ).fetchall()
        ]
        assert found == expected, condition


@pytest.mark.slow
def test_fixture_channels_and_page_types(fixture_db: Any) -> None:
    rows = fixture_db.execute(
        "select event_id, channel_group, page_type from staging.stg_shop__events"
    ).fetchall()
    assert {row[0]: row[1] for row in rows} == EXPECTED_CHANNELS
    assert {row[0]: row[2] for row in rows} == EXPECTED_PAGE_TYPES


@pytest.mark.slow
def test_fixture_parsed_values(fixture_db: Any) -> None:
    events = {
        row[0]: row[1:]
        for row in fixture_db.execute(
            "select event_id, utm_source, utm_medium, utm_campaign, utm_term, event_at, "
            "loaded_at, page_path, referrer_host from staging.stg_shop__events"
        ).fetchall()
    }
    # UTM tags from the URL, url-decoded ('%20' and '+'); the columns win over the URL
    assert events["ev01"][:4] == ("naver", "cpc", "brand_kw", "linen shirt")
    assert events["ev08"][:4] == ("sms", "sms", "member offer", None)
    assert events["ev04"][:4] == ("newsletter", "email", "weekly_news", None)
    # offsets converted to UTC; a timestamp without offset read as UTC
    assert events["ev01"][4] == datetime(2026, 1, 5, 1, 0)
    assert events["ev14"][4] == datetime(2026, 1, 5, 1, 30)
    assert events["ev02"][4] == datetime(2026, 1, 5, 1, 1)
    # the earliest clean load of a re-delivered event is the one kept
    assert events["ev01"][5] == datetime(2026, 1, 5, 1, 5)
    assert events["ev03"][5] == datetime(2026, 1, 5, 1, 7)
    assert events["ev05"][6:] == ("/products/p00001", "www.google.com")

    orders = {
        row[0]: row[1:]
        for row in fixture_db.execute(
            "select order_id, order_status, currency, is_paid, is_test_order, order_total, "
            "ordered_at from staging.stg_shop__orders"
        ).fetchall()
    }
    assert orders["O0002"][:3] == ("refunded", "KRW", False)
    assert orders["O0004"][1:4] == ("KRW", False, True)
    assert orders["O0005"][0] == "paid" and orders["O0005"][2] is True
    assert str(orders["O0005"][4]) == "5000.50"
    assert orders["O0005"][5] == datetime(2026, 1, 5, 9, 0)
    assert sum(1 for row in orders.values() if row[2]) == 2

    members = {
        row[0]: row[1:]
        for row in fixture_db.execute(
            "select member_id, membership_grade, grade_rank, is_sms_opt_in, "
            "is_marketing_opt_in, signed_up_at from staging.stg_shop__members"
        ).fetchall()
    }
    assert members["M0002"][:2] == ("GOLD", 3)
    assert members["M0001"] == ("WELCOME", 1, True, True, datetime(2026, 1, 5, 1, 3))
    assert members["M0009"][2:4] == (False, False)  # 'maybe' and absent: consent not given

    current = fixture_db.execute(
        "select member_id, membership_grade from staging.stg_shop__member_grade_history "
        "where is_current order by 1"
    ).fetchall()
    assert current == [("M0001", "WELCOME"), ("M0002", "GOLD"), ("M0003", "VIP")]

    line_totals = dict(
        fixture_db.execute(
            "select order_item_id, line_total::varchar from staging.stg_shop__order_items"
        ).fetchall()
    )
    assert line_totals == {
        "O0001|1": "30000.00",
        "O0001|2": "25000.00",
        "O0002|1": "30000.00",
        "O0005|5": "5000.50",
    }


@pytest.mark.slow
def test_fixture_quarantine_keeps_raw_text(fixture_db: Any) -> None:
    rows = fixture_db.execute(
        "select event_id, anonymous_id, loaded_at, quarantine_row_id, source_file "
        "from staging.stg_shop__events_quarantine where quarantine_rule = 'malformed_anonymous_id' "
        "order by anonymous_id"
    ).fetchall()
    assert [row[1] for row in rows] == ["a b c", "null", "undefined"]
    # values as sent: the offset is kept as text
    assert rows[1][0] == "ev03" and rows[1][2] == "2026-01-05T01:02:00Z"
    # the id is the row's file, content hash and number among identical rows
    assert all(row[3].startswith(row[4] + "|") and row[3].endswith("|1") for row in rows)
    assert all(row[4].endswith("events/data.csv") for row in rows)


# ---------------------------------------------------------------------------------------
# Generated data set: counts against the generator's manifest.

# manifest dirt key -> (table, quarantine rule) for extra rows staging must quarantine
QUARANTINED = {
    "duplicate_events": ("events", "duplicate"),
    "future_events": ("events", "future_event_at"),
    "too_late_events": ("events", "too_late"),
    "null_anonymous_ids": ("events", "missing_anonymous_id"),
    "malformed_anonymous_ids": ("events", "malformed_anonymous_id"),
    "malformed_member_ids": ("events", "malformed_member_id"),
    "duplicate_member_exports": ("members", "duplicate"),
    "duplicate_order_exports": ("orders", "duplicate"),
    "non_positive_unit_price_lines": ("order_items", "non_positive_unit_price"),
}
# manifest dirt key -> condition on staged events, for rows kept and flagged
FLAGGED = {
    "unknown_event_names": "not is_known_event_name",
    "bot_events": "is_bot",
    "late_events": "is_late_arriving",
    "malformed_urls": "is_url_malformed",
}
# manifest dirt key -> order status, for orders kept but never paid
NOT_PAID = {
    "cancelled_orders": "cancelled",
    "refunded_orders": "refunded",
    "test_orders": "test",
}


@pytest.mark.e2e
def test_manifest_dirt_kinds_are_all_checked(raw_manifest: dict) -> None:
    """A dirt kind the generator adds must get a check here, not pass unnoticed."""
    kinds = raw_manifest["dirt_kinds"]
    assert set(kinds["extra_rows_quarantined"]) == set(QUARANTINED)
    assert set(kinds["extra_rows_kept_and_flagged"]) | set(kinds["real_rows_flagged"]) == set(
        FLAGGED
    )
    assert set(kinds["extra_orders_not_paid"]) == set(NOT_PAID)


@pytest.mark.e2e
def test_raw_rows_reconcile_per_table(built_db: Any, raw_manifest: dict) -> None:
    for table in TABLES:
        staged = _count(built_db, f"select count(*) from staging.stg_shop__{table}")
        quarantined = _count(built_db, f"select count(*) from staging.stg_shop__{table}_quarantine")
        raw = raw_manifest["tables"][table]["rows"]
        assert staged + quarantined == raw, (
            f"{table}: raw {raw} != staged {staged} + quarantined {quarantined}"
        )


@pytest.mark.e2e
def test_every_quarantine_rule_count_equals_planted_dirt(built_db: Any, raw_manifest: dict) -> None:
    dirt = raw_manifest["dirt"]
    found = {
        key: _count(
            built_db,
            f"select count(*) from staging.stg_shop__{table}_quarantine where quarantine_rule = ?",
            [rule],
        )
        for key, (table, rule) in QUARANTINED.items()
    }
    for key, count in found.items():
        rule = QUARANTINED[key][1]
        assert count == dirt[key], f"{key}: planted {dirt[key]}, quarantined as {rule}: {count}"
    # nothing else was quarantined: clean rows stay staged
    planted_total = sum(dirt[key] for key in QUARANTINED)
    total = sum(
        _count(built_db, f"select count(*) from staging.stg_shop__{table}_quarantine")
        for table in TABLES
    )
    assert total == planted_total, f"quarantined {total} rows, planted {planted_total}"


@pytest.mark.e2e
def test_every_flag_count_equals_planted_dirt(built_db: Any, raw_manifest: dict) -> None:
    dirt = raw_manifest["dirt"]
    for key, condition in FLAGGED.items():
        found = _count(built_db, f"select count(*) from staging.stg_shop__events where {condition}")
        assert found == dirt[key], f"{key}: planted {dirt[key]}, flagged ({condition}) {found}"


@pytest.mark.e2e
def test_status_dirt_never_counts_as_paid(built_db: Any, raw_manifest: dict) -> None:
    dirt = raw_manifest["dirt"]
    rows = dict(
        built_db.execute(
            "select order_status, count(*) from staging.stg_shop__orders "
            "where not is_paid group by 1"
        ).fetchall()
    )
    for key, status in NOT_PAID.items():
        assert rows.get(status, 0) == dirt[key], f"{key}: planted {dirt[key]}, staged {rows}"


@pytest.mark.e2e
def test_non_utc_offsets_read_as_the_same_instant(
    built_db: Any, raw_manifest: dict, test_raw_path: Path
) -> None:
    """CSV exports write some event_at in Korean time (+09:00): staged as the same instant."""
    if raw_manifest["format"] != "csv":
        pytest.skip("the data set is parquet: non-UTC offsets only occur in CSV exports")
    counts = built_db.execute(
        """
        with raw_offsets as (
            select event_id, event_at
            from read_csv(?, header = true, all_varchar = true, union_by_name = true)
            where event_at like '%+09:00'
        )
        select
            count(*),
            count(events.event_id),
            count(*) filter (
                where events.event_id is not null
                and events.event_at is distinct from strptime(
                    replace(raw_offsets.event_at, '+09:00', ''), '%Y-%m-%d %H:%M:%S.%f'
                ) - interval 9 hour
            )
        from raw_offsets
        left join staging.stg_shop__events as events
            on raw_offsets.event_id = events.event_id
        """,
        [str(test_raw_path / "events" / "*.csv")],
    ).fetchall()[0]
    raw_rows, staged_rows, wrong = counts
    assert raw_rows >= raw_manifest["dirt"]["non_utc_offsets"] > 0
    assert staged_rows > 0
    assert wrong == 0, f"{wrong} events written with +09:00 not staged at the same instant"
    invalid = _count(
        built_db,
        "select count(*) from staging.stg_shop__events_quarantine "
        "where quarantine_rule = 'invalid_event_at'",
    )
    assert invalid == 0, f"{invalid} events quarantined for an unreadable event_at"
