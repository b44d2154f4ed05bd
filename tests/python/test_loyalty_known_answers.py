"""The loyalty marts recover the planted effects; audience sizes match raw-table counts."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import duckdb
import pytest

from shopfunnel.export import export_audiences

pytestmark = pytest.mark.e2e


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_higher_grades_pay_more(built_db) -> None:
    grades = _rows(
        built_db,
        "select segment, segment_rank, avg_unit_price, pays_more_than_lower_segment "
        "from marts.rpt_vip_price_affinity "
        "where segment_type = 'membership_grade' and segment_rank >= 1 order by segment_rank",
    )
    assert [row["segment"] for row in grades] == ["WELCOME", "SILVER", "GOLD", "VIP"]
    prices = [row["avg_unit_price"] for row in grades]
    assert prices == sorted(prices), f"average unit price by grade: {prices}"
    assert all(row["pays_more_than_lower_segment"] for row in grades[1:])


def test_loyal_buyers_favour_new_releases_over_discounts(built_db, raw_manifest) -> None:
    rows = {
        row["segment"]: row
        for row in _rows(built_db, "select * from marts.rpt_new_release_response")
    }
    loyal, others = rows["loyal"], rows["everyone_else"]
    planted = raw_manifest["planted"]
    assert planted["new_release_prob"]["loyal"] > planted["new_release_prob"]["once"]
    assert loyal["new_release_share"] > others["new_release_share"] + 0.15
    assert loyal["discounted_share"] < others["discounted_share"] - 0.10
    assert loyal["new_release_p_value"] < 0.001 and loyal["discount_p_value"] < 0.001
    assert math.isclose(loyal["new_release_z_score"], -others["new_release_z_score"], abs_tol=1e-6)


def _independent_counts(raw: Path, seeds: Path) -> dict[str, int]:
    """Audience sizes straight from the raw files and the seeds, without any dbt model."""
    con = duckdb.connect()
    con.execute(f"""
        create view raw_events as select * from read_parquet('{raw}/events/*.parquet');
        create view raw_members as select * from read_parquet('{raw}/members/*.parquet');
        create view raw_orders as select * from read_parquet('{raw}/orders/*.parquet');
        create view raw_grades as
            select * from read_parquet('{raw}/member_grade_history/*.parquet');
        create view suppression as
            select * from read_csv('{seeds}/suppression_list.csv', header = true);
        create table as_of as
            select max(cast(timezone('UTC', event_at) as date)) as as_of_date
            from raw_events
            where event_at <= loaded_at + interval 1 hour
              and regexp_full_match(anonymous_id, '^[A-Za-z0-9_.:-]{{1,64}}$')
              and anonymous_id not in ('null', 'undefined')
              and not regexp_matches(
                  lower(user_agent), '(bot|crawl|spider|headless|python-requests)');
        create table members as
            select * from raw_members
            qualify row_number() over (partition by member_id order by updated_at desc) = 1;
        create table contactable as
            select members.*
            from members
            where member_id not in (select suppression_value from suppression
                                    where suppression_type = 'member_id')
              and lower(trim(email)) not in (select lower(suppression_value) from suppression
                                             where suppression_type = 'email')
              and regexp_replace(phone, '[^0-9]', '', 'g') not in (
                  select regexp_replace(suppression_value, '[^0-9]', '', 'g') from suppression
                  where suppression_type = 'phone');
        create table paid as
            select * from raw_orders
            qualify row_number() over (partition by order_id order by loaded_at desc) = 1;
        delete from paid where status <> 'paid' or member_id is null;
    """)
    coupon = con.execute("""
        select count(*)
        from contactable, as_of
        where marketing_opt_in
          and cast(timezone('UTC', signed_up_at) as date) <= as_of_date
          and cast(timezone('UTC', signed_up_at) as date) > as_of_date - 30
          and member_id not in (
              select member_id from paid
              where cast(timezone('UTC', ordered_at) as date) <= as_of_date)
    """).fetchall()[0][0]
    # loyal: 2+ paid orders and, at some paid order, 4+ paid orders or 1,000,000 spend in the
    # trailing 365 days, or a VIP grade held with 2+ paid orders
    sms = con.execute("""
        with ordered as (
            select
                member_id,
                ordered_at,
                row_number() over (partition by member_id order by ordered_at) as n,
                count(*) over w as trailing_orders,
                sum(order_total) over w as trailing_spend
            from paid
            window w as (partition by member_id order by ordered_at
                         range between interval 365 days preceding and current row)
        ),
        loyal_by_orders as (
            select distinct member_id from ordered
            where n >= 2 and (trailing_orders >= 4 or trailing_spend >= 1000000)
        ),
        two_orders as (select member_id from paid group by 1 having count(*) >= 2),
        vip as (select distinct member_id from raw_grades where membership_grade = 'VIP'),
        loyal as (
            select member_id from loyal_by_orders
            union
            select member_id from vip join two_orders using (member_id)
        )
        select count(*) from contactable join loyal using (member_id)
        where sms_opt_in and phone is not null
    """).fetchall()[0][0]
    con.close()
    return {"aud_first_purchase_coupon": coupon, "aud_vip_new_release_sms": sms}


def test_audience_sizes_match_raw_counts(built_db, test_raw_path, repo_root) -> None:
    expected = _independent_counts(test_raw_path, repo_root / "seeds")
    for audience, count in expected.items():
        built = built_db.execute(f"select count(*) from marts.{audience}").fetchall()[0][0]
        assert built == count, f"{audience}: marts {built}, raw count {count}"
        assert count > 0, audience


def test_holdout_is_about_the_configured_share(built_db) -> None:
    total, held = built_db.execute(
        "select count(*), count(*) filter (where is_holdout) from marts.aud_signup_retargeting"
    ).fetchall()[0]
    assert total > 500
    se = math.sqrt(0.1 * 0.9 / total)
    assert abs(held / total - 0.10) < 4 * se


def test_export_leaves_out_the_holdout_and_pii(test_db_path, built_db, tmp_path) -> None:
    summaries = export_audiences(test_db_path, tmp_path)
    for summary in summaries:
        audience = summary["audience"]
        exported = built_db.execute(
            f"select count(*) from marts.{audience} where not is_holdout"
        ).fetchall()[0][0]
        folder = tmp_path / audience
        sidecar = json.loads((folder / f"{audience}_{summary['as_of_date']}.json").read_text())
        assert sidecar["rows"] == exported
        csv_file = folder / summary["files"][0]
        assert f"_{exported}rows.csv" in csv_file.name
        with csv_file.open() as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == exported
        assert "is_holdout" not in rows[0] if rows else True
        assert not any("@" in value for row in rows for value in row.values())
        parquet_rows = duckdb.sql(
            f"select count(*) from read_parquet('{folder / summary['files'][1]}')"
        ).fetchall()[0][0]
        assert parquet_rows == exported
