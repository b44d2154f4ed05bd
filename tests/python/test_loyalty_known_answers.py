"""Known answers of the loyalty marts and audiences on the generated test data set.

The marts must recover the effects the generator planted (``manifest.json``: higher grades
pay more; loyal buyers favour new releases over discounts), and each audience's size must
match a count made here straight from the raw parquet files and the seeds with DuckDB SQL,
without any dbt model. Needs ``SHOPFUNNEL_TEST_DB`` and ``SHOPFUNNEL_TEST_RAW`` (skipped
otherwise, see conftest.py).
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import duckdb
import pytest
import yaml

pytestmark = pytest.mark.e2e

GRADE_LADDER = ["WELCOME", "SILVER", "GOLD", "VIP"]


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def project_vars(repo_root: Path) -> dict:
    return yaml.safe_load((repo_root / "dbt_project.yml").read_text())["vars"]


# ---------------------------------------------------------------- planted effects


def test_higher_grades_pay_more(built_db, raw_manifest) -> None:
    planted = raw_manifest["planted"]
    assert planted["higher_grades_pay_more"]
    bias = planted["price_tier_bias"]
    assert bias["once"] < bias["repeat"] < bias["loyal"]
    grades = _rows(
        built_db,
        "select segment, avg_unit_price, median_unit_price, premium_tier_share, "
        "pays_more_than_lower_segment from marts.rpt_vip_price_affinity "
        "where segment_type = 'membership_grade' and segment_rank >= 1 order by segment_rank",
    )
    assert [row["segment"] for row in grades] == GRADE_LADDER
    prices = [row["avg_unit_price"] for row in grades]
    assert prices == sorted(prices) and len(set(prices)) == len(prices), prices
    assert all(row["pays_more_than_lower_segment"] for row in grades[1:])
    assert grades[0]["pays_more_than_lower_segment"] is None
    # the premium tier: VIPs over-buy it, entry members under-buy it
    assert grades[-1]["premium_tier_share"] > grades[0]["premium_tier_share"]


def test_spend_tiers_pay_more_and_tier_mix_agrees(built_db, project_vars) -> None:
    tiers = _rows(
        built_db,
        "select segment, avg_unit_price, pays_more_than_lower_segment "
        "from marts.rpt_vip_price_affinity where segment_type = 'spend_tier' "
        "order by segment_rank",
    )
    tier_count = project_vars["customer_score_tiers"]
    assert [row["segment"] for row in tiers] == [f"spend_q{n}" for n in range(1, tier_count + 1)]
    assert all(row["pays_more_than_lower_segment"] for row in tiers[1:])
    top_tier = built_db.execute(
        "select max(price_tier) from marts.rpt_vip_price_tier_mix"
    ).fetchall()[0][0]
    affinity = dict(
        built_db.execute(
            "select segment, affinity_index from marts.rpt_vip_price_tier_mix "
            f"where segment_type = 'membership_grade' and price_tier = {top_tier}"
        ).fetchall()
    )
    assert affinity["VIP"] > 1 > affinity["WELCOME"], affinity
    # every segment's mix sums to one
    sums = built_db.execute(
        "select segment_type, segment, sum(tier_share) from marts.rpt_vip_price_tier_mix "
        "group by all having sum(units) > 0"
    ).fetchall()
    assert all(abs(total - 1) < 1e-9 for _, _, total in sums), sums


def test_loyal_buyers_favour_new_releases_over_discounts(built_db, raw_manifest) -> None:
    planted = raw_manifest["planted"]
    assert planted["loyal_favour_new_releases"]
    assert planted["new_release_prob"]["loyal"] > planted["new_release_prob"]["once"]
    assert planted["discount_prob"]["loyal"] < planted["discount_prob"]["once"]
    realized = raw_manifest["realized"]["lines_by_member_type"]
    realized_gap = realized["loyal"]["new_release_share"] - max(
        realized["once"]["new_release_share"], realized["repeat"]["new_release_share"]
    )

    rows = {
        row["segment"]: row
        for row in _rows(built_db, "select * from marts.rpt_new_release_response")
    }
    loyal, others = rows["loyal"], rows["everyone_else"]
    # the funnel's loyal segment is not exactly the generator's loyal type: half the gap
    assert loyal["new_release_share"] - others["new_release_share"] > realized_gap / 2
    assert loyal["discounted_share"] < others["discounted_share"]
    assert loyal["new_release_p_value"] < 0.001
    assert loyal["discount_p_value"] < 0.001
    assert loyal["new_release_z_score"] == pytest.approx(-others["new_release_z_score"])


# ---------------------------------------------------------------- independent counts


def _raw_connection(raw: Path, seeds: Path, project_vars: dict) -> duckdb.DuckDBPyConnection:
    """Views over the raw files with staging's rules re-written by hand (not dbt's SQL)."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    id_regex = project_vars["id_regex"]
    bot_regex = project_vars["bot_user_agent_regex"]
    future_hours = project_vars["future_tolerance_hours"]
    lookback = project_vars["late_event_lookback_days"]
    con.execute(f"""
        create view raw_events as
            select * from read_parquet('{raw}/events/*.parquet', union_by_name = true);
        create view raw_members as
            select * from read_parquet('{raw}/members/*.parquet', union_by_name = true);
        create view raw_orders as
            select * from read_parquet('{raw}/orders/*.parquet', union_by_name = true);
        create view raw_grades as
            select * from read_parquet(
                '{raw}/member_grade_history/*.parquet', union_by_name = true
            );
        create view suppression as
            select * from read_csv('{seeds}/suppression_list.csv', header = true,
                                   all_varchar = true);

        -- human hits: first load of each event id, well-formed ids, not in the future, no bot
        create table human_events as
            select
                anonymous_id,
                nullif(trim(member_id), '') as member_id,
                coalesce(
                    nullif(trim(utm_medium), ''),
                    nullif(regexp_extract(page_url, '[?&]utm_medium=([^&#]*)', 1), '')
                ) as utm_medium,
                cast(event_at as timestamp) as event_at,
                cast(loaded_at as timestamp) as loaded_at
            from raw_events
            where regexp_full_match(trim(event_id), '{id_regex}')
                and regexp_full_match(anonymous_id, '{id_regex}')
                and lower(anonymous_id) not in ('null', 'undefined', 'none')
                and (nullif(trim(member_id), '') is null
                     or regexp_full_match(trim(member_id), '{id_regex}'))
                and nullif(trim(event_name), '') is not null
                and event_at is not null and loaded_at is not null
                and event_at <= loaded_at + interval {future_hours} hour
                -- staging's too_late: loaded more than the lookback after, outside the first load
                and (
                    cast(loaded_at as date) = (select min(cast(loaded_at as date)) from raw_events)
                    or date_diff('day', cast(event_at as date), cast(loaded_at as date))
                    <= {lookback}
                )
                and not coalesce(regexp_matches(lower(user_agent), '{bot_regex}'), false)
            qualify row_number() over (
                partition by trim(event_id) order by loaded_at, event_at
            ) = 1;

        -- the data ends on the last load date (int_analysis_window): the export's own
        create table as_of as
            select max(load_date) as as_of_date from (
                select cast(loaded_at as date) as load_date from human_events
                union all
                select cast(loaded_at as date) from raw_members
                union all
                select cast(loaded_at as date) from raw_orders
            ) as loads;

        create table members as
            select
                trim(member_id) as member_id,
                lower(trim(email)) as email_key,
                '+82' || regexp_replace(regexp_replace(phone, '[^0-9]', '', 'g'), '^(82)?0?', '')
                    as phone_key,
                sms_opt_in,
                marketing_opt_in,
                cast(signed_up_at as date) as signup_date
            from raw_members
            where regexp_full_match(trim(member_id), '{id_regex}') and signed_up_at is not null
            qualify row_number() over (
                partition by trim(member_id) order by updated_at desc nulls last,
                loaded_at desc nulls last
            ) = 1;

        -- the seed holds SHA-256 hex digests of the normalised e-mail and phone
        create table not_suppressed as
            select * from members
            where member_id not in (
                    select trim(suppression_value) from suppression
                    where suppression_type = 'member_id')
                and coalesce(sha256(email_key), '') not in (
                    select lower(trim(suppression_value)) from suppression
                    where suppression_type = 'email_sha256')
                and coalesce(sha256(phone_key), '') not in (
                    select lower(trim(suppression_value)) from suppression
                    where suppression_type = 'phone_sha256');

        create table paid_orders as
            select * from (
                select
                    trim(member_id) as member_id,
                    lower(trim(status)) as status,
                    order_total,
                    cast(ordered_at as timestamp) as ordered_at
                from raw_orders
                where regexp_full_match(trim(order_id), '{id_regex}')
                qualify row_number() over (
                    partition by trim(order_id) order by loaded_at desc nulls last
                ) = 1
            )
            where status = 'paid' and member_id is not null and ordered_at is not null
                and order_total >= 0;
    """)
    return con


def _independent_sizes(con: duckdb.DuckDBPyConnection, project_vars: dict) -> dict[str, int]:
    retargeting_days = project_vars["retargeting_recency_days"]
    coupon_days = project_vars["coupon_signup_recency_days"]
    keyword_medium = "^(cpc|ppc|sem|paid_search|paidsearch|keyword)$"  # seeds/channel_rules.csv
    sizes: dict[str, int] = {}
    # devices never tied to a member, that arrived from a keyword ad, seen in the last N days
    sizes["aud_signup_retargeting"] = con.execute(f"""
        select count(*)
        from (
            select
                anonymous_id,
                count(member_id) as member_hits,
                bool_or(coalesce(regexp_matches(lower(utm_medium), '{keyword_medium}'), false))
                    as came_from_keyword_ad,
                max(cast(event_at as date)) as last_seen_date
            from human_events
            group by anonymous_id
        ) as devices, as_of
        where member_hits = 0
            and came_from_keyword_ad
            and last_seen_date > as_of_date - {retargeting_days}
    """).fetchall()[0][0]
    # members with marketing consent, signed up in the last N days, no paid order yet
    sizes["aud_first_purchase_coupon"] = con.execute(f"""
        select count(*)
        from not_suppressed, as_of
        where marketing_opt_in
            and signup_date <= as_of_date
            and signup_date > as_of_date - {coupon_days}
            and member_id not in (
                select member_id from paid_orders
                where cast(ordered_at as date) <= as_of_date)
    """).fetchall()[0][0]
    # loyal: at some paid order, 2+ paid orders and, in the trailing window, enough orders or
    # spend; or a VIP grade and 2+ paid orders (docs: funnel loyal_rule)
    sizes["aud_vip_new_release_sms"] = con.execute(f"""
        with ordered as (
            select
                member_id,
                row_number() over (partition by member_id order by ordered_at) as order_number,
                count(*) over trailing_year as trailing_orders,
                sum(order_total) over trailing_year as trailing_spend
            from paid_orders
            window trailing_year as (
                partition by member_id order by ordered_at
                range between interval {project_vars["loyal_window_days"]} days preceding
                and current row
            )
        ),
        loyal_by_orders as (
            select distinct member_id from ordered
            where order_number >= 2
                and (trailing_orders >= {project_vars["loyal_min_paid_orders"]}
                     or trailing_spend >= {project_vars["loyal_min_spend"]})
        ),
        two_orders as (
            select member_id from paid_orders group by member_id having count(*) >= 2
        ),
        vip as (
            select distinct trim(member_id) as member_id from raw_grades
            where membership_grade = 'VIP'
        ),
        loyal as (
            select member_id from loyal_by_orders
            union
            select member_id from vip inner join two_orders using (member_id)
        )
        select count(*)
        from not_suppressed
        inner join loyal using (member_id)
        where sms_opt_in and phone_key <> '+82'
    """).fetchall()[0][0]
    return sizes


def test_audience_sizes_match_raw_counts(built_db, test_raw_path, repo_root, project_vars) -> None:
    built_as_of = built_db.execute(
        "select as_of_date, data_end_date from intermediate.int_as_of_date"
    ).fetchall()[0]
    if built_as_of[0] != built_as_of[1]:
        pytest.skip("the test build used an as-of date before the end of the data")
    con = _raw_connection(test_raw_path, repo_root / "seeds", project_vars)
    try:
        assert con.execute("select as_of_date from as_of").fetchall()[0][0] == built_as_of[0]
        expected = _independent_sizes(con, project_vars)
    finally:
        con.close()
    for audience, count in expected.items():
        built = built_db.execute(f"select count(*) from marts.{audience}").fetchall()[0][0]
        assert built == count, f"{audience}: marts {built}, raw count {count}"
        assert count > 0, f"{audience} is empty on the test data set"


def test_suppression_list_hits_the_test_data(built_db, repo_root) -> None:
    """The seed names members of the generated data, so suppression is exercised for real: the
    members it suppresses, found here with hashlib over the staged members (not dbt's SQL),
    are exactly the ones int_members_contactable flags."""
    with (repo_root / "seeds" / "suppression_list.csv").open() as handle:
        seed = [
            (row["suppression_type"], row["suppression_value"].strip())
            for row in csv.DictReader(handle)
        ]
    hashes = {
        kind: {value.lower() for k, value in seed if k == kind}
        for kind in ("email_sha256", "phone_sha256")
    }
    member_ids = {value for kind, value in seed if kind == "member_id"}
    expected = set()
    for member_id, email, phone in built_db.execute(
        "select member_id, email, phone from staging.stg_shop__members"
    ).fetchall():
        email_key = (email or "").strip().lower()
        digits = re.sub(r"[^0-9]", "", phone or "")
        phone_key = "+82" + re.sub(r"^(82)?0?", "", digits, count=1) if digits else ""
        if (
            member_id in member_ids
            or (email_key and _sha256(email_key) in hashes["email_sha256"])
            or (phone_key and _sha256(phone_key) in hashes["phone_sha256"])
        ):
            expected.add(member_id)
    flagged = {
        row[0]
        for row in built_db.execute(
            "select member_id from intermediate.int_members_contactable where is_suppressed"
        ).fetchall()
    }
    assert flagged == expected
    # not vacuous: the test data set has suppressed members
    assert flagged, "no member of the test data set is on the suppression list"


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
