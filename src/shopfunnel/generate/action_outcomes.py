"""The outcomes of the marketing actions (actions.py): the orders the actions placed, settled
into the shop's tables, the members as they were before any action, and the truth the lift
known-answer test checks: every person of each action's population with the outcome with and
without the action (``action_truth.parquet``) and the manifest's ``actions`` section.
"""

from __future__ import annotations

from shopfunnel.generate.actions import ACTIONS, COUPON_ORDER_IDX, SMS_ORDER_IDX, TRUTH_FILE
from shopfunnel.generate.context import RunContext
from shopfunnel.sqltext import sql_string


def new_release_line_sql(ctx: RunContext) -> str:
    """Macro is_new_release on lines_truth: ordered at most new_release_days after release."""
    return (
        "(ts(ordered_s) >= released_at and ts(ordered_s) < released_at "
        f"+ to_days({int(ctx.p.new_release_days)}))"
    )


def settle_orders(ctx: RunContext) -> None:
    """After the order lines: the SMS outcomes with and without the action, then the SMS
    orders of held-out members leave the shop (they were never sent an SMS)."""
    con = ctx.con
    start, end = ctx.sec(ctx.action_start), ctx.sec(ctx.action_end)
    con.execute(f"""
        create table sms_outcomes as
        select
            person_idx,
            bool_or(o_idx <> {SMS_ORDER_IDX} and {new_release_line_sql(ctx)})
                as converts_without_action,
            bool_or({new_release_line_sql(ctx)}) as converts_with_action
        from lines_truth
        where person_idx in (select person_idx from action_sms)
            and ordered_s >= {start!r} and ordered_s < {end!r}
        group by person_idx
    """)
    con.execute("""
        create or replace table action_sms as
        select
            action_sms.* exclude (converts_without_action),
            coalesce(sms_outcomes.converts_without_action, false) as converts_without_action,
            coalesce(sms_outcomes.converts_with_action, false) as converts_with_action
        from action_sms
        left join sms_outcomes using (person_idx)
    """)
    held_out = f"""
        o_idx = {SMS_ORDER_IDX}
        and person_idx in (select person_idx from action_sms where is_holdout)
    """
    con.execute(f"delete from lines_truth where {held_out}")
    con.execute(f"delete from orders_truth where {held_out}")
    # every order there is because of an action: the coupon's and the SMS's, and the orders
    # of the members the retargeting ad made
    ctx.action_orders = ctx.count(f"""(
        select * from orders_truth
        where o_idx in ({SMS_ORDER_IDX}, {COUPON_ORDER_IDX})
            or person_idx in (
                select person_idx from action_retargeting
                where is_drawn and can_respond and not is_holdout
            )
    )""")


def baseline_members_sql() -> str:
    """members_truth without the members the retargeting action made (as a subquery)."""
    return """(
        select * from members_truth
        where person_idx not in (
            select person_idx from action_retargeting
            where is_drawn and can_respond and not is_holdout
        )
    )"""


def _truth_sql() -> str:
    """One row per person of each action's population."""
    parts = []
    for action in ACTIONS:
        with_action = (
            "converts_with_action"
            if action.name == "sms"
            else "converts_without_action or (is_drawn and can_respond)"
        )
        parts.append(f"""
            select
                action,
                '{action.audience}' as audience_name,
                person_key,
                member_id,
                anonymous_id,
                is_holdout,
                is_drawn,
                can_respond,
                is_drawn and can_respond and not is_holdout as is_reached,
                converts_without_action,
                {with_action} as converts_with_action,
                case when is_drawn and can_respond then ts(action_s) end as response_at
            from action_{action.name}
        """)
    return " union all ".join(parts)


def report(ctx: RunContext) -> dict:
    """Write the truth file (one row per person of each population: holdout, draw, outcome
    with and without the action) and return the manifest's ``actions`` section."""
    p = ctx.p
    if not p.actions:
        return {"enabled": False}
    con = ctx.con
    con.execute(f"create table action_truth as {_truth_sql()}")
    path = ctx.out / TRUTH_FILE
    con.execute(
        f"copy (select * from action_truth order by audience_name, person_key) "
        f"to {sql_string(path)} (format parquet)"
    )
    rows = con.execute("""
        select
            action,
            count(*),
            count(*) filter (where is_holdout),
            count(*) filter (where is_drawn and can_respond),
            count(*) filter (where is_reached),
            count(*) filter (where converts_without_action),
            count(*) filter (where converts_with_action),
            count(*) filter (where not is_holdout and converts_with_action),
            count(*) filter (where is_holdout and converts_without_action)
        from action_truth
        group by action
    """).fetchall()
    counts = {row[0]: row[1:] for row in rows}
    by_action = {}
    for action in ACTIONS:
        persons, held, drawn, reached, without, with_, exported_conv, holdout_conv = counts.get(
            action.name, (0,) * 8
        )
        by_action[action.name] = {
            "audience": action.audience,
            "conversion_rule": action.conversion_rule,
            "population": action.population,
            "response": action.response,
            "effect": p.action_effect(action.name),
            "has_effect": p.action_effect(action.name) > 0,
            "population_persons": persons,
            "holdout_persons": held,
            "drawn_persons": drawn,
            "reached_persons": reached,
            "converted_without_action": without,
            "converted_with_action": with_,
            # the effect on the population: mean over its persons of (outcome with the
            # action - outcome without it), from the counterfactual truth
            "population_effect": round((with_ - without) / persons, 6) if persons else None,
            "conversions_in_data": {"exported": exported_conv, "holdout": holdout_conv},
        }
    return {
        "enabled": True,
        "as_of_date": p.action_date().isoformat(),
        "window_first_date": ctx.action_start.date().isoformat(),
        "window_end": ctx.action_end.isoformat(),
        "lift_window_days": p.lift_window_days,
        "holdout_seed": p.holdout_seed,
        "holdout_share": p.holdout_share,
        "response_mean_days": p.action_response_mean_days,
        "truth_file": TRUTH_FILE,
        "build_vars": {
            "audience_as_of_date": p.action_date().isoformat(),
            "lift_window_days": p.lift_window_days,
            "holdout_seed": p.holdout_seed,
            "holdout_share": p.holdout_share,
        },
        "actions": by_action,
        "added_rows": {"signups": ctx.action_signups, "orders": ctx.action_orders},
    }
