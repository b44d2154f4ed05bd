"""Tracker dirt in the events: real rows flagged, extra rows staging must catch.

One uniform draw per hit (``u(hit_key, 'dirt')``) picks at most one kind of extra row; the
real rows flagged (late loads, malformed URLs, CSV offsets) have draws of their own. Only
the hits that can carry dirt are decorated a second time (a few percent), not the whole
slice: every dirt decision is a function of the hit's key.
"""

from __future__ import annotations

from shopfunnel.generate.context import RunContext
from shopfunnel.generate.hits import decorate_sql, hit_dirt_sql, picked_hits_sql, session_hits_sql
from shopfunnel.generate.loads import LOOKBACK_DAYS, delivered_sql
from shopfunnel.generate.sqlkit import USER_AGENTS_SQL


def offset_condition(ctx: RunContext) -> str:
    """Session hits whose event_at a CSV export writes in Korean time (+09:00)."""
    if ctx.fmt == "csv" and ctx.p.dirt:
        condition = f"u(hit_key, 'tz') < {ctx.p.csv_non_utc_offset_rate!r}"
        return f"({hit_dirt_sql(ctx)} and {condition})" if ctx.daily else condition
    return "false"


def extra_row_kinds(ctx: RunContext) -> list[tuple[str, float, float]]:
    """Each kind of extra row with its band [low, high) of the hit's dirt draw."""
    p = ctx.p
    kinds = [
        ("unknown_event_names", p.unknown_event_name_rate),
        ("duplicate_events", p.duplicate_event_rate),
        ("future_events", p.future_event_rate),
        ("null_anonymous_ids", p.null_anonymous_id_rate),
        ("malformed_anonymous_ids", p.malformed_anonymous_id_rate),
        ("malformed_member_ids", p.malformed_member_id_rate),
        ("too_late_events", p.too_late_event_rate),
    ]
    bounds, low = [], 0.0
    for kind, rate in kinds:
        bounds.append((kind, low, low + rate))
        low += rate
    return bounds


def _too_late_loaded_s(ctx: RunContext) -> str:
    """Seconds of a too-late copy: 4-10 whole days after the event day (4-5 in the daily
    layout, whose loads run 1-5 days late), at any time of that day."""
    days = 2 if ctx.daily else 7
    return (
        f"(floor(event_s / 86400) + 4 + floor(u(hit_key, 'too_late_by') * {days})) * 86400 "
        "+ u(hit_key, 'too_late_at') * 86399"
    )


def _duplicate_loaded_at(ctx: RunContext) -> str:
    """A duplicate copy is loaded 3 hours after the original; in the daily layout an
    on-time row is re-delivered in one of the next two loads instead (still within the
    lookback: the original was loaded at most an hour after its event)."""
    if not ctx.daily:
        return "loaded_at + interval 3 hour"
    next_loads = (
        "(floor(epoch(loaded_at) / 86400) + 1 + floor(u(hit_key, 'redeliver') * 2)) * 86400"
        " + u(hit_key, 'redeliver_at') * 86399"
    )
    return (
        "case when loaded_at > event_at + interval 1 day then loaded_at + interval 3 hour "
        f"else to_timestamp({next_loads}) end"
    )


def _changed_copy(ctx: RunContext) -> str:
    """Daily layout: a few re-delivered events carry another payload (user agent)."""
    if not ctx.daily:
        return "false"
    return (
        "dirt_kind = 'duplicate_events' "
        f"and u(hit_key, 'changed') < {ctx.p.changed_duplicate_share!r}"
    )


def build_slice_dirt(ctx: RunContext, lo: float, hi: float, totals: dict[str, int]) -> None:
    """Count the flagged real rows of a slice and build its extra dirt rows (table dirt).

    In the daily layout only rows delivered in the window count, and table ``dirt`` holds
    them as delivered (history moved into the first load).
    """
    p = ctx.p
    con = ctx.con
    bounds = extra_row_kinds(ctx)
    top = bounds[-1][2]
    kind_sql = " ".join(
        f"when u(hit_key, 'dirt') >= {low!r} and u(hit_key, 'dirt') < {high!r} then '{kind}'"
        for kind, low, high in bounds
    )
    hit_dirt = hit_dirt_sql(ctx)
    candidates = (
        f"({hit_dirt}) and (u(hit_key, 'dirt') < {top!r} "
        f"or u(hit_key, 'late') < {p.late_event_rate!r} "
        f"or u(hit_key, 'bad_url') < {p.malformed_url_rate!r} or {offset_condition(ctx)})"
    )
    con.execute(f"create or replace table dirt_keys as {picked_hits_sql(lo, hi, candidates)}")
    decorated = decorate_sql(ctx, session_hits_sql(ctx, lo, hi, "dirt_keys"))
    if ctx.daily:
        decorated = delivered_sql(ctx, decorated)
    con.execute(f"create or replace table dirt_candidates as {decorated}")
    # a flat export caps late loads at the export: near the end a late row may be less than
    # a day late, and staging flags only what is
    late_row = f"u(hit_key, 'late') < {p.late_event_rate!r}"
    if not ctx.daily:
        late_row += " and loaded_at > event_at + interval 1 day"
    flagged = con.execute(f"""
        select
            count(*) filter (where {late_row}),
            count(*) filter (where page_url in ('htp:/broken link', '::')),
            count(*) filter (where {offset_condition(ctx)})
        from dirt_candidates
    """).fetchall()[0]
    totals["late_events"] = totals.get("late_events", 0) + int(flagged[0])
    totals["malformed_urls"] = totals.get("malformed_urls", 0) + int(flagged[1])
    if ctx.fmt == "csv":
        totals["non_utc_offsets"] = totals.get("non_utc_offsets", 0) + int(flagged[2])
    future_by = "(2 * 86400e6 + u(hit_key, 'fut_by') * 20 * 86400e6)::bigint"
    not_carried = ", load_date" if ctx.daily else ""
    too_late_s = _too_late_loaded_s(ctx)
    dirt_sql = f"""
        with picked as (
            select *, case {kind_sql} end as dirt_kind
            from dirt_candidates
            where u(hit_key, 'dirt') < {top!r}
        )
        select
            case dirt_kind
                when 'unknown_event_names' then 'unk_' || event_id
                when 'future_events' then 'fut_' || event_id
                when 'null_anonymous_ids' then 'nul_' || event_id
                when 'malformed_anonymous_ids' then 'mal_' || event_id
                when 'malformed_member_ids' then 'mmi_' || event_id
                when 'too_late_events' then 'late_' || event_id
                else event_id
            end as event_id,
            case dirt_kind
                when 'unknown_event_names' then event_at + interval 1 second
                when 'future_events' then loaded_at + to_microseconds({future_by})
                else event_at
            end as event_at,
            case dirt_kind
                when 'null_anonymous_ids' then null
                when 'malformed_anonymous_ids' then
                    ['', 'undefined', 'a b c', 'null'][1 + floor(u(hit_key, 'mal_kind') * 4)::int]
                else anonymous_id
            end as anonymous_id,
            case dirt_kind
                when 'malformed_member_ids' then
                    ['M 000', '???', 'member#1'][1 + floor(u(hit_key, 'mmi_kind') * 3)::int]
                else member_id
            end as member_id,
            case dirt_kind
                when 'unknown_event_names' then
                    ['scroll_depth', 'video_play', 'heartbeat']
                        [1 + floor(u(hit_key, 'unk_name') * 3)::int]
                else event_name
            end as event_name,
            * exclude (
                event_id, event_at, anonymous_id, member_id, event_name, user_agent, loaded_at,
                dirt_kind{not_carried}
            ),
            case when {_changed_copy(ctx)}
                then {USER_AGENTS_SQL}[1 + (list_position({USER_AGENTS_SQL}, user_agent) % 4)]
                else user_agent
            end as user_agent,
            case dirt_kind
                when 'unknown_event_names' then event_at + interval 5 minute
                when 'duplicate_events' then {_duplicate_loaded_at(ctx)}
                when 'too_late_events' then ts({too_late_s})
                else loaded_at
            end as loaded_at,
            loaded_at as original_loaded_at,
            {_changed_copy(ctx)} as is_changed_copy,
            dirt_kind
        from picked
        -- an unknown-event (or too-late) copy of a row with a malformed URL would be a
        -- second malformed URL
        where not (
            dirt_kind in ('unknown_event_names', 'too_late_events')
            and page_url not like 'https://%'
        )
    """
    if not ctx.daily:
        # a flat export is taken once, at the end: nothing in it was loaded after that, and
        # a too-late copy is planted only where it is still too late at the export
        export = f"ts({ctx.sec(ctx.export_at)!r})"
        dirt_sql = f"""
            select * from (
                select * exclude (loaded_at), least(loaded_at, {export}) as loaded_at
                from ({dirt_sql})
            )
            where not (
                dirt_kind = 'too_late_events'
                and date_diff('day', cast(event_at as date), cast(loaded_at as date))
                <= {LOOKBACK_DAYS}
            )
        """
    if ctx.daily:
        # too-late copies of the history would land in the first load, where no event is
        # too late: not planted there
        first_end = ctx.sec(ctx.first_load_end)
        dirt_sql = f"""
            select * from ({delivered_sql(ctx, dirt_sql)})
            where not (dirt_kind = 'too_late_events' and loaded_at < ts({first_end!r}))
        """
    con.execute(f"create or replace table dirt as {dirt_sql}")
    for kind, count in con.execute("select dirt_kind, count(*) from dirt group by 1").fetchall():
        totals[kind] = totals.get(kind, 0) + int(count)
    if ctx.daily:
        _count_redeliveries(ctx)


def _count_redeliveries(ctx: RunContext) -> None:
    """Per load: duplicate copies delivered in a later load than their original."""
    rows = ctx.con.execute("""
        select load_date::varchar, is_changed_copy, count(*)
        from dirt
        where dirt_kind = 'duplicate_events' and load_date > original_loaded_at::date
        group by all
    """).fetchall()
    for day, changed, count in rows:
        key = "changed_payload" if changed else "same_payload"
        ctx.redelivered_events[day][key] += int(count)
