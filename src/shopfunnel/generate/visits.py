"""Events besides the human sessions: the purchase visits of web orders, and bots.

``prepare_visit_sources`` builds two small tables every time slice filters
(``purchase_visits``, ``bots``); the two ``*_sql`` functions give the event rows of one
time range.
"""

from __future__ import annotations

from shopfunnel.generate.context import RunContext
from shopfunnel.generate.shop import product_ids_sql
from shopfunnel.generate.sqlkit import BOT_AGENTS, IPHONE_AGENT, SITE, sql_list


def prepare_visit_sources(ctx: RunContext) -> None:
    """Small tables that every slice filters: purchase visits and bot visitors."""
    p = ctx.p
    ctx.con.execute("""
        create table purchase_visits as
        with first_products as (
            select order_id, min(product_id) as first_product_id
            from lines_truth
            group by order_id
        )
        select
            orders_truth.*,
            first_products.first_product_id,
            -- the buyer's first device
            persons.first_device_id as anonymous_id
        from orders_truth
        join first_products using (order_id)
        join persons using (person_idx)
        where has_events
        order by ordered_s
    """)
    lo, hi = p.bot_hits_range
    bots = round(p.bot_visitor_rate * p.visitors) if p.dirt else 0
    ctx.con.execute(f"""
        create table bots as
        select
            b,
            'a_bot' || lpad(b::varchar, 8, '0') as anonymous_id,
            {lo} + floor(u(b, 'bot_hits') * {hi - lo + 1})::int as n_hits,
            {ctx.sec(ctx.w0)} + u(b, 'bot_start') * {p.days * 86400} as start_s,
            {sql_list(BOT_AGENTS)}[1 + floor(u(b, 'bot_ua') * 4)::int] as user_agent
        from range({bots}) as t(b)
    """)


def purchase_visits_sql(lo: float, hi: float) -> str:
    """Cart, checkout and order confirmation of the web orders placed in [lo, hi)."""
    return f"""
        with visits as (
            select
                purchase_visits.*,
                step
            from purchase_visits
            cross join (select unnest(range(3)) as step)
            where ordered_s >= {lo!r} and ordered_s < {hi!r}
        )
        select
            'ev_' || order_id || '_' || step as event_id,
            ts(ordered_s - (2 - step) * 60) as event_at,
            anonymous_id,
            member_id,
            ['add_to_cart', 'page_view', 'purchase'][step + 1] as event_name,
            '{SITE}' || ['/cart', '/checkout', '/order-complete'][step + 1] as page_url,
            case when step > 0 then '{SITE}/' end as referrer_url,
            null::varchar as utm_source,
            null::varchar as utm_medium,
            null::varchar as utm_campaign,
            null::varchar as utm_term,
            case when step <> 1 then first_product_id end
                as product_id,
            '{IPHONE_AGENT}' as user_agent,
            ts(ordered_s - (2 - step) * 60 + 300) as loaded_at
        from visits
    """


def bot_sql(ctx: RunContext, lo: float, hi: float) -> str:
    """Bot visitors whose burst of hits starts in [lo, hi)."""
    return f"""
        with hits as (
            select *, unnest(range(n_hits)) as hit
            from bots
            where start_s >= {lo!r} and start_s < {hi!r}
        )
        select
            'bot_' || b || '_' || hit as event_id,
            ts(start_s + hit * 7) as event_at,
            anonymous_id,
            null::varchar as member_id,
            'page_view' as event_name,
            '{SITE}/products/' || {product_ids_sql(ctx)}[1 + hit % {ctx.p.products}] as page_url,
            null::varchar as referrer_url,
            null::varchar as utm_source,
            null::varchar as utm_medium,
            null::varchar as utm_campaign,
            null::varchar as utm_term,
            null::varchar as product_id,
            user_agent,
            ts(start_s + hit * 7 + 600) as loaded_at
        from hits
    """
