"""The ground truth and the manifest: what was planted, what came out, what was written."""

from __future__ import annotations

from shopfunnel.generate.context import RunContext
from shopfunnel.generate.sqlkit import TABLES

GENERATOR_VERSION = "1.3.0"  # 1.3: marketing actions (--actions on); 1.2: late loads, daily layout

# every dirt kind, by what staging must do with it
DIRT_KINDS = {
    "extra_rows_quarantined": [
        "duplicate_events",
        "future_events",
        "null_anonymous_ids",
        "malformed_anonymous_ids",
        "malformed_member_ids",
        "duplicate_member_exports",
        "duplicate_order_exports",
        "non_positive_unit_price_lines",
        "too_late_events",
    ],
    "extra_rows_kept_and_flagged": ["unknown_event_names", "bot_events"],
    "real_rows_flagged": ["late_events", "malformed_urls"],
    "real_rows_reformatted_csv_only": ["non_utc_offsets"],
    "extra_orders_not_paid": ["cancelled_orders", "refunded_orders", "test_orders"],
    "extra_paid_orders_of_unknown_members": ["unknown_member_orders"],
}


def _persons(ctx: RunContext) -> dict[str, int | float]:
    row = ctx.con.execute("""
        select
            count(*) as human_visitors,
            count(*) filter (where not is_returning) as new_visitors,
            count(*) filter (where not is_returning and signup_s_idx is not null)
                as signups_new,
            count(*) filter (
                where not is_returning and signup_s_idx is not null and views_benefit
            ) as signups_viewed_benefit,
            count(*) filter (where not is_returning and signup_s_idx is null and views_benefit)
                as nonsignups_viewed_benefit,
            count(*) filter (where not is_returning and views_benefit)
                as new_visitors_viewed_benefit,
            count(*) filter (where is_existing_member) as returning_members
        from persons
    """).fetchall()[0]
    names = (
        "human_visitors",
        "new_visitors",
        "signups_new",
        "signups_viewed_benefit",
        "nonsignups_viewed_benefit",
        "new_visitors_viewed_benefit",
        "returning_members",
    )
    return dict(zip(names, (int(v) for v in row), strict=True))


def _members_and_devices(ctx: RunContext, result: dict) -> None:
    q = ctx.con.execute
    members = q("""
        select count(*), count(*) filter (where not has_events) from members_truth
    """).fetchall()[0]
    result["members"], result["members_without_events"] = int(members[0]), int(members[1])
    buyers = q("""
        select count(*) filter (where n >= 1), count(*) filter (where n >= 2), sum(n)
        from (select member_id, count(*) as n from orders_truth group by member_id)
    """).fetchall()[0]
    result["buyers"], result["repeat_buyers"], result["paid_member_orders"] = (
        int(v or 0) for v in buyers
    )
    result["guest_orders"] = ctx.realized_guest_orders
    result["shared_devices"] = int(
        q("""
        select count(distinct anonymous_id) from sessions where anonymous_id like 'a_sh%'
    """).fetchall()[0][0]
    )
    result["multi_device_members"] = int(
        q("""
        select count(*) from (
            select person_idx from sessions
            where person_idx in (select person_idx from persons where is_member)
            group by person_idx having count(distinct anonymous_id) > 1
        )
    """).fetchall()[0][0]
    )


def _lines(ctx: RunContext, result: dict) -> None:
    q = ctx.con.execute
    is_new = f"(released_at >= ts(ordered_s) - interval {ctx.p.new_release_days} day)::int"
    lines = q(f"""
        select
            member_type,
            count(*) as lines,
            avg({is_new}) as new_share,
            avg(is_discounted::int) as discount_share,
            avg(unit_price) as mean_unit_price
        from lines_truth group by member_type order by member_type
    """).fetchall()
    result["lines_by_member_type"] = {
        r[0]: {
            "lines": int(r[1]),
            "new_release_share": round(r[2], 6),
            "discount_share": round(r[3], 6),
            "mean_unit_price": round(r[4], 2),
        }
        for r in lines
    }
    segments = q(f"""
        select
            member_type = 'loyal' as is_loyal,
            avg({is_new}),
            avg(is_discounted::int)
        from lines_truth group by 1 order by 1
    """).fetchall()
    for is_loyal, new_share, discount_share in segments:
        segment = "loyal" if is_loyal else "other"
        result[f"new_release_share_{segment}"] = round(new_share, 6)
        result[f"discount_share_{segment}"] = round(discount_share, 6)
    # grade in force when the order was placed (the order that crosses a threshold
    # already counts at the new grade: valid_from = that order's time)
    by_grade = q("""
        select grade_code, count(*), avg(unit_price)
        from (
            select
                lines_truth.unit_price,
                grades.grade_code,
                grades.grade_rank
            from lines_truth
            asof join grade_history_truth as grades
                on grades.member_id = lines_truth.member_id
                and grades.valid_from_s <= lines_truth.ordered_s
        )
        group by grade_code, grade_rank
        order by grade_rank
    """).fetchall()
    result["lines_by_grade_at_order"] = {
        grade: {"lines": int(lines), "mean_unit_price": round(price, 2)}
        for grade, lines, price in by_grade
    }


def realized(ctx: RunContext) -> dict:
    """Figures of the simulated truth the marts must recover."""
    result: dict = _persons(ctx)
    _members_and_devices(ctx, result)
    _lines(ctx, result)
    result["paid_orders"] = result["paid_member_orders"] + result["guest_orders"]
    return result


def planted(ctx: RunContext) -> dict:
    """The rates and effects the simulation was told to produce."""
    p = ctx.p
    return {
        "new_visitor_share": p.new_visitor_share,
        "signup_rate": p.target_signup_rate,
        "signup_share_viewed_benefit": p.target_signup_share_viewed,
        "nonsignup_share_not_viewed_benefit": p.target_nonsignup_share_not_viewed,
        **p.derived_signup_rates(),
        "new_release_prob": p.new_release_prob,
        "discount_prob": p.discount_prob,
        "price_tier_bias": p.price_tier_bias,
        "higher_grades_pay_more": True,
        "loyal_favour_new_releases": True,
        "discount_share_loyal": p.discount_prob["loyal"],
        "new_release_prob_loyal": p.new_release_prob["loyal"],
        "mean_unit_price_rises_with_grade": ["WELCOME", "SILVER", "GOLD", "VIP"],
    }


def manifest(ctx: RunContext, rows: dict[str, int]) -> dict:
    p = ctx.p
    return {
        "generator_version": GENERATOR_VERSION,
        "seed": p.seed,
        "visitors": p.visitors,
        "days": p.days,
        "history_days": p.history_days,
        "data_start": ctx.h0.isoformat(),
        "window_start": ctx.w0.isoformat(),
        "window_end": ctx.w1.isoformat(),
        "format": ctx.fmt,
        "layout": ctx.layout,
        "chunk_events": ctx.chunk_events,
        "dirt_enabled": p.dirt,
        "parameters": p.to_json(),
        "planted": planted(ctx),
        "realized": realized(ctx),
        "dirt": dict(sorted(ctx.dirt.items())),
        "dirt_kinds": DIRT_KINDS,
        "tables": {
            table: {"rows": rows[table], "files": sorted(ctx.files[table])} for table in TABLES
        },
    }
