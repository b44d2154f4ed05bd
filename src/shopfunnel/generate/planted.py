"""Cases planted in the daily layout, so that incremental runs can be checked against a
full refresh load by load:

- devices whose first login comes 20+ days after their first anonymous visit, one logging
  in on each of the last days of the window (the anonymous hits are in earlier loads);
- paid orders re-exported as refunded in a later load (at least one on each of the last
  days of the window);
- and, from the simulation itself, members whose grade changes in a later load.

``load_report`` gathers what each load holds for the manifest (late events and
re-deliveries are counted by ``loads.py`` and ``event_dirt.py``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from shopfunnel.generate.context import RunContext
from shopfunnel.generate.loads import LOOKBACK_DAYS, event_lags, load_dates
from shopfunnel.generate.sqlkit import CHANNELS, MEMBER_ID_SQL

LAST_DAYS = 5  # planted cases on each of the last days of the window
LISTED_IDS = 200  # ids listed per load and case (counts are always complete)


def _day_s(ctx: RunContext, day: date, hour: float) -> float:
    """Seconds from the start of the history to `hour` o'clock on `day`."""
    return (day - ctx.h0.date()).days * 86400 + hour * 3600


def plant_late_logins(ctx: RunContext, person_base: int) -> None:
    """Members (ids from `person_base` on) with one device each: two anonymous visits, the
    first 20-30 days before the login, then a logged-in visit on one of the last days.

    Adds their sessions to ``sessions`` and builds ``planted_members`` (signed up
    off-line before their first visit, never buying)."""
    dates = load_dates(ctx)
    rows, members = [], []
    for j in range(ctx.p.late_login_devices):
        login_day = dates[-1] - timedelta(days=j % LAST_DAYS)
        gap_days = 20 + 5 * (j % 3)
        first_day = login_day - timedelta(days=gap_days)
        if login_day <= dates[0] or first_day < ctx.h0.date():
            continue  # the window or the history is too short for this device
        idx = person_base + j
        first_s = _day_s(ctx, first_day, 15) + 60 * (j % 36)
        rows += [
            (idx, 0, first_s),
            (idx, 1, _day_s(ctx, first_day + timedelta(days=gap_days // 2), 15) + 60 * (j % 36)),
            (idx, 2, _day_s(ctx, login_day, 10) + 600 * (j % 36)),
        ]
        members.append((idx, max(0.0, first_s - 5 * 86400)))
    ctx.con.execute(
        "create table planted_members (person_idx bigint, member_id varchar, "
        "member_type varchar, has_events boolean, signed_up_s double)"
    )
    if not rows:
        return
    values = ", ".join(f"({idx}, {s_idx}, {start!r})" for idx, s_idx, start in rows)
    ctx.con.execute(f"""
        insert into sessions by name
        select
            person_idx, s_idx, start_s,
            {CHANNELS.index("direct") + 1} as channel_code,
            3 as n_hits,
            45.0 as hit_gap_s,
            false as views_benefit,
            anon(person_idx, 0) as anonymous_id,
            s_idx = 2 as is_logged_in,
            false as is_signup_session,
            (1 + floor(u(anon(person_idx, 0), 'ua') * 4))::utinyint as ua_idx
        from (values {values}) as t(person_idx, s_idx, start_s)
    """)
    signups = ", ".join(f"({idx}, {signed!r})" for idx, signed in members)
    ctx.con.execute(f"""
        insert into planted_members
        select person_idx, {MEMBER_ID_SQL}, 'never', true, signed_up_s
        from (values {signups}) as t(person_idx, signed_up_s)
    """)


def late_login_devices(ctx: RunContext) -> list[dict]:
    rows = ctx.con.execute(f"""
        select
            anonymous_id,
            {MEMBER_ID_SQL},
            ts(min(start_s))::date::varchar,
            ts(max(start_s))::date::varchar
        from sessions
        where person_idx in (select person_idx from planted_members)
        group by all
        order by 4, 1
    """).fetchall()
    return [
        {
            "anonymous_id": anonymous_id,
            "member_id": member_id,
            "first_visit_date": first,
            "login_date": login,
            "days_to_login": (date.fromisoformat(login) - date.fromisoformat(first)).days,
        }
        for anonymous_id, member_id, first, login in rows
    ]


def plant_refunds(ctx: RunContext) -> None:
    """Paid member orders re-exported as refunded in a later load (table ``refunds``),
    appended to ``orders_out``: a share at random 1-14 days after the order, and one on
    each of the last days of the window that has none."""
    con = ctx.con
    dates = load_dates(ctx)
    first, last = dates[0].isoformat(), dates[-1].isoformat()
    # an order exported twice already has a later copy: leave it alone
    redelivered = "from orders_dup" if ctx.p.dirt else "from orders_truth where false"
    con.execute(f"""
        create table refund_candidates as
        select order_id, ts(ordered_s)::date as ordered_date
        from orders_truth
        where order_id not in (select order_id {redelivered})
    """)
    con.execute(f"""
        create table refunds as
        select order_id, ordered_date + 1 + floor(u(order_id, 'refund_after') * 14)::int
            as refund_date
        from refund_candidates
        where u(order_id, 'refund') < {ctx.p.refund_rate!r}
    """)
    con.execute(
        f"delete from refunds where refund_date <= date '{first}' or refund_date > date '{last}'"
    )
    for k in range(LAST_DAYS):
        day = dates[-1] - timedelta(days=k)
        if day <= dates[0]:
            break
        taken = con.execute(
            f"select count(*) from refunds where refund_date = date '{day.isoformat()}'"
        ).fetchall()[0][0]
        if taken:
            continue
        con.execute(f"""
            insert into refunds
            select order_id, date '{day.isoformat()}'
            from refund_candidates
            where ordered_date between date '{day.isoformat()}' - 14
                and date '{day.isoformat()}' - 1
              and order_id not in (select order_id from refunds)
            order by hash(order_id, '{day.isoformat()}'), order_id
            limit 1
        """)
    h0 = ctx.h0.date().isoformat()
    con.execute(f"""
        insert into orders_out
        select
            orders_out.order_id, member_id, ordered_at, 'refunded', currency, order_total,
            discount_total, coupon_code,
            ts((refund_date - date '{h0}') * 86400 + 3600 + u(order_id, 'refund_at') * 72000)
        from orders_out
        join refunds using (order_id)
        where orders_out.status = 'paid'
    """)


def _by_day(rows: list[tuple]) -> dict[str, list]:
    grouped: dict[str, list] = defaultdict(list)
    for day, value in rows:
        grouped[day].append(value)
    return grouped


def load_report(ctx: RunContext) -> dict:
    """Per load date: rows of every table and the planted cases it holds."""
    con = ctx.con
    dates = [day.isoformat() for day in load_dates(ctx)]
    lags = event_lags(ctx)
    w1 = ctx.sec(ctx.w1)
    grade_changes = _by_day(
        con.execute(f"""
            select ts(valid_from_s)::date::varchar, member_id
            from grade_history_truth
            where grade_rank > 1 and valid_from_s >= {ctx.sec(ctx.first_load_end)!r}
              and valid_from_s < {w1!r}
            order by 1, 2
        """).fetchall()
    )
    refunds = _by_day(
        con.execute("select refund_date::varchar, order_id from refunds order by 1, 2").fetchall()
    )
    order_copies = dict(
        con.execute(
            "select loaded_at::date::varchar, count(*) from orders_dup group by 1"
        ).fetchall()
        if ctx.p.dirt
        else []
    )
    devices = late_login_devices(ctx)
    by_date = {}
    for day in dates:
        entry: dict = {"rows": dict(sorted(ctx.load_rows.get(day, {}).items()))}
        if day != dates[0]:
            changed = grade_changes.get(day, [])
            redelivered = ctx.redelivered_events.get(day, {})
            entry.update(
                {
                    "late_events_within_lookback": lags.get(day, {}).get("within_lookback", 0),
                    "late_events_beyond_lookback": lags.get(day, {}).get("beyond_lookback", 0),
                    "redelivered_events": redelivered.get("same_payload", 0),
                    "redelivered_changed_events": redelivered.get("changed_payload", 0),
                    "redelivered_orders": int(order_copies.get(day, 0)),
                    "grade_change_members": len(changed),
                    "grade_change_member_ids": changed[:LISTED_IDS],
                    "refunded_orders": refunds.get(day, []),
                    "late_login_devices": [d for d in devices if d["login_date"] == day],
                }
            )
        by_date[day] = entry
    later = [by_date[day] for day in dates[1:]]
    return {
        "lookback_days": LOOKBACK_DAYS,
        "first_load_date": dates[0],
        "last_load_date": dates[-1],
        "totals": {
            key: sum(entry[key] for entry in later)
            for key in (
                "late_events_within_lookback",
                "late_events_beyond_lookback",
                "redelivered_events",
                "redelivered_changed_events",
                "redelivered_orders",
                "grade_change_members",
            )
        }
        | {
            "refunded_orders": sum(len(entry["refunded_orders"]) for entry in later),
            "late_login_devices": len(devices),
        },
        "late_login_devices": devices,
        "by_date": by_date,
    }
