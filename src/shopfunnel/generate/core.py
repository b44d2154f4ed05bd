"""The synthetic shop, simulated in DuckDB SQL.

Randomness is a hash of (seed, row key, purpose) mapped to [0, 1): the same seed gives the
same tables whatever the thread count, and no row is produced by a Python loop.

Visitors, sessions, members and orders are small tables held by DuckDB (spilled to a
scratch folder if they outgrow memory). Events are never held: the session table is kept
in time order and cut into successive time slices of about `chunk_events` hits; each
slice is streamed by one COPY straight into its own part file (its session hits, the
purchase visits and bot hits of that time range and, with dirt on, its dirt rows). Each
file therefore covers its own time range, and its row groups hold nearly time-ordered rows
(tight min/max statistics for date filters) without the cost of a full sort.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from shopfunnel.generate.params import Params

GENERATOR_VERSION = "1.1.0"
TABLES = ("events", "members", "member_grade_history", "orders", "order_items", "products")
SITE = "https://www.shop.example"
CHANNELS = (
    "keyword_search_ad",
    "organic_search",
    "direct",
    "referral",
    "organic_social",
    "paid_social",
    "email",
    "sms",
)
MEMBER_TYPES = ("never", "once", "repeat", "loyal")
EVENT_COLUMNS = (
    "event_id",
    "event_at",
    "anonymous_id",
    "member_id",
    "event_name",
    "page_url",
    "referrer_url",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "product_id",
    "user_agent",
    "loaded_at",
)
CATEGORIES = ("outer", "tops", "bottoms", "shoes", "bags", "accessories", "beauty", "home")

USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 14; SM-S921N) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Version/17.4 Safari/605.1.15",
)
USER_AGENTS_SQL = "[" + ", ".join(f"'{agent}'" for agent in USER_AGENTS) + "]"

Progress = Callable[[str], None]


def _categorical(u_expr: str, mix: dict[str, float], order: tuple[str, ...]) -> str:
    """SQL CASE picking a key of `mix` by the uniform `u_expr` (inverse CDF)."""
    cases, cumulative = [], 0.0
    for key in order[:-1]:
        cumulative += mix[key]
        cases.append(f"when {u_expr} < {cumulative!r} then '{key}'")
    return f"(case {' '.join(cases)} else '{order[-1]}' end)"


class Generator:
    def __init__(
        self,
        params: Params,
        out: Path,
        fmt: str = "parquet",
        progress: Progress | None = None,
        chunk_events: int = 2_000_000,
    ) -> None:
        if fmt not in ("parquet", "csv"):
            raise ValueError(f"--format must be parquet or csv (got {fmt!r})")
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {out} exists and is not a folder")
        if chunk_events < 1:
            raise ValueError(f"--chunk-events must be at least 1 (got {chunk_events})")
        params.validate()
        self.p = params
        self.out = out
        self.fmt = fmt
        self.progress = progress or (lambda message: None)
        self.chunk_events = chunk_events
        self.con = duckdb.connect()
        self.con.execute("set threads = 2")
        self.con.execute("set TimeZone = 'UTC'")
        # row order carries no meaning (ids and randomness come from keys): let DuckDB
        # build and write in parallel
        self.con.execute("set preserve_insertion_order = false")
        start = datetime(
            params.start_date.year, params.start_date.month, params.start_date.day, tzinfo=UTC
        )
        self.w0 = start
        self.w1 = start + timedelta(days=params.days)
        self.h0 = start - timedelta(days=params.history_days)
        self.export_at = self.w1 + timedelta(hours=2)
        self.files: dict[str, list[str]] = {table: [] for table in TABLES}
        self.dirt: dict[str, int] = {}
        self._macros()

    # ------------------------------------------------------------------ helpers
    def _macros(self) -> None:
        seed = int(self.p.seed)
        # hash(a, b, c) combines its arguments' hashes too weakly (values for two purposes of
        # one key come out correlated), so each part is hashed alone and the parts are mixed
        # by hashing their xor again.
        self.con.execute(
            f"create macro u(k, purpose) as "
            f"(hash(xor(hash(k), hash({seed}, purpose))) >> 11)::double / 9007199254740992.0"
        )
        self.con.execute(
            f"create macro u2(k1, k2, purpose) as "
            f"(hash(xor(hash(xor(hash(k1), hash(k2, 7919))), hash({seed}, purpose))) >> 11)::double"
            f" / 9007199254740992.0"
        )
        # exponential draw with mean m
        self.con.execute("create macro expo(uu, m) as -ln(1 - uu) * m")
        self.con.execute(
            # to_timestamp(epoch seconds) is ~4x cheaper than timestamptz + interval
            f"create macro ts(seconds) as to_timestamp({self.h0.timestamp()!r} + seconds)"
        )
        self.con.execute(
            f"create macro anon(k1, k2) as 'a_' || substr(md5('{seed}-' || k1 || '-' || k2), 1, 16)"
        )

    @property
    def product_urls_sql(self) -> str:
        """The catalogue's product page URLs as a constant SQL list."""
        return (
            "[" + ", ".join(f"'{SITE}/products/P{i + 1:05d}'" for i in range(self.p.products)) + "]"
        )

    @property
    def product_ids_sql(self) -> str:
        """The catalogue's ids as a constant SQL list (indexing it is ~5x cheaper than lpad)."""
        return "[" + ", ".join(f"'P{i + 1:05d}'" for i in range(self.p.products)) + "]"

    def sec(self, moment: datetime) -> float:
        """Seconds from the start of the history (the origin of the ts() macro)."""
        return (moment - self.h0).total_seconds()

    def _write(self, table: str, query: str, part: str, order_by: str | None = None) -> int:
        folder = self.out / table
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"part-{part}.{self.fmt}"
        ordered = f"select * from ({query}) order by {order_by}" if order_by else query
        options = (
            "format parquet, compression zstd"
            if self.fmt == "parquet"
            else "format csv, header true"
        )
        self.con.execute(f"copy ({ordered}) to '{path}' ({options})")
        rows = self.con.execute(f"select count(*) from ({query})").fetchall()[0][0]
        self.files[table].append(str(path.relative_to(self.out)))
        return int(rows)

    # ------------------------------------------------------------------ model
    def build_products(self) -> None:
        p = self.p
        catalogue_start = self.sec(self.h0) - 365 * 86400
        span = self.sec(self.w1) - catalogue_start
        categories = "['" + "','".join(CATEGORIES) + "']"
        self.con.execute(f"""
            create table products as
            with base as (
                select
                    i as product_idx,
                    'P' || lpad((i + 1)::varchar, 5, '0') as product_id,
                    {categories}[1 + (floor(u(i, 'category') * {len(CATEGORIES)}))::int] as category,
                    -- log-uniform list price, 10,000 - 1,000,000 KRW, rounded to 100
                    round(exp(ln(10000) + u(i, 'price') * (ln(1000000) - ln(10000))) / 100) * 100
                        as list_price,
                    -- 60% of the catalogue predates the data; the rest keeps coming
                    case when u(i, 'old') < 0.6
                        then ts({catalogue_start} + u(i, 'released') * 365 * 86400)
                        else ts({self.sec(self.h0)} + u(i, 'released') * ({self.sec(self.w1) - self.sec(self.h0)}))
                    end as released_at
                from range({p.products}) as t(i)
            )
            select
                *,
                (ntile(5) over (order by list_price, product_idx) - 1)::int as price_tier,
                false as is_vip_exclusive_base
            from base
        """)
        del span
        self.con.execute(f"""
            create or replace table products as
            select
                * exclude (is_vip_exclusive_base),
                price_tier = 4 and u(product_idx, 'vip') < {p.vip_exclusive_share * 5} as is_vip_exclusive,
                row_number() over (partition by price_tier order by released_at, product_idx) as tier_rank
            from products
        """)
        # products released before each day, per tier: the pool an order on that day draws from
        first_day = (self.h0 - timedelta(days=p.new_release_days + 1)).date().isoformat()
        self.con.execute(f"""
            create table tier_pool as
            select
                tiers.price_tier,
                days.day,
                (
                    select count(*) from products
                    where products.price_tier = tiers.price_tier
                      and products.released_at < days.day
                ) as released_count
            from (select range::int as price_tier from range(5)) as tiers
            cross join (
                select range::date as day
                from range(date '{first_day}', date '{self.w1.date().isoformat()}' + 1, interval 1 day)
            ) as days
        """)

    def build_persons(self) -> None:
        p = self.p
        rates = p.derived_signup_rates()
        acq = _categorical("u(i, 'channel')", p.channel_mix, CHANNELS)
        mtype = _categorical("u(i, 'member_type')", p.member_type_mix, MEMBER_TYPES)
        self.con.execute(f"""
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
                    1 + least(30, floor(expo(u(i, 'sessions'), {p.mean_extra_sessions})))::int as n_sessions
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
                case when is_returning then greatest(n_sessions, 2) else n_sessions end as n_sessions,
                case
                    when is_returning
                        then {self.sec(self.h0)} + u(person_idx, 'first_seen') * {p.history_days * 86400}
                    else {self.sec(self.w0)} + u(person_idx, 'first_seen') * {p.days * 86400}
                end as first_seen_s,
                'M' || lpad((person_idx + 1)::varchar, 8, '0') as member_id
            from base
        """)

    def build_sessions(self) -> None:
        """All sessions of the human visitors (not the purchase visits, not bots)."""
        p = self.p
        later = _categorical("u2(person_idx, s_idx, 'channel')", p.channel_mix, CHANNELS)
        self.con.execute(f"""
            create table sessions as
            with expanded as (
                select persons.*, unnest(range(n_sessions)) as s_idx
                from persons
            ),
            timed as (
                select
                    *,
                    case
                        when s_idx = 0 then first_seen_s
                        when is_returning
                            then {self.sec(self.w0)} + u2(person_idx, s_idx, 'start') * {p.days * 86400}
                        else first_seen_s + sum(
                            case when s_idx = 0 then 0
                                else 600 + expo(u2(person_idx, s_idx, 'gap'), {p.mean_session_gap_days * 86400})
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
                1 + least(40, floor(expo(u2(person_idx, s_idx, 'hits'), {p.mean_hits_per_session - 1})))::int
                    as n_hits,
                {p.mean_seconds_between_hits} * (0.5 + u2(person_idx, s_idx, 'pace')) as hit_gap_s
            from timed
            where start_s < {self.sec(self.w1)}
        """)
        # sign-up session (0, or 1 when it exists) and who is a member when
        self.con.execute("""
            create table person_sessions as
            select person_idx, count(*) as sessions_kept, max(s_idx) as max_s_idx
            from sessions group by person_idx
        """)
        self.con.execute(f"""
            create or replace table persons as
            select
                persons.*,
                case
                    when not plans_signup then null
                    when kept.max_s_idx >= 1 and u(persons.person_idx, 'signup_session')
                        < {self.p.signup_in_second_session_share!r} then 1
                    else 0
                end as signup_s_idx,
                is_existing_member or plans_signup as is_member
            from persons
            join person_sessions as kept using (person_idx)
        """)
        self.con.execute("""
            create or replace table sessions as
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
                        then floor(u2(sessions.person_idx, sessions.s_idx, 'device') * persons.member_devices)::int
                    when not persons.is_existing_member and sessions.s_idx > persons.signup_s_idx
                        then floor(u2(sessions.person_idx, sessions.s_idx, 'device') * persons.member_devices)::int
                    else 0
                end as device,
                persons.in_shared_pair
            from sessions
            join persons using (person_idx)
        """)
        # kept in time order: each events part file reads one range of it (zone maps skip
        # the rest) and its rows come out nearly sorted by event_at
        self.con.execute(f"""
            create or replace table sessions as
            with identified as (
                select
                    *,
                    case
                        when device = 1 and in_shared_pair then 'a_sh' || substr(md5('{self.p.seed}-pair-' || (person_idx // 2)), 1, 14)
                        else anon(person_idx, device)
                    end as anonymous_id,
                    -- logged in: a member's session after joining (always on a 2nd/3rd device)
                    is_member and (
                        (is_existing_member and s_idx > 0)
                        or (not is_existing_member and s_idx > signup_s_idx)
                    ) and (device > 0 or u2(person_idx, s_idx, 'login') < 0.6) as is_logged_in,
                    (is_existing_member and s_idx = 0)
                        or (not is_existing_member and signup_s_idx = s_idx) as is_signup_session
                from sessions
            )
            select
                *,
                -- each device keeps its browser (an index: cheaper to carry than the text)
                (1 + floor(u(anonymous_id, 'ua') * {len(USER_AGENTS)}))::utinyint as ua_idx
            from identified
            order by start_s, person_idx, s_idx
        """)

    def session_hits_sql(self, lo: float, hi: float, key_filter: str = "true") -> str:
        """Events of the sessions starting in [lo, hi) (seconds), one row per hit.

        `key_filter`, an expression on `hit_key`, keeps only some hits before any column is
        computed (the dirt pass decorates a few percent of the hits a second time).
        """
        p = self.p
        page = _categorical(
            "u2(sessions.person_idx * 64 + sessions.s_idx, hit, 'page')",
            {
                "product": 0.45,
                "category": 0.15,
                "home": 0.10,
                "search": 0.08,
                "new": 0.07,
                "cart": 0.08,
                "mypage": 0.04,
                "about": 0.03,
            },
            ("product", "category", "home", "search", "new", "cart", "mypage", "about"),
        )
        return f"""
            -- inlined in each use: a filtered scan of the time-sorted table skips by zone maps
            with chunk as not materialized (
                select * from sessions where start_s >= {lo!r} and start_s < {hi!r}
            ),
            expanded as (
                select chunk.*, unnest(range(n_hits)) as hit from chunk
            ),
            all_hits as (
                -- hit 0 is the landing hit; -1, -2, -3 the benefit-page, login and sign-up
                -- hits of the sessions that have them
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
                where {key_filter}
            )
            select
                -- one integer to text per row: hit_key is unique per hit
                'ev_' || hit_key as event_id,
                start_s + pos * hit_gap_s as event_s,
                ts(start_s + pos * hit_gap_s) as event_at,
                anonymous_id,
                {USER_AGENTS_SQL}[ua_idx] as user_agent,
                case
                    when page_kind = 'signup' then member_id
                    when is_logged_in and pos >= 0.5 then member_id
                end as member_id,
                case page_kind
                    when 'signup' then 'sign_up'
                    when 'login' then 'login'
                    when 'product' then 'product_view'
                    when 'cart' then 'add_to_cart'
                    else 'page_view'
                end as event_name,
                channel,
                page_kind,
                person_idx,
                s_idx,
                hit,
                1 + floor(u2(person_idx * 64 + s_idx, hit, 'product') * {p.products})::int
                    as product_pick,
                hit_key,
                u2(person_idx * 64 + s_idx, hit, 'utm_filled') < {p.utm_columns_filled_share} as utm_filled
            from hits
        """

    def decorate_sql(self, hits: str) -> str:
        """Turn hits into raw event rows: URLs, referrers, UTM tags, user agents, loaded_at.

        With dirt on, some plain page views get a malformed URL and some rows a late load
        (real rows, kept and flagged by staging).
        """
        p = self.p
        dirt_sql = "true" if p.dirt else "false"
        return f"""
            with hits as ({hits}),
            tagged as (
                -- campaign tags and the landing page: landing hits only
                select
                    *,
                    case when page_kind = 'landing' then
                        case channel
                            when 'keyword_search_ad' then case when u(hit_key, 'src') < 0.6 then 'google' else 'naver' end
                            when 'paid_social' then case when u(hit_key, 'src') < 0.5 then 'facebook' else 'instagram' end
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
                            when 'keyword_search_ad' then case when u(hit_key, 'cmp') < 0.5 then 'brand_kw' else 'generic_kw' end
                            when 'paid_social' then 'spring_look'
                            when 'email' then 'weekly_news'
                            when 'sms' then 'member_offer'
                        end
                    end as tag_campaign,
                    case when page_kind = 'landing' and channel = 'keyword_search_ad' then
                        ['running shoes', 'linen shirt', 'leather bag', 'shop example', 'new arrivals']
                            [1 + floor(u(hit_key, 'term') * 5)::int]
                    end as tag_term,
                    -- 0: a product page, 1: the home page, 2: new arrivals
                    case when page_kind = 'landing' then
                        case when u(hit_key, 'landing') < 0.5 then 0 when u(hit_key, 'landing') < 0.8 then 1 else 2 end
                    end as landing_kind
                from hits
            )
            select
                event_id,
                event_at,
                anonymous_id,
                member_id,
                event_name,
                case when {dirt_sql} and event_name = 'page_view'
                        and page_kind not in ('benefit', 'signup', 'login', 'landing')
                        and u(hit_key, 'bad_url') < {p.malformed_url_rate}
                    then case when u(hit_key, 'url_kind') < 0.5 then 'htp:/broken link' else '::' end
                    -- whole URLs from constant lists: no string building on most rows
                    else case page_kind
                        when 'product' then {self.product_urls_sql}[product_pick]
                        when 'landing' then
                            case landing_kind
                                when 0 then {self.product_urls_sql}[product_pick]
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
                        when 'category' then
                            ['{SITE}/category/outer', '{SITE}/category/tops', '{SITE}/category/shoes', '{SITE}/category/bags']
                                [1 + floor(u(hit_key, 'cat') * 4)::int]
                        when 'home' then '{SITE}/'
                        when 'search' then '{SITE}/search?q=linen'
                        when 'new' then '{SITE}/new-arrivals'
                        when 'cart' then '{SITE}/cart'
                        when 'mypage' then '{SITE}/mypage'
                        else '{SITE}/about'
                    end
                end as page_url,
                case
                    when page_kind <> 'landing' then '{SITE}/'
                    when channel in ('keyword_search_ad', 'organic_search') then
                        case when u(hit_key, 'engine') < 0.6 then 'https://www.google.com/search?q=shop'
                            else 'https://search.naver.com/search.naver?query=shop' end
                    when channel in ('organic_social', 'paid_social') then
                        case when u(hit_key, 'social') < 0.5 then 'https://www.instagram.com/'
                            else 'https://m.facebook.com/' end
                    when channel = 'referral' then
                        ['https://blog.example.net/review', 'https://www.fashion-news.example/best-10']
                            [1 + floor(u(hit_key, 'ref') * 2)::int]
                end as referrer_url,
                case when utm_filled then tag_source end as utm_source,
                case when utm_filled then tag_medium end as utm_medium,
                case when utm_filled then tag_campaign end as utm_campaign,
                case when utm_filled then tag_term end as utm_term,
                case when event_name in ('product_view', 'add_to_cart', 'purchase') or landing_kind = 0
                    then {self.product_ids_sql}[product_pick] end as product_id,
                user_agent,
                case when {dirt_sql} and u(hit_key, 'late') < {p.late_event_rate}
                    then ts(event_s + 2 * 86400 + u(hit_key, 'late_by') * 8 * 86400)
                    else ts(event_s + 60 + u(hit_key, 'load') * 3540)
                end as loaded_at,
                page_kind,
                hit_key
            from tagged
        """

    def build_members_and_orders(self) -> None:
        p = self.p
        n_offline = round(
            p.offline_member_share
            * self.con.execute("select count(*) from persons where is_member").fetchall()[0][0]
        )
        self.n_offline = n_offline
        mtype = _categorical("u(i, 'member_type')", p.member_type_mix, MEMBER_TYPES)
        self.con.execute(f"""
            create table members_truth as
            select
                persons.person_idx,
                persons.member_id,
                persons.member_type,
                true as has_events,
                sessions.start_s + (sessions.n_hits * 2.0 + 1) * sessions.hit_gap_s as signed_up_s
            from persons
            join sessions
                on sessions.person_idx = persons.person_idx and sessions.is_signup_session
            union all
            select
                i as person_idx,
                'M' || lpad((i + 1)::varchar, 8, '0') as member_id,
                {mtype} as member_type,
                false as has_events,
                {self.sec(self.h0)} + u(i, 'offline_signup') * {(p.history_days + p.days) * 86400}
                    as signed_up_s
            from range({p.visitors}, {p.visitors + n_offline}) as t(i)
        """)
        lo_r, hi_r = p.repeat_orders_range
        lo_l, hi_l = p.loyal_orders_range
        self.con.execute(f"""
            create table orders_truth as
            with counted as (
                select
                    *,
                    case member_type
                        when 'never' then 0
                        when 'once' then 1
                        when 'repeat' then {lo_r} + floor(u(person_idx, 'n_orders') * {hi_r - lo_r + 1})::int
                        else {lo_l} + floor(u(person_idx, 'n_orders') * {hi_l - lo_l + 1})::int
                    end as n_orders
                from members_truth
            ),
            expanded as (
                select *, unnest(range(n_orders)) as o_idx from counted where n_orders > 0
            ),
            timed as (
                select
                    *,
                    signed_up_s + 600 + sum(
                        case when o_idx = 0
                            then expo(u2(person_idx, o_idx, 'gap'), {p.mean_days_to_first_order * 86400})
                            else 3600 + expo(
                                u2(person_idx, o_idx, 'gap'),
                                case member_type when 'loyal'
                                    then {p.mean_days_between_orders["loyal"] * 86400}
                                    else {p.mean_days_between_orders["repeat"] * 86400} end
                            )
                        end
                    ) over (partition by person_idx order by o_idx) as ordered_s
                from expanded
            )
            select
                person_idx,
                member_id,
                member_type,
                has_events,
                o_idx,
                'O' || lpad((person_idx * 16 + o_idx + 1)::varchar, 10, '0') as order_id,
                ordered_s,
                o_idx = 0 and u(person_idx, 'coupon') < {p.first_purchase_coupon_share} as uses_welcome
            from timed
            where ordered_s < {self.sec(self.w1)}
        """)
        tier = (
            "least(4, greatest(0, round(case member_type "
            f"when 'loyal' then {p.price_tier_bias['loyal']} "
            f"when 'repeat' then {p.price_tier_bias['repeat']} "
            f"else {p.price_tier_bias['once']} end "
            "+ (u2(order_id, line, 't1') + u2(order_id, line, 't2') + u2(order_id, line, 't3') - 1.5) * 1.6)))::int"
        )
        self.con.execute(f"""
            create table lines_truth as
            with expanded as (
                select
                    orders_truth.*,
                    unnest(range(1 + least(5, floor(expo(u(order_id, 'lines'), {p.mean_lines_per_order - 1})))::int)) + 1
                        as line
                from orders_truth
            ),
            picked as (
                select
                    *,
                    {tier} as price_tier,
                    u2(order_id, line, 'new') < case member_type
                        when 'loyal' then {p.new_release_prob["loyal"]}
                        when 'repeat' then {p.new_release_prob["repeat"]}
                        else {p.new_release_prob["once"]} end as wants_new,
                    u2(order_id, line, 'discount') < case member_type
                        when 'loyal' then {p.discount_prob["loyal"]}
                        when 'repeat' then {p.discount_prob["repeat"]}
                        else {p.discount_prob["once"]} end as is_discounted,
                    ts(ordered_s)::date as order_day
                from expanded
            ),
            pooled as (
                select
                    picked.*,
                    pool_now.released_count as pool_now,
                    pool_old.released_count as pool_old
                from picked
                join tier_pool as pool_now
                    on pool_now.price_tier = picked.price_tier and pool_now.day = picked.order_day
                join tier_pool as pool_old
                    on pool_old.price_tier = picked.price_tier
                    and pool_old.day = picked.order_day - {p.new_release_days}
            )
            select
                pooled.*,
                case
                    when wants_new and pool_now > pool_old
                        then pool_old + 1 + floor(u2(order_id, line, 'pick') * (pool_now - pool_old))::int
                    else 1 + floor(u2(order_id, line, 'pick') * pool_now)::int
                end as tier_rank,
                1 + (u2(order_id, line, 'qty') < 0.1)::int as quantity,
                [0.1, 0.2, 0.3][1 + floor(u2(order_id, line, 'depth') * 3)::int] as discount_depth
            from pooled
        """)
        self.con.execute("""
            create or replace table lines_truth as
            select
                lines_truth.*,
                products.product_id,
                products.list_price,
                products.released_at,
                case when is_discounted
                    then round(products.list_price * (1 - discount_depth) / 100) * 100
                    else products.list_price end as unit_price
            from lines_truth
            join products
                on products.price_tier = lines_truth.price_tier
                and products.tier_rank = lines_truth.tier_rank
        """)
        self.con.execute("""
            create or replace table orders_truth as
            with totals as (
                select
                    order_id,
                    sum(unit_price * quantity) as items_total,
                    sum((list_price - unit_price) * quantity) as line_discount
                from lines_truth group by order_id
            )
            select
                orders_truth.*,
                case when uses_welcome then round(items_total * 0.1 / 100) * 100 else 0 end as coupon_discount,
                items_total,
                line_discount
            from orders_truth join totals using (order_id)
        """)
        # grades from cumulative paid spend: WELCOME at sign-up, up as thresholds are passed
        self.con.execute("""
            create table grade_history_truth as
            with grades as (
                select * from (values
                    ('WELCOME', 1, 0), ('SILVER', 2, 300000), ('GOLD', 3, 1000000), ('VIP', 4, 3000000)
                ) as g(grade_code, grade_rank, threshold)
            ),
            spend as (
                select
                    member_id,
                    ordered_s,
                    sum(items_total - coupon_discount) over (
                        partition by member_id order by ordered_s, order_id
                    ) as cumulative
                from orders_truth
            ),
            graded as (
                select
                    member_id,
                    ordered_s,
                    (select max(grade_rank) from grades where threshold <= cumulative) as grade_rank
                from spend
            ),
            changes as (
                select member_id, signed_up_s as valid_from_s, 1 as grade_rank from members_truth
                union all
                select member_id, min(ordered_s) as valid_from_s, grade_rank
                from graded where grade_rank > 1
                group by member_id, grade_rank
            )
            select changes.member_id, changes.valid_from_s, grades.grade_code, grades.grade_rank
            from changes join grades using (grade_rank)
        """)

    # ------------------------------------------------------------------ output tables
    def write_products(self) -> int:
        export = self.sec(self.export_at)
        return self._write(
            "products",
            f"""
            select
                product_id,
                upper(category[1]) || category[2:] || ' item ' || product_id as product_name,
                category,
                list_price::decimal(18, 2) as list_price,
                released_at,
                is_vip_exclusive,
                ts({export}) as loaded_at
            from products
        """,
            "00000",
            "product_id",
        )

    def write_members(self) -> int:
        p = self.p
        export = self.sec(self.export_at)
        members_sql = f"""
            select
                members_truth.member_id,
                ts(signed_up_s) as signed_up_at,
                coalesce(current.grade_code, 'WELCOME') as membership_grade,
                u(members_truth.member_id, 'sms') < {p.sms_opt_in_rate} as sms_opt_in,
                u(members_truth.member_id, 'mkt') < {p.marketing_opt_in_rate} as marketing_opt_in,
                case when u(members_truth.member_id, 'email_case') < 0.2
                    then ' User' || person_idx || '@Example.com '
                    else 'user' || person_idx || '@example.com' end as email,
                case when u(members_truth.member_id, 'phone_fmt') < 0.3
                    then '010' || lpad((person_idx % 10000)::varchar, 4, '0') || lpad((person_idx // 10000 % 10000)::varchar, 4, '0')
                    else '010-' || lpad((person_idx % 10000)::varchar, 4, '0') || '-' || lpad((person_idx // 10000 % 10000)::varchar, 4, '0')
                end as phone,
                ts(greatest(signed_up_s, coalesce(current.valid_from_s, 0))) as updated_at,
                ts({export}) as loaded_at
            from members_truth
            left join (
                select * from grade_history_truth
                qualify row_number() over (partition by member_id order by valid_from_s desc) = 1
            ) as current using (member_id)
        """
        if p.dirt:
            self.con.execute(f"create table members_out as {members_sql}")
            self.con.execute(f"""
                create table members_dup as
                select
                    member_id, signed_up_at, 'WELCOME' as membership_grade, sms_opt_in,
                    marketing_opt_in, email, phone,
                    updated_at - interval 30 day as updated_at,
                    loaded_at - interval 30 day as loaded_at
                from members_out
                where u(member_id, 'dup_export') < {p.duplicate_member_export_rate}
            """)
            self.dirt["duplicate_member_exports"] = self._count("members_dup")
            members_sql = "select * from members_out union all select * from members_dup"
        return self._write("members", members_sql, "00000", "member_id, updated_at")

    def write_grade_history(self) -> int:
        export = self.sec(self.export_at)
        return self._write(
            "member_grade_history",
            f"""
            select member_id, grade_code as membership_grade, ts(valid_from_s) as valid_from,
                ts({export}) as loaded_at
            from grade_history_truth
        """,
            "00000",
            "member_id, valid_from",
        )

    def write_orders(self) -> tuple[int, int]:
        p = self.p
        export = self.sec(self.export_at)
        self.con.execute(f"""
            create table orders_out as
            select
                order_id,
                member_id,
                ts(ordered_s) as ordered_at,
                'paid' as status,
                'KRW' as currency,
                (items_total - coupon_discount)::decimal(18, 2) as order_total,
                (line_discount + coupon_discount)::decimal(18, 2) as discount_total,
                case
                    when uses_welcome then 'WELCOME10'
                    when u(order_id, 'promo') < 0.08 then 'SPRING5'
                end as coupon_code,
                ts(least(ordered_s + 3600, {export})) as loaded_at
            from orders_truth
        """)
        self.con.execute("""
            create table items_out as
            select
                order_id,
                line::int as line_number,
                product_id,
                quantity::int as quantity,
                unit_price::decimal(18, 2) as unit_price,
                loaded_at
            from lines_truth join orders_out using (order_id)
        """)
        # guest checkouts (behaviour, not dirt): paid orders without a member
        guests = round(p.guest_checkout_share * self._count("orders_out"))
        self.realized_guest_orders = guests
        self._extra_orders("guest", guests, "paid", "null")
        if p.dirt:
            paid = self._count("orders_truth")
            for kind, rate, status in (
                ("cancelled_orders", p.cancelled_order_rate, "cancelled"),
                ("refunded_orders", p.refunded_order_rate, "refunded"),
                ("test_orders", p.test_order_rate, "test"),
            ):
                n = round(rate * paid)
                self._extra_orders(kind, n, status, "member_id")
                self.dirt[kind] = n
            n = round(p.unknown_member_order_rate * paid)
            self._extra_orders("unknown_member", n, "paid", "'M9' || lpad(i::varchar, 7, '0')")
            self.dirt["unknown_member_orders"] = n
            # bad prices: an extra line with a zero or negative price on cancelled/test orders
            self.con.execute(f"""
                insert into items_out
                select
                    order_id, 2 as line_number, 'P00001' as product_id, 1 as quantity,
                    (case when u(order_id, 'neg') < 0.5 then 0 else -1000 end)::decimal(18, 2),
                    loaded_at
                from orders_out
                where (order_id like 'Ocancelled%' or order_id like 'Otest%')
                  and u(order_id, 'bad_price') < {min(1.0, p.bad_price_line_rate * 50)}
            """)
            self.dirt["non_positive_unit_price_lines"] = self.con.execute(
                "select count(*) from items_out where unit_price <= 0"
            ).fetchall()[0][0]
            # the same order exported twice: the earlier export is the duplicate
            self.con.execute(f"""
                create table orders_dup as
                select * exclude (loaded_at), loaded_at - interval 1 day as loaded_at
                from orders_out
                where status = 'paid' and u(order_id, 'dup') < {p.duplicate_order_export_rate}
            """)
            self.dirt["duplicate_order_exports"] = self._count("orders_dup")
            self.con.execute("insert into orders_out select * from orders_dup")
        orders = self._write("orders", "select * from orders_out", "00000", "ordered_at, order_id")
        items = self._write(
            "order_items", "select * from items_out", "00000", "order_id, line_number"
        )
        return orders, items

    def _extra_orders(self, kind: str, n: int, status: str, member_expr: str) -> None:
        """n extra orders (with one line each) on random members, for guests and dirt."""
        if n <= 0:
            return
        self.con.execute(
            "create table if not exists members_indexed as select member_id, "
            "row_number() over (order by member_id) as rn from members_truth"
        )
        export = self.sec(self.export_at)
        self.con.execute(f"""
            create or replace table extra as
            select
                i,
                'O{kind}' || lpad(i::varchar, 7, '0') as order_id,
                members_indexed.member_id,
                {self.sec(self.h0)} + u(i, '{kind}_at') * {(self.p.history_days + self.p.days) * 86400}
                    as ordered_s,
                1 + floor(u(i, '{kind}_product') * {self.p.products})::int as product_idx
            from range({n}) as t(i)
            join members_indexed
                on members_indexed.rn = 1 + floor(u(i, '{kind}_member') * {self._count("members_truth")})::int
        """)
        self.con.execute(f"""
            insert into orders_out
            select
                extra.order_id,
                {member_expr.replace("member_id", "extra.member_id") if member_expr == "member_id" else member_expr},
                ts(ordered_s),
                '{status}',
                'KRW',
                products.list_price::decimal(18, 2),
                0::decimal(18, 2),
                null,
                ts(least(ordered_s + 3600, {export}))
            from extra join products on products.product_idx = extra.product_idx - 1
        """)
        self.con.execute(f"""
            insert into items_out
            select extra.order_id, 1, products.product_id, 1, products.list_price::decimal(18, 2),
                ts(least(ordered_s + 3600, {export}))
            from extra join products on products.product_idx = extra.product_idx - 1
        """)

    def _count(self, table: str) -> int:
        return int(self.con.execute(f"select count(*) from {table}").fetchall()[0][0])

    # ------------------------------------------------------------------ events
    def _event_slices(self) -> list[tuple[float, float]]:
        """Successive time slices of session starts holding about chunk_events hits each."""
        expected = self.con.execute("select coalesce(sum(n_hits + 1), 0) from sessions").fetchall()
        chunks = max(1, math.ceil(int(expected[0][0]) / self.chunk_events))
        edges: list[float] = [-1e18]
        if chunks > 1:
            fractions = ", ".join(repr(k / chunks) for k in range(1, chunks))
            cuts = self.con.execute(
                f"select quantile_disc(start_s, [{fractions}]) from sessions"
            ).fetchall()[0][0]
            edges += sorted({float(cut) for cut in cuts} - {edges[0]})
        edges.append(1e18)
        return list(zip(edges[:-1], edges[1:], strict=True))

    def _prepare_event_sources(self) -> None:
        """Small tables that every slice filters: purchase visits and bot visitors."""
        self.con.execute("""
            create table purchase_visits as
            with first_products as (
                select order_id, min(product_id) as first_product_id
                from lines_truth
                group by order_id
            )
            select orders_truth.*, first_products.first_product_id
            from orders_truth
            join first_products using (order_id)
            where has_events
            order by ordered_s
        """)
        p = self.p
        lo, hi = p.bot_hits_range
        self.con.execute(f"""
            create table bots as
            select
                b,
                'a_bot' || lpad(b::varchar, 8, '0') as anonymous_id,
                {lo} + floor(u(b, 'bot_hits') * {hi - lo + 1})::int as n_hits,
                {self.sec(self.w0)} + u(b, 'bot_start') * {p.days * 86400} as start_s,
                ['Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
                 'python-requests/2.31.0',
                 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/124.0 Safari/537.36',
                 'Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)']
                    [1 + floor(u(b, 'bot_ua') * 4)::int] as user_agent
            from range({round(p.bot_visitor_rate * p.visitors) if p.dirt else 0}) as t(b)
        """)

    def _purchase_visits_sql(self, lo: float, hi: float) -> str:
        """Cart, checkout and order confirmation of the web orders placed in [lo, hi)."""
        return f"""
            with visits as (
                select
                    purchase_visits.*,
                    step,
                    anon(person_idx, 0) as anonymous_id
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
                'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1'
                    as user_agent,
                ts(ordered_s - (2 - step) * 60 + 300) as loaded_at
            from visits
        """

    def _bot_sql(self, lo: float, hi: float) -> str:
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
                '{SITE}/products/' || {self.product_ids_sql}[1 + hit % {self.p.products}] as page_url,
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

    def _offset_condition(self) -> str:
        """Session hits whose event_at a CSV export writes in Korean time (+09:00)."""
        if self.fmt == "csv" and self.p.dirt:
            return f"u(hit_key, 'tz') < {self.p.csv_non_utc_offset_rate!r}"
        return "false"

    def write_events(self) -> int:
        """One part file per time slice: its sessions, purchase visits, bots and dirt rows.

        Rows are written in the order of the session table (by session start), so each file
        covers its own time range and row groups are nearly ordered by event_at (tight min/max
        statistics for pruning) without the cost of a full sort.
        """
        p = self.p
        con = self.con
        self._prepare_event_sources()
        slices = self._event_slices()
        columns = ", ".join(EVENT_COLUMNS)
        if self.fmt == "csv":
            event_at = (
                f"case when {self._offset_condition()} then "
                "strftime(event_at::timestamp + interval 9 hour, '%Y-%m-%d %H:%M:%S.%f') || '+09:00' "
                "else event_at::varchar end as event_at"
            )
            main_columns = columns.replace("event_at", event_at, 1)
            other_columns = columns.replace("event_at", "event_at::varchar as event_at", 1)
        else:
            main_columns = other_columns = columns
        total = 0
        started = time.perf_counter()
        dirt_totals: dict[str, int] = {}
        folder = self.out / "events"
        folder.mkdir(parents=True, exist_ok=True)
        options = (
            "format parquet, compression zstd, row_group_size 122880"
            if self.fmt == "parquet"
            else "format csv, header true"
        )
        for number, (lo, hi) in enumerate(slices, start=1):
            hits = self.session_hits_sql(lo, hi)
            parts = [f"select {main_columns} from ({self.decorate_sql(hits)})"]
            if p.dirt:
                self._dirty_events(lo, hi, dirt_totals)
                parts.append(f"select {other_columns} from dirt")
            parts.append(f"select {other_columns} from ({self._purchase_visits_sql(lo, hi)})")
            parts.append(f"select {other_columns} from ({self._bot_sql(lo, hi)})")
            path = folder / f"part-{number:05d}.{self.fmt}"
            written = con.execute(
                f"copy ({' union all '.join(parts)}) to '{path}' ({options})"
            ).fetchall()
            self.files["events"].append(str(path.relative_to(self.out)))
            total += int(written[0][0])
            rate = total / max(time.perf_counter() - started, 1e-9)
            self.progress(
                f"events: part {number}/{len(slices)}, {total:,} rows ({rate:,.0f} rows/s)"
            )
        if p.dirt:
            bots = con.execute("select count(*), coalesce(sum(n_hits), 0) from bots").fetchall()
            dirt_totals["bot_visitors"], dirt_totals["bot_events"] = (
                int(bots[0][0]),
                int(bots[0][1]),
            )
        self.dirt.update(dirt_totals)
        self.progress(f"events: {total:,} rows in {time.perf_counter() - started:.1f} s")
        return total

    def _dirty_events(self, lo: float, hi: float, totals: dict[str, int]) -> None:
        """Count the flagged real rows of a slice and build its extra dirt rows (table dirt).

        Only the hits that can carry dirt are decorated a second time (a few percent), not
        the whole slice: every dirt decision is a function of the hit's key.
        """
        p = self.p
        con = self.con
        # one uniform draw per row picks at most one kind of extra row
        kinds = [
            ("unknown_event_names", p.unknown_event_name_rate),
            ("duplicate_events", p.duplicate_event_rate),
            ("future_events", p.future_event_rate),
            ("null_anonymous_ids", p.null_anonymous_id_rate),
            ("malformed_anonymous_ids", p.malformed_anonymous_id_rate),
            ("malformed_member_ids", p.malformed_member_id_rate),
        ]
        bounds, low = [], 0.0
        for kind, rate in kinds:
            bounds.append((kind, low, low + rate))
            low += rate
        kind_sql = " ".join(
            f"when u(hit_key, 'dirt') >= {lo!r} and u(hit_key, 'dirt') < {hi!r} then '{kind}'"
            for kind, lo, hi in bounds
        )
        candidates = (
            f"u(hit_key, 'dirt') < {low!r} or u(hit_key, 'late') < {p.late_event_rate!r} "
            f"or u(hit_key, 'bad_url') < {p.malformed_url_rate!r} or {self._offset_condition()}"
        )
        con.execute(f"""
            create or replace table dirt_candidates as
            {self.decorate_sql(self.session_hits_sql(lo, hi, candidates))}
        """)
        flagged = con.execute(f"""
            select
                count(*) filter (where loaded_at > event_at + interval 1 day),
                count(*) filter (where page_url in ('htp:/broken link', '::')),
                count(*) filter (where {self._offset_condition()})
            from dirt_candidates
        """).fetchall()[0]
        totals["late_events"] = totals.get("late_events", 0) + int(flagged[0])
        totals["malformed_urls"] = totals.get("malformed_urls", 0) + int(flagged[1])
        if self.fmt == "csv":
            totals["non_utc_offsets"] = totals.get("non_utc_offsets", 0) + int(flagged[2])
        con.execute(f"""
            create or replace table dirt as
            with picked as (
                select *, case {kind_sql} end as dirt_kind
                from dirt_candidates
                where u(hit_key, 'dirt') < {low!r}
            )
            select
                case dirt_kind
                    when 'unknown_event_names' then 'unk_' || event_id
                    when 'future_events' then 'fut_' || event_id
                    when 'null_anonymous_ids' then 'nul_' || event_id
                    when 'malformed_anonymous_ids' then 'mal_' || event_id
                    when 'malformed_member_ids' then 'mmi_' || event_id
                    else event_id
                end as event_id,
                case dirt_kind
                    when 'unknown_event_names' then event_at + interval 1 second
                    when 'future_events' then loaded_at + to_microseconds(
                        (2 * 86400e6 + u(hit_key, 'fut_by') * 20 * 86400e6)::bigint)
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
                        ['scroll_depth', 'video_play', 'heartbeat'][1 + floor(u(hit_key, 'unk_name') * 3)::int]
                    else event_name
                end as event_name,
                * exclude (event_id, event_at, anonymous_id, member_id, event_name, loaded_at, dirt_kind),
                case dirt_kind
                    when 'unknown_event_names' then event_at + interval 5 minute
                    when 'duplicate_events' then loaded_at + interval 3 hour
                    else loaded_at
                end as loaded_at,
                dirt_kind
            from picked
            -- an unknown-event copy of a row with a malformed URL would be a second malformed URL
            where not (dirt_kind = 'unknown_event_names' and page_url not like 'https://%')
            order by event_at
        """)
        for kind, count in con.execute(
            "select dirt_kind, count(*) from dirt group by 1"
        ).fetchall():
            totals[kind] = totals.get(kind, 0) + int(count)

    # ------------------------------------------------------------------ truth
    def realized(self) -> dict[str, int | float]:
        w0, w1 = self.sec(self.w0), self.sec(self.w1)
        q = self.con.execute
        row = q("""
            select
                count(*) as human_visitors,
                count(*) filter (where not is_returning) as new_visitors,
                count(*) filter (where not is_returning and signup_s_idx is not null) as signups_new,
                count(*) filter (where not is_returning and signup_s_idx is not null and views_benefit)
                    as signups_viewed_benefit,
                count(*) filter (where not is_returning and signup_s_idx is null and views_benefit)
                    as nonsignups_viewed_benefit,
                count(*) filter (where not is_returning and views_benefit) as new_visitors_viewed_benefit,
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
        result: dict[str, int | float] = dict(zip(names, (int(v) for v in row), strict=True))
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
        result["guest_orders"] = self.realized_guest_orders
        result["shared_devices"] = int(
            q("""
            select count(distinct anonymous_id) from sessions where anonymous_id like 'a_sh%'
        """).fetchall()[0][0]
        )
        result["multi_device_members"] = int(
            q("""
            select count(*) from (select person_idx from sessions where is_member
            group by person_idx having count(distinct anonymous_id) > 1)
        """).fetchall()[0][0]
        )
        lines = q(f"""
            select
                member_type,
                count(*) as lines,
                avg((released_at >= ts(ordered_s) - interval {self.p.new_release_days} day)::int) as new_share,
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
                avg((released_at >= ts(ordered_s) - interval {self.p.new_release_days} day)::int),
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
        result["paid_orders"] = result["paid_member_orders"] + result["guest_orders"]
        del w0, w1
        return result

    # ------------------------------------------------------------------ run
    def run(self) -> dict:
        """Write every table and manifest.json; return the manifest."""
        # the per-visitor state of a very large run may outgrow memory: let DuckDB spill
        self.scratch = Path(tempfile.mkdtemp(prefix="shopfunnel-generate-"))
        self.con.execute(f"set temp_directory = '{self.scratch}'")
        try:
            return self._run()
        finally:
            self.con.close()
            shutil.rmtree(self.scratch, ignore_errors=True)

    def _run(self) -> dict:
        started = time.perf_counter()
        if self.out.exists():
            for table in TABLES:
                shutil.rmtree(self.out / table, ignore_errors=True)
            (self.out / "manifest.json").unlink(missing_ok=True)
        self.out.mkdir(parents=True, exist_ok=True)
        steps = [
            ("products", self.build_products),
            ("visitors", self.build_persons),
            ("sessions", self.build_sessions),
            ("members and orders", self.build_members_and_orders),
        ]
        for name, step in steps:
            step()
            self.progress(f"built {name}")
        rows = {
            "products": self.write_products(),
            "members": self.write_members(),
            "member_grade_history": self.write_grade_history(),
        }
        rows["orders"], rows["order_items"] = self.write_orders()
        for table in ("products", "members", "member_grade_history", "orders", "order_items"):
            self.progress(f"{table}: {rows[table]:,} rows")
        rows["events"] = self.write_events()
        p = self.p
        rates = p.derived_signup_rates()
        manifest = {
            "generator_version": GENERATOR_VERSION,
            "seed": p.seed,
            "visitors": p.visitors,
            "days": p.days,
            "history_days": p.history_days,
            "data_start": self.h0.isoformat(),
            "window_start": self.w0.isoformat(),
            "window_end": self.w1.isoformat(),
            "format": self.fmt,
            "chunk_events": self.chunk_events,
            "dirt_enabled": p.dirt,
            "parameters": p.to_json(),
            "planted": {
                "new_visitor_share": p.new_visitor_share,
                "signup_rate": p.target_signup_rate,
                "signup_share_viewed_benefit": p.target_signup_share_viewed,
                "nonsignup_share_not_viewed_benefit": p.target_nonsignup_share_not_viewed,
                **rates,
                "new_release_prob": p.new_release_prob,
                "discount_prob": p.discount_prob,
                "price_tier_bias": p.price_tier_bias,
                "higher_grades_pay_more": True,
                "loyal_favour_new_releases": True,
                "discount_share_loyal": p.discount_prob["loyal"],
                "new_release_prob_loyal": p.new_release_prob["loyal"],
                "mean_unit_price_rises_with_grade": ["WELCOME", "SILVER", "GOLD", "VIP"],
            },
            "realized": self.realized(),
            "dirt": dict(sorted(self.dirt.items())),
            "dirt_kinds": {
                "extra_rows_quarantined": [
                    "duplicate_events",
                    "future_events",
                    "null_anonymous_ids",
                    "malformed_anonymous_ids",
                    "malformed_member_ids",
                    "duplicate_member_exports",
                    "duplicate_order_exports",
                    "non_positive_unit_price_lines",
                ],
                "extra_rows_kept_and_flagged": ["unknown_event_names", "bot_events"],
                "real_rows_flagged": ["late_events", "malformed_urls"],
                "real_rows_reformatted_csv_only": ["non_utc_offsets"],
                "extra_orders_not_paid": ["cancelled_orders", "refunded_orders", "test_orders"],
                "extra_paid_orders_of_unknown_members": ["unknown_member_orders"],
            },
            "tables": {
                table: {"rows": rows[table], "files": sorted(self.files[table])} for table in TABLES
            },
        }
        (self.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        self.progress(
            f"wrote {sum(rows.values()):,} rows ({rows['events']:,} events) to {self.out} "
            f"in {time.perf_counter() - started:.1f} s"
        )
        return manifest


def stderr_progress(message: str) -> None:
    print(f"[generate] {message}", file=sys.stderr, flush=True)
