"""The hits of the human sessions, as SQL: which pages, in which order, with which URLs,
referrers, campaign tags and load times.

``session_hits_sql`` expands the sessions of one time range into hits (one row per hit,
keyed by ``hit_key``); ``decorate_sql`` turns hits into raw event rows. Every value is a
function of the hit's key, so the dirt pass can decorate a few hits a second time and get
the same rows.
"""

from __future__ import annotations

from shopfunnel.generate.context import RunContext
from shopfunnel.generate.shop import product_ids_sql
from shopfunnel.generate.sqlkit import (
    CHANNELS,
    MEMBER_ID_SQL,
    SITE,
    USER_AGENTS_SQL,
    categorical,
    sql_list,
)

PAGE_MIX = {
    "product": 0.45,
    "category": 0.15,
    "home": 0.10,
    "search": 0.08,
    "new": 0.07,
    "cart": 0.08,
    "mypage": 0.04,
    "about": 0.03,
}
PAGE_ORDER = ("product", "category", "home", "search", "new", "cart", "mypage", "about")
CATEGORY_URLS = sql_list([f"{SITE}/category/{name}" for name in ("outer", "tops", "shoes", "bags")])
SEARCH_TERMS = "['running shoes', 'linen shirt', 'leather bag', 'shop example', 'new arrivals']"
REFERRAL_URLS = "['https://blog.example.net/review', 'https://www.fashion-news.example/best-10']"


def product_urls_sql(ctx: RunContext) -> str:
    """The catalogue's product page URLs as a constant SQL list."""
    return sql_list([f"{SITE}/products/P{i + 1:05d}" for i in range(ctx.p.products)])


def session_hits_sql(ctx: RunContext, lo: float, hi: float, picked: str | None = None) -> str:
    """Events of the sessions starting in [lo, hi) (seconds), one row per hit.

    `picked`, a table of hit keys built by `picked_hits_sql`, keeps only those hits (the
    dirt pass decorates a few percent of the hits a second time).
    """
    p = ctx.p
    page = categorical(
        "u2(sessions.person_idx * 64 + sessions.s_idx, hit, 'page')", PAGE_MIX, PAGE_ORDER
    )
    hits = _all_hits_sql(page) if picked is None else _picked_hits_sql(page, picked)
    return f"""
        -- inlined in each use: a filtered scan of the time-sorted table skips by zone maps
        with chunk as not materialized (
            select * from sessions where start_s >= {lo!r} and start_s < {hi!r}
        ),
        {hits}
        select
            -- one integer to text per row: hit_key is unique per hit
            'ev_' || hit_key as event_id,
            start_s + pos * hit_gap_s as event_s,
            ts(start_s + pos * hit_gap_s) as event_at,
            anonymous_id,
            {USER_AGENTS_SQL}[ua_idx] as user_agent,
            case
                when page_kind = 'signup' or (is_logged_in and pos >= 0.5)
                    then {MEMBER_ID_SQL}
            end as member_id,
            case page_kind
                when 'signup' then 'sign_up'
                when 'login' then 'login'
                when 'product' then 'product_view'
                when 'cart' then 'add_to_cart'
                else 'page_view'
            end as event_name,
            {sql_list(CHANNELS)}[channel_code] as channel,
            page_kind,
            person_idx,
            s_idx,
            hit,
            1 + floor(u2(person_idx * 64 + s_idx, hit, 'product') * {p.products})::int
                as product_pick,
            hit_key,
            u2(person_idx * 64 + s_idx, hit, 'utm_filled') < {p.utm_columns_filled_share}
                as utm_filled
        from hits
    """


def _all_hits_sql(page: str) -> str:
    """CTE `hits`: every hit of the chunk's sessions. Hit 0 is the landing hit; -1, -2, -3
    the benefit-page, login and sign-up hits of the sessions that have them."""
    return f"""
        expanded as (
            select chunk.*, unnest(range(n_hits)) as hit from chunk
        ),
        all_hits as (
            select
                sessions.*,
                hit * 2.0 as pos,
                case when hit = 0 then 'landing' else {page} end as page_kind
            from expanded as sessions
            union all
            select chunk.*, -1 as hit, 1.5 as pos, 'benefit' as page_kind
            from chunk
            where views_benefit and s_idx = 0
            union all
            select chunk.*, -2 as hit, 0.5 as pos, 'login' as page_kind
            from chunk
            where is_logged_in
            union all
            select chunk.*, -3 as hit, n_hits * 2.0 + 1 as pos, 'signup' as page_kind
            from chunk
            where is_signup_session
        ),
        hits as (
            select *, (person_idx * 64 + s_idx) * 64 + hit + 3 as hit_key
            from all_hits
        )
    """


def picked_hits_sql(lo: float, hi: float, key_filter: str) -> str:
    """The hits of the sessions starting in [lo, hi) whose key passes `key_filter` (an
    expression on `hit_key` and the session's columns), with their session's columns.

    The filter runs on a thin expansion (keys only); only the hits it keeps are joined to
    their sessions. Stored as a table, the rows reach the decoration in full vectors."""
    return f"""
        with chunk as not materialized (
            select * from sessions where start_s >= {lo!r} and start_s < {hi!r}
        ),
        thin as (
            select person_idx, s_idx, unnest(range(n_hits)) as hit from chunk
            union all
            select person_idx, s_idx, -1 as hit from chunk where views_benefit and s_idx = 0
            union all
            select person_idx, s_idx, -2 as hit from chunk where is_logged_in
            union all
            select person_idx, s_idx, -3 as hit from chunk where is_signup_session
        ),
        picked as (
            select *
            from (select *, (person_idx * 64 + s_idx) * 64 + hit + 3 as hit_key from thin)
            where {key_filter}
        )
        select sessions.*, picked.hit, picked.hit_key
        from picked
        join chunk as sessions
            on sessions.person_idx = picked.person_idx and sessions.s_idx = picked.s_idx
    """


def _picked_hits_sql(page: str, picked: str) -> str:
    """CTE `hits`: the hits of table `picked` (built by `picked_hits_sql`), the same rows
    as in `_all_hits_sql`."""
    return f"""
        hits as (
            select
                * exclude (hit_key),
                case hit
                    when -1 then 1.5
                    when -2 then 0.5
                    when -3 then n_hits * 2.0 + 1
                    else hit * 2.0
                end as pos,
                case hit
                    when 0 then 'landing'
                    when -1 then 'benefit'
                    when -2 then 'login'
                    when -3 then 'signup'
                    else {page}
                end as page_kind,
                hit_key
            from {picked} as sessions
        )
    """


def _tags_sql() -> str:
    """Campaign tags and the landing page kind: landing hits only."""
    return f"""
        case when page_kind = 'landing' then
            case channel
                when 'keyword_search_ad'
                    then case when u(hit_key, 'src') < 0.6 then 'google' else 'naver' end
                when 'paid_social'
                    then case when u(hit_key, 'src') < 0.5 then 'facebook' else 'instagram' end
                when 'email' then 'newsletter'
                when 'sms' then 'sms'
            end
        end as tag_source,
        case when page_kind = 'landing' then
            case channel
                when 'keyword_search_ad' then 'cpc'
                when 'paid_social' then 'paid_social'
                when 'email' then 'email'
                when 'sms' then 'sms'
            end
        end as tag_medium,
        case when page_kind = 'landing' then
            case channel
                when 'keyword_search_ad'
                    then case when u(hit_key, 'cmp') < 0.5 then 'brand_kw' else 'generic_kw' end
                when 'paid_social' then 'spring_look'
                when 'email' then 'weekly_news'
                when 'sms' then 'member_offer'
            end
        end as tag_campaign,
        case when page_kind = 'landing' and channel = 'keyword_search_ad' then
            {SEARCH_TERMS}[1 + floor(u(hit_key, 'term') * 5)::int]
        end as tag_term,
        -- 0: a product page, 1: the home page, 2: new arrivals
        case when page_kind = 'landing' then
            case
                when u(hit_key, 'landing') < 0.5 then 0
                when u(hit_key, 'landing') < 0.8 then 1
                else 2
            end
        end as landing_kind
    """


def _page_url_sql(ctx: RunContext, dirt_sql: str) -> str:
    p = ctx.p
    product_urls = product_urls_sql(ctx)
    return f"""
        case when {dirt_sql} and event_name = 'page_view'
                and page_kind not in ('benefit', 'signup', 'login', 'landing')
                and u(hit_key, 'bad_url') < {p.malformed_url_rate}
            then case when u(hit_key, 'url_kind') < 0.5 then 'htp:/broken link' else '::' end
            -- whole URLs from constant lists: no string building on most rows
            else case page_kind
                when 'product' then {product_urls}[product_pick]
                when 'landing' then
                    case landing_kind
                        when 0 then {product_urls}[product_pick]
                        when 1 then '{SITE}/'
                        else '{SITE}/new-arrivals'
                    end
                    || case when tag_medium is not null then
                        '?utm_source=' || tag_source || '&utm_medium=' || tag_medium
                        || '&utm_campaign=' || tag_campaign
                        || coalesce('&utm_term=' || replace(tag_term, ' ', '%20'), '')
                    else '' end
                when 'benefit' then '{SITE}/member-benefits'
                when 'signup' then '{SITE}/signup/complete'
                when 'login' then '{SITE}/login'
                when 'category' then {CATEGORY_URLS}[1 + floor(u(hit_key, 'cat') * 4)::int]
                when 'home' then '{SITE}/'
                when 'search' then '{SITE}/search?q=linen'
                when 'new' then '{SITE}/new-arrivals'
                when 'cart' then '{SITE}/cart'
                when 'mypage' then '{SITE}/mypage'
                else '{SITE}/about'
            end
        end as page_url
    """


def _referrer_sql() -> str:
    return f"""
        case
            when page_kind <> 'landing' then '{SITE}/'
            when channel in ('keyword_search_ad', 'organic_search') then
                case when u(hit_key, 'engine') < 0.6 then 'https://www.google.com/search?q=shop'
                    else 'https://search.naver.com/search.naver?query=shop' end
            when channel in ('organic_social', 'paid_social') then
                case when u(hit_key, 'social') < 0.5 then 'https://www.instagram.com/'
                    else 'https://m.facebook.com/' end
            when channel = 'referral' then
                {REFERRAL_URLS}[1 + floor(u(hit_key, 'ref') * 2)::int]
        end as referrer_url
    """


def hit_dirt_sql(ctx: RunContext) -> str:
    """Which session hits may carry dirt: none with dirt off; in the daily layout not the
    hits of the planted devices (their loads are part of what is planted)."""
    if not ctx.p.dirt:
        return "false"
    if ctx.daily:
        return f"person_idx < {ctx.p.visitors}"
    return "true"


def late_loaded_s(event_s: str, draw: str) -> str:
    """Seconds of a late load: more than 24 hours after the event (staging flags it) and
    1-3 whole UTC days after its day, 3 hours short of the end of the third day (so a
    duplicate copy loaded 3 hours later stays within the lookback too)."""
    day_end = f"(floor({event_s} / 86400) + 4) * 86400 - 10801"
    return f"{event_s} + 86401 + {draw} * ({day_end} - {event_s} - 86401)"


def loaded_at_sql(ctx: RunContext, dirt_sql: str) -> str:
    """When the tracker's export loaded the hit: within the hour, or (dirt) 1-3 days late.
    A flat export is taken once, at the end: nothing in it was loaded after that."""
    p = ctx.p
    late = late_loaded_s("event_s", "u(hit_key, 'late_by')")
    if not ctx.daily:
        late = f"least({late}, {ctx.sec(ctx.export_at)})"
    return f"""
        case when {dirt_sql} and u(hit_key, 'late') < {p.late_event_rate}
            then ts({late})
            else ts(event_s + 60 + u(hit_key, 'load') * 3540)
        end as loaded_at
    """


def decorate_sql(ctx: RunContext, hits: str) -> str:
    """Turn hits into raw event rows: URLs, referrers, UTM tags, user agents, loaded_at.

    With dirt on, some plain page views get a malformed URL and some rows a late load
    (real rows, kept and flagged by staging).
    """
    dirt_sql = hit_dirt_sql(ctx)
    return f"""
        with hits as ({hits}),
        tagged as (
            select
                *,
                {_tags_sql()}
            from hits
        )
        select
            event_id,
            event_at,
            anonymous_id,
            member_id,
            event_name,
            {_page_url_sql(ctx, dirt_sql)},
            {_referrer_sql()},
            case when utm_filled then tag_source end as utm_source,
            case when utm_filled then tag_medium end as utm_medium,
            case when utm_filled then tag_campaign end as utm_campaign,
            case when utm_filled then tag_term end as utm_term,
            case when event_name in ('product_view', 'add_to_cart', 'purchase')
                    or landing_kind = 0
                then {product_ids_sql(ctx)}[product_pick] end as product_id,
            user_agent,
            {loaded_at_sql(ctx, dirt_sql)},
            page_kind,
            hit_key,
            event_s,
            person_idx
        from tagged
    """
