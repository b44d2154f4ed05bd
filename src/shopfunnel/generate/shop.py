"""What the shop sells and who buys it: the catalogue, members, orders, lines and grades.

Tables built (the truth the raw exports are written from): ``products``, ``tier_pool``
(products released before each day, per price tier), ``members_truth``, ``orders_truth``,
``lines_truth`` and ``grade_history_truth``.
"""

from __future__ import annotations

from datetime import timedelta

from shopfunnel.generate import action_outcomes, actions
from shopfunnel.generate.context import RunContext
from shopfunnel.generate.sqlkit import CATEGORIES, MEMBER_TYPES, categorical, sql_list


def build_products(ctx: RunContext) -> None:
    p = ctx.p
    con = ctx.con
    catalogue_start = ctx.sec(ctx.h0) - 365 * 86400
    history_start = ctx.sec(ctx.h0)
    categories = "['" + "','".join(CATEGORIES) + "']"
    con.execute(f"""
        create table products as
        with base as (
            select
                i as product_idx,
                'P' || lpad((i + 1)::varchar, 5, '0') as product_id,
                {categories}[1 + (floor(u(i, 'category') * {len(CATEGORIES)}))::int]
                    as category,
                -- log-uniform list price, 10,000 - 1,000,000 KRW, rounded to 100
                round(exp(ln(10000) + u(i, 'price') * (ln(1000000) - ln(10000))) / 100) * 100
                    as list_price,
                -- 60% of the catalogue predates the data; the rest keeps coming
                case when u(i, 'old') < 0.6
                    then ts({catalogue_start} + u(i, 'released') * 365 * 86400)
                    else ts(
                        {history_start}
                        + u(i, 'released') * ({ctx.sec(ctx.w1) - history_start})
                    )
                end as released_at
            from range({p.products}) as t(i)
        )
        select
            *,
            (ntile(5) over (order by list_price, product_idx) - 1)::int as price_tier,
            false as is_vip_exclusive_base
        from base
    """)
    con.execute(f"""
        create or replace table products as
        select
            * exclude (is_vip_exclusive_base),
            price_tier = 4 and u(product_idx, 'vip') < {p.vip_exclusive_share * 5}
                as is_vip_exclusive,
            row_number() over (partition by price_tier order by released_at, product_idx)
                as tier_rank
        from products
    """)
    # products released before each day, per tier: the pool an order on that day draws from
    first_day = (ctx.h0 - timedelta(days=p.new_release_days + 1)).date().isoformat()
    con.execute(f"""
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
            from range(
                date '{first_day}', date '{ctx.w1.date().isoformat()}' + 1, interval 1 day
            )
        ) as days
    """)


def product_ids_sql(ctx: RunContext) -> str:
    """The catalogue's ids as a constant SQL list (indexing it is ~5x cheaper than lpad)."""
    return sql_list([f"P{i + 1:05d}" for i in range(ctx.p.products)])


def offline_member_count(ctx: RunContext) -> int:
    """Members who signed up off-line (no events): a share of the members with events
    (not counting the sign-ups of the retargeting action: it changes nothing before it)."""
    members = ctx.con.execute("select count(*) from persons where is_member").fetchall()[0][0]
    members -= ctx.action_signups
    return round(ctx.p.offline_member_share * members)


def build_members(ctx: RunContext) -> None:
    """Members with events (their sign-up session) and members who signed up off-line
    (and, in the daily layout, the members of the planted devices)."""
    p = ctx.p
    con = ctx.con
    n_offline = offline_member_count(ctx)
    ctx.n_offline = n_offline
    planted = " union all select * from planted_members" if ctx.daily else ""
    mtype = categorical("u(i, 'member_type')", p.member_type_mix, MEMBER_TYPES)
    con.execute(f"""
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
            {ctx.sec(ctx.h0)} + u(i, 'offline_signup') * {(p.history_days + p.days) * 86400}
                as signed_up_s
        from range({p.visitors}, {p.visitors + n_offline}) as t(i)
        {planted}
    """)


def build_orders(ctx: RunContext) -> None:
    """Paid orders of the members by latent type, their lines and totals."""
    p = ctx.p
    con = ctx.con
    lo_r, hi_r = p.repeat_orders_range
    lo_l, hi_l = p.loyal_orders_range
    loyal_gap = p.mean_days_between_orders["loyal"] * 86400
    repeat_gap = p.mean_days_between_orders["repeat"] * 86400
    con.execute(f"""
        create table orders_truth as
        with counted as (
            select
                *,
                case member_type
                    when 'never' then 0
                    when 'once' then 1
                    when 'repeat'
                        then {lo_r} + floor(u(person_idx, 'n_orders') * {hi_r - lo_r + 1})::int
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
                        then expo(
                            u2(person_idx, o_idx, 'gap'), {p.mean_days_to_first_order * 86400}
                        )
                        else 3600 + expo(
                            u2(person_idx, o_idx, 'gap'),
                            case member_type when 'loyal'
                                then {loyal_gap}
                                else {repeat_gap} end
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
            o_idx = 0 and u(person_idx, 'coupon') < {p.first_purchase_coupon_share}
                as uses_welcome
        from timed
        where ordered_s < {ctx.sec(ctx.w1)}
    """)
    if p.actions:
        # the coupon's first orders and the SMS's orders after the action date (actions.py)
        actions.plant_orders(ctx)
    _build_lines(ctx)
    if p.actions:
        action_outcomes.settle_orders(ctx)
    con.execute("""
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
            case when uses_welcome then round(items_total * 0.1 / 100) * 100 else 0 end
                as coupon_discount,
            items_total,
            line_discount
        from orders_truth join totals using (order_id)
    """)


def _by_type(values: dict[str, float]) -> str:
    """A CASE on member_type for a per-type parameter (loyal, repeat, else once)."""
    return (
        f"case member_type when 'loyal' then {values['loyal']} "
        f"when 'repeat' then {values['repeat']} else {values['once']} end"
    )


def _build_lines(ctx: RunContext) -> None:
    """Order lines: price tier by member type, new releases and discounts, the product."""
    p = ctx.p
    con = ctx.con
    tier = (
        "least(4, greatest(0, round(case member_type "
        f"when 'loyal' then {p.price_tier_bias['loyal']} "
        f"when 'repeat' then {p.price_tier_bias['repeat']} "
        f"else {p.price_tier_bias['once']} end "
        "+ (u2(order_id, line, 't1') + u2(order_id, line, 't2') + u2(order_id, line, 't3')"
        " - 1.5) * 1.6)))::int"
    )
    n_lines = f"1 + least(5, floor(expo(u(order_id, 'lines'), {p.mean_lines_per_order - 1})))::int"
    con.execute(f"""
        create table lines_truth as
        with expanded as (
            select
                orders_truth.*,
                unnest(range({n_lines})) + 1 as line
            from orders_truth
        ),
        picked as (
            select
                *,
                {tier} as price_tier,
                -- the first line of an order the SMS brings is a new release
                (o_idx = {actions.SMS_ORDER_IDX} and line = 1)
                    or u2(order_id, line, 'new') < {_by_type(p.new_release_prob)} as wants_new,
                u2(order_id, line, 'discount') < {_by_type(p.discount_prob)} as is_discounted,
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
                    then pool_old + 1
                        + floor(u2(order_id, line, 'pick') * (pool_now - pool_old))::int
                else 1 + floor(u2(order_id, line, 'pick') * pool_now)::int
            end as tier_rank,
            1 + (u2(order_id, line, 'qty') < 0.1)::int as quantity,
            [0.1, 0.2, 0.3][1 + floor(u2(order_id, line, 'depth') * 3)::int] as discount_depth
        from pooled
    """)
    con.execute("""
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


def build_grade_history(ctx: RunContext) -> None:
    """Grades from cumulative paid spend: WELCOME at sign-up, up as thresholds are passed."""
    ctx.con.execute("""
        create table grade_history_truth as
        with grades as (
            select * from (values
                ('WELCOME', 1, 0), ('SILVER', 2, 300000), ('GOLD', 3, 1000000),
                ('VIP', 4, 3000000)
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
