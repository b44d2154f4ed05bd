"""Visitors and their behaviour: who comes back, who views the benefit page, who signs up,
which device and channel each session uses.

Tables built: ``persons`` (one row per human visitor) and ``sessions`` (one row per visit,
kept in time order: the events writer reads it one time slice at a time).
"""

from __future__ import annotations

from shopfunnel.generate import actions
from shopfunnel.generate.context import RunContext
from shopfunnel.generate.sqlkit import (
    CHANNELS,
    MEMBER_ID_SQL,
    MEMBER_TYPES,
    USER_AGENTS,
    categorical,
    sql_list,
)


def build_persons(ctx: RunContext) -> None:
    p = ctx.p
    rates = p.derived_signup_rates()
    acq = categorical("u(i, 'channel')", p.channel_mix, CHANNELS)
    mtype = categorical("u(i, 'member_type')", p.member_type_mix, MEMBER_TYPES)
    history_start, window_start = ctx.sec(ctx.h0), ctx.sec(ctx.w0)
    ctx.con.execute(f"""
        create table persons as
        with base as (
            select
                i as person_idx,
                u(i, 'returning') >= {p.new_visitor_share} as is_returning,
                u(i, 'view') < {rates["benefit_view_rate"]} as views_benefit,
                u(i, 'signup') as u_signup,
                {acq} as acquisition_channel,
                {mtype} as member_type,
                u(i, 'existing_member') < {p.returning_member_share} as u_existing,
                1 + (u(i, 'device2') < {p.extra_device_prob})::int
                  + (u(i, 'device3') < {p.extra_device_prob / 5})::int as member_devices,
                u(i // 2, 'shared_pair') < {p.shared_device_prob} as in_shared_pair,
                1 + least(30, floor(expo(u(i, 'sessions'), {p.mean_extra_sessions})))::int
                    as n_sessions
            from range({p.visitors}) as t(i)
        )
        select
            person_idx,
            is_returning,
            not is_returning and views_benefit as views_benefit,
            acquisition_channel,
            member_type,
            is_returning and u_existing as is_existing_member,
            not is_returning and u_signup < case when views_benefit
                then {rates["signup_rate_viewed"]} else {rates["signup_rate_not_viewed"]} end
                as plans_signup,
            member_devices,
            in_shared_pair,
            -- the first device's anonymous id, once per visitor (not once per session)
            anon(person_idx, 0) as first_device_id,
            case when is_returning then greatest(n_sessions, 2) else n_sessions end
                as n_sessions,
            case
                when is_returning
                    then {history_start} + u(person_idx, 'first_seen') * {p.history_days * 86400}
                else {window_start} + u(person_idx, 'first_seen') * {p.days * 86400}
            end as first_seen_s,
            {MEMBER_ID_SQL} as member_id
        from base
    """)


def build_sessions(ctx: RunContext) -> None:
    """All sessions of the human visitors (not the purchase visits, not bots)."""
    p = ctx.p
    con = ctx.con
    later = categorical("u2(person_idx, s_idx, 'channel')", p.channel_mix, CHANNELS)
    window_start, window_end = ctx.sec(ctx.w0), ctx.sec(ctx.w1)
    gap = p.mean_session_gap_days * 86400
    con.execute(f"""
        create table sessions as
        with expanded as (
            -- only what the sessions need: the window below sorts every column it gets
            select
                person_idx, is_returning, first_seen_s, acquisition_channel,
                unnest(range(n_sessions)) as s_idx
            from persons
        ),
        timed as (
            select
                *,
                case
                    when s_idx = 0 then first_seen_s
                    when is_returning
                        then {window_start} + u2(person_idx, s_idx, 'start') * {p.days * 86400}
                    else first_seen_s + sum(
                        case when s_idx = 0 then 0
                            else 600 + expo(u2(person_idx, s_idx, 'gap'), {gap})
                        end
                    ) over (partition by person_idx order by s_idx)
                end as start_s
            from expanded
        )
        select
            person_idx,
            s_idx,
            start_s,
            case when s_idx = 0 then acquisition_channel else {later} end as channel,
            1 + least(
                40, floor(expo(u2(person_idx, s_idx, 'hits'), {p.mean_hits_per_session - 1}))
            )::int as n_hits,
            {p.mean_seconds_between_hits} * (0.5 + u2(person_idx, s_idx, 'pace')) as hit_gap_s
        from timed
        where start_s < {window_end}
    """)
    # sign-up session (0, or 1 when it exists) and who is a member when
    con.execute("""
        create table person_sessions as
        select person_idx, count(*) as sessions_kept, max(s_idx) as max_s_idx
        from sessions group by person_idx
    """)
    con.execute(f"""
        create or replace table persons as
        select
            persons.*,
            case
                when not plans_signup then null
                when kept.max_s_idx >= 1 and u(persons.person_idx, 'signup_session')
                    < {p.signup_in_second_session_share!r} then 1
                else 0
            end as signup_s_idx,
            is_existing_member or plans_signup as is_member
        from persons
        join person_sessions as kept using (person_idx)
    """)
    if p.actions:
        # the retargeting ad's sign-ups: sessions after the action date (actions.py)
        actions.plant_signups(ctx)
    device_draw = (
        "floor(u2(sessions.person_idx, sessions.s_idx, 'device') * persons.member_devices)::int"
    )
    shared_id = f"'a_sh' || substr(md5('{p.seed}-pair-' || (person_idx // 2)), 1, 14)"
    # kept in time order: each events part file reads one range of it (zone maps skip
    # the rest) and its rows come out nearly sorted by event_at; only the columns the
    # hits need (every one is copied to each hit of the session): the member id follows
    # from person_idx, the channel is a code
    con.execute(f"""
        create or replace table sessions as
        with joined as (
            select
                sessions.*,
                persons.is_member,
                persons.is_existing_member,
                persons.signup_s_idx,
                persons.views_benefit,
                persons.member_id,
                -- device: members switch devices only after they joined
                case
                    when not persons.is_member then 0
                    when persons.is_existing_member and sessions.s_idx > 0
                        then {device_draw}
                    when not persons.is_existing_member
                        and sessions.s_idx > persons.signup_s_idx
                        then {device_draw}
                    else 0
                end as device,
                persons.in_shared_pair,
                persons.first_device_id
            from sessions
            join persons using (person_idx)
        ),
        identified as (
            select
                *,
                case
                    when device = 0 then first_device_id
                    when device = 1 and in_shared_pair then {shared_id}
                    else anon(person_idx, device)
                end as anonymous_id,
                -- logged in: a member's session after joining (always on a 2nd/3rd device)
                is_member and (
                    (is_existing_member and s_idx > 0)
                    or (not is_existing_member and s_idx > signup_s_idx)
                ) and (device > 0 or u2(person_idx, s_idx, 'login') < 0.6) as is_logged_in,
                (is_existing_member and s_idx = 0)
                    or (not is_existing_member and signup_s_idx = s_idx) as is_signup_session
            from joined
        )
        select
            person_idx,
            -- small types and codes: the table is sorted, and spilled at 100M events
            s_idx::utinyint as s_idx,
            start_s,
            list_position({sql_list(CHANNELS)}, channel)::utinyint as channel_code,
            n_hits::utinyint as n_hits,
            hit_gap_s,
            views_benefit,
            anonymous_id,
            is_logged_in,
            is_signup_session,
            -- each device keeps its browser (an index: cheaper to carry than the text)
            (1 + floor(u(anonymous_id, 'ua') * {len(USER_AGENTS)}))::utinyint as ua_idx
        from identified
        order by start_s, person_idx, s_idx
    """)
