"""The marketing actions, simulated on their audiences after an action date, with the holdout
the marts choose.

Three actions, one per audience mart (seed ``audiences``):

- ``retargeting`` (``aud_signup_retargeting``): a member-benefits ad makes a visitor come back
  and sign up (a new session, from a paid social ad, ending with the sign-up);
- ``coupon`` (``aud_first_purchase_coupon``): a first-purchase coupon makes a member place a
  first paid order (with the coupon);
- ``sms`` (``aud_vip_new_release_sms``): an SMS about a new release makes a repeat buyer place
  a paid order whose first line is a new release.

**Who is held out.** Exactly the persons the marts hold out: macro ``is_in_holdout``, the first
13 hex digits of ``md5('<person>|<audience>|<as-of date>|<holdout seed>')`` read as a number
in [0, 1), below the holdout share (``holdout_draw`` is the same draw in Python). The person
is named as the marts name it at the action date: ``mbr_<member_id>`` for a member,
``anon_<anonymous_id>`` for a visitor who was no member then (the retargeting audience keys
its holdout on that id, the device it retargets, so that a later sign-up, which makes the
person ``mbr_...``, does not move them to the other group).

**Whom an action reaches.** The generator does not know exactly whom the marts will put in an
audience (sessions, channels, consent, the loyal rule and the suppression list are theirs to
decide). Each action is applied to every person outside the holdout of a *population* that
contains its audience and is defined by what happened by the action date only:

- retargeting: every human visitor seen by the action date who was no member by then;
- coupon: every member who signed up by the action date with no paid order by then;
- sms: every member with at least two paid orders by the action date (the loyal rule needs
  two).

The measured lift stays unbiased: the audience is a subset of the population chosen from
data before the action date, which the actions do not change (they only add sessions,
sign-ups and orders after it); within the audience the marts' holdout, a hash independent
of everything simulated, splits persons into two groups alike in all but the action; and
the action reaches every person of the population outside the holdout, so every exported
audience member is treated and no held-out one is. Treating persons outside the audience
too changes nothing the lift mart compares.

**The effect.** For each action an effect share ``q`` (``Params.action_effects``, 0 plants
none): a person of the population drawn with ``u(person, 'action_<name>') < q`` responds
within the window after the action date (the response time is exponential with mean
``action_response_mean_days``, truncated to the window). The draw is made for held-out
persons too, so the generator knows each person's outcome with and without the action (the
counterfactual) and writes both to ``action_truth.parquet`` beside the manifest; only
persons outside the holdout get the response in the data. Outcomes follow the lift mart's
conversion rules: a sign-up, a first paid order, a paid new-release line (bought at most
``new_release_days`` after its release), from the day after the action date to
``lift_window_days`` after it.

A retargeting response needs a visitor with no sign-up of their own planned after the action
date (a person signs up once); a coupon response a member who would not have bought in the
window anyway. A sms response is an extra order, whose first line is drawn among the new
releases of its price tier: it converts unless that tier has none.

Everything here runs only with ``Params.actions`` on; off, no table of the shop changes.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import date

from shopfunnel.generate.context import RunContext

# Indexes of the rows the actions add (outside the ranges of the simulation: at most 31
# sessions, s_idx 0-30, and 12 orders, o_idx 0-11, per person): the order ids
# 'O' || (person_idx * 16 + o_idx + 1) stay unique.
ACTION_SESSION_IDX = 31
SMS_ORDER_IDX = 14
COUPON_ORDER_IDX = 15
# a response starts this long after the action date (an order's purchase visit starts two
# minutes before the order) and ends this long before the end of the window (a session's
# sign-up hit comes at most about 1.5 hours after its start)
LEAD_S = 600.0
MARGIN_S = 7200.0
TRUTH_FILE = "action_truth.parquet"


@dataclass(frozen=True)
class Action:
    name: str
    audience: str
    conversion_rule: str
    population: str
    response: str


ACTIONS = (
    Action(
        "retargeting",
        "aud_signup_retargeting",
        "signup",
        "human visitors seen by the action date who were no member by then",
        "a session from a paid social ad that ends with a sign-up",
    ),
    Action(
        "coupon",
        "aud_first_purchase_coupon",
        "first_paid_order",
        "members who signed up by the action date with no paid order by then",
        "a first paid order with the WELCOME10 coupon",
    ),
    Action(
        "sms",
        "aud_vip_new_release_sms",
        "paid_new_release_purchase",
        "members with at least two paid orders by the action date",
        "a paid order whose first line is a new release",
    ),
)


def holdout_draw(person_key: str, audience: str, as_of: date | str, seed: int) -> float:
    """Macro is_in_holdout's draw in [0, 1): md5 of the key, first 13 hex digits / 16^13."""
    day = as_of.isoformat() if isinstance(as_of, date) else as_of
    digest = hashlib.md5(f"{person_key}|{audience}|{day}|{seed}".encode()).hexdigest()
    return int(digest[:13], 16) / 16**13


def holdout_sql(ctx: RunContext, key_sql: str, audience: str) -> str:
    """SQL: true when the person (`key_sql`, e.g. 'mbr_' || member_id) is held out, the same
    expression as macro is_in_holdout."""
    p = ctx.p
    suffix = f"|{audience}|{p.action_date().isoformat()}|{int(p.holdout_seed)}"
    return (
        f"((('0x' || left(md5({key_sql} || '{suffix}'), 13))::bigint)::double"
        f" / 4503599627370496.0 < {float(p.holdout_share)!r})"
    )


def _response_s(ctx: RunContext, key_sql: str, action: str) -> str:
    """Seconds of a response: after the action date, exponential with the mean response
    time, truncated to the window (inverse CDF of the truncated exponential)."""
    start = ctx.sec(ctx.action_start) + LEAD_S
    span = (ctx.action_end - ctx.action_start).total_seconds() - LEAD_S - MARGIN_S
    mean = ctx.p.action_response_mean_days * 86400
    mass = -math.expm1(-span / mean)  # 1 - exp(-span / mean)
    return f"({start!r} - ln(1 - u({key_sql}, 'respond_{action}') * {mass!r}) * {mean!r})"


def _effect(ctx: RunContext, action: str) -> str:
    return repr(ctx.p.action_effect(action))


def plant_signups(ctx: RunContext) -> None:
    """Retargeting: table ``action_retargeting`` (the population, with the holdout, the draw
    and the outcome without the action), and, for the persons it reaches, a session ending
    with the sign-up. Called between the sessions and their identities (people.py)."""
    p = ctx.p
    con = ctx.con
    start, end = ctx.sec(ctx.action_start), ctx.sec(ctx.action_end)
    con.execute(f"""
        create table action_retargeting as
        with planned as (
            -- the sign-up each visitor makes on their own (members_truth.signed_up_s)
            select
                persons.person_idx,
                sessions.start_s + (sessions.n_hits * 2.0 + 1) * sessions.hit_gap_s
                    as signed_up_s
            from persons
            join sessions
                on sessions.person_idx = persons.person_idx
                and sessions.s_idx = persons.signup_s_idx
        ),
        seen as (
            select distinct person_idx from sessions where start_s < {start!r}
        )
        select
            'retargeting' as action,
            persons.person_idx,
            'anon_' || persons.first_device_id as person_key,
            -- the member id a sign-up gives them
            persons.member_id,
            persons.first_device_id as anonymous_id,
            {holdout_sql(ctx, "'anon_' || persons.first_device_id", "aud_signup_retargeting")}
                as is_holdout,
            u(persons.person_idx, 'action_retargeting') < {_effect(ctx, "retargeting")}
                as is_drawn,
            -- a person signs up once: one who plans to sign up on their own cannot respond
            planned.person_idx is null as can_respond,
            coalesce(planned.signed_up_s < {end!r}, false) as converts_without_action,
            {_response_s(ctx, "persons.person_idx", "retargeting")} as action_s
        from persons
        join seen on seen.person_idx = persons.person_idx
        left join planned on planned.person_idx = persons.person_idx
        where not persons.is_existing_member
            and (planned.signed_up_s is null or planned.signed_up_s >= {start!r})
    """)
    reached = "is_drawn and can_respond and not is_holdout"
    s_idx = ACTION_SESSION_IDX
    con.execute(f"""
        insert into sessions by name
        select
            person_idx,
            {s_idx} as s_idx,
            action_s as start_s,
            'paid_social' as channel,
            1 + least(
                40, floor(expo(u2(person_idx, {s_idx}, 'hits'), {p.mean_hits_per_session - 1}))
            )::int as n_hits,
            {p.mean_seconds_between_hits} * (0.5 + u2(person_idx, {s_idx}, 'pace')) as hit_gap_s
        from action_retargeting
        where {reached}
    """)
    con.execute(f"""
        update persons set signup_s_idx = {s_idx}, is_member = true
        where person_idx in (select person_idx from action_retargeting where {reached})
    """)
    ctx.action_signups = ctx.count(f"(select * from action_retargeting where {reached})")


def plant_orders(ctx: RunContext) -> None:
    """Coupon and SMS: tables ``action_coupon`` and ``action_sms`` (their populations), the
    coupon orders of the members reached and the SMS orders of every member drawn (held-out
    ones too: their lines say whether the SMS would have converted them; settle_orders
    removes them). Called on the orders before their lines (shop.py)."""
    con = ctx.con
    start, end = ctx.sec(ctx.action_start), ctx.sec(ctx.action_end)
    con.execute(f"""
        create table action_coupon as
        with firsts as (
            select person_idx, min(ordered_s) as first_s from orders_truth group by person_idx
        )
        select
            'coupon' as action,
            members_truth.person_idx,
            'mbr_' || members_truth.member_id as person_key,
            members_truth.member_id,
            null::varchar as anonymous_id,
            {holdout_sql(ctx, "'mbr_' || members_truth.member_id", "aud_first_purchase_coupon")}
                as is_holdout,
            u(members_truth.person_idx, 'action_coupon') < {_effect(ctx, "coupon")} as is_drawn,
            -- one who buys in the window anyway is converted already
            not coalesce(firsts.first_s < {end!r}, false) as can_respond,
            coalesce(firsts.first_s < {end!r}, false) as converts_without_action,
            {_response_s(ctx, "members_truth.person_idx", "coupon")} as action_s,
            members_truth.member_type,
            members_truth.has_events
        from members_truth
        left join firsts on firsts.person_idx = members_truth.person_idx
        where members_truth.signed_up_s < {start!r}
            and (firsts.first_s is null or firsts.first_s >= {start!r})
    """)
    con.execute(f"""
        create table action_sms as
        with counted as (
            select person_idx, count(*) as orders_before
            from orders_truth
            where ordered_s < {start!r}
            group by person_idx
        )
        select
            'sms' as action,
            members_truth.person_idx,
            'mbr_' || members_truth.member_id as person_key,
            members_truth.member_id,
            null::varchar as anonymous_id,
            {holdout_sql(ctx, "'mbr_' || members_truth.member_id", "aud_vip_new_release_sms")}
                as is_holdout,
            u(members_truth.person_idx, 'action_sms') < {_effect(ctx, "sms")} as is_drawn,
            true as can_respond,
            -- set from the order lines by settle_orders
            null::boolean as converts_without_action,
            {_response_s(ctx, "members_truth.person_idx", "sms")} as action_s,
            members_truth.member_type,
            members_truth.has_events
        from members_truth
        join counted on counted.person_idx = members_truth.person_idx
        where counted.orders_before >= 2
    """)
    for table, o_idx, welcome, reached in (
        ("action_coupon", COUPON_ORDER_IDX, "true", "is_drawn and can_respond and not is_holdout"),
        ("action_sms", SMS_ORDER_IDX, "false", "is_drawn"),
    ):
        con.execute(f"""
            insert into orders_truth by name
            select
                person_idx,
                member_id,
                member_type,
                has_events,
                {o_idx} as o_idx,
                'O' || lpad((person_idx * 16 + {o_idx} + 1)::varchar, 10, '0') as order_id,
                action_s as ordered_s,
                {welcome} as uses_welcome
            from {table}
            where {reached}
        """)
