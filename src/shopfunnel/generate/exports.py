"""The shop's exports besides events: products, members, grade history, orders, lines.

Each ``write_*`` writes one table from the truth tables of ``shop.py`` (and, with dirt on,
adds the export dirt: duplicate exports, orders that were never paid, bad prices).
"""

from __future__ import annotations

from shopfunnel.generate import action_outcomes
from shopfunnel.generate.context import RunContext
from shopfunnel.generate.loads import copy_options, delivered_sql, export_loaded_at, record_stats
from shopfunnel.sqltext import sql_string


def write_table(ctx: RunContext, table: str, query: str, part: str, order_by: str) -> int:
    """Write one part file of a table (one per load in the daily layout), rows sorted by
    `order_by`; return the row count."""
    folder = ctx.out / table
    folder.mkdir(parents=True, exist_ok=True)
    if ctx.daily:
        delivered = f"select * from ({delivered_sql(ctx, query)}) order by {order_by}"
        stats = ctx.con.execute(
            f"copy ({delivered}) to {sql_string(folder)} ({copy_options(ctx, part)})"
        ).fetchall()
        return record_stats(ctx, table, stats)
    path = folder / f"part-{part}.{ctx.fmt}"
    ordered = f"select * from ({query}) order by {order_by}"
    written = ctx.con.execute(f"copy ({ordered}) to {sql_string(path)} ({ctx.options})").fetchall()
    ctx.files[table].append(str(path.relative_to(ctx.out)))
    return int(written[0][0])


def _order_loaded_at(ctx: RunContext) -> str:
    """Orders are loaded within the hour (flat: by the export at the end at the latest)."""
    if ctx.daily:
        return export_loaded_at(ctx, "ordered_s")
    return f"ts(least(ordered_s + 3600, {ctx.sec(ctx.export_at)}))"


def products_sql(ctx: RunContext) -> str:
    released_s = f"(epoch(released_at) - {ctx.h0.timestamp()!r})"
    return f"""
        select
            product_id,
            upper(category[1]) || category[2:] || ' item ' || product_id as product_name,
            category,
            list_price::decimal(18, 2) as list_price,
            released_at,
            is_vip_exclusive,
            {export_loaded_at(ctx, released_s)} as loaded_at
        from products
    """


def members_sql(ctx: RunContext) -> str:
    """One row per member with the grade in force at the export. Daily layout: the grade
    at the end of the first load, then a row re-exported at every later grade change."""
    p = ctx.p
    if ctx.daily:
        first_end = ctx.sec(ctx.first_load_end)
        states = f"""(
            select * from grade_history_truth where valid_from_s < {first_end!r}
            qualify row_number() over (partition by member_id order by valid_from_s desc) = 1
            union all
            select * from grade_history_truth where valid_from_s >= {first_end!r}
        )"""
        join = "join"
        loaded_at = export_loaded_at(ctx, "greatest(signed_up_s, current.valid_from_s)")
        # made after the window: not delivered yet
        where = f"where greatest(signed_up_s, current.valid_from_s) < {ctx.sec(ctx.w1)!r}"
    else:
        states = """(
            select * from grade_history_truth
            qualify row_number() over (partition by member_id order by valid_from_s desc) = 1
        )"""
        join = "left join"
        loaded_at = f"ts({ctx.sec(ctx.export_at)})"
        where = ""
    phone_a = "lpad((person_idx % 10000)::varchar, 4, '0')"
    phone_b = "lpad((person_idx // 10000 % 10000)::varchar, 4, '0')"
    return f"""
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
                then '010' || {phone_a} || {phone_b}
                else '010-' || {phone_a} || '-' || {phone_b}
            end as phone,
            ts(greatest(signed_up_s, coalesce(current.valid_from_s, 0))) as updated_at,
            {loaded_at} as loaded_at
        from members_truth
        {join} {states} as current using (member_id)
        {where}
    """


def write_members(ctx: RunContext) -> int:
    p = ctx.p
    query = members_sql(ctx)
    # flat: an export a month older; daily: an older copy in the same load
    loaded_shift = "" if ctx.daily else " - interval 30 day"
    if p.dirt:
        ctx.con.execute(f"create table members_out as {query}")
        ctx.con.execute(f"""
            create table members_dup as
            select
                member_id, signed_up_at, 'WELCOME' as membership_grade, sms_opt_in,
                marketing_opt_in, email, phone,
                updated_at - interval 30 day as updated_at,
                loaded_at{loaded_shift} as loaded_at
            from members_out
            where u(member_id, 'dup_export') < {p.duplicate_member_export_rate}
            {_first_export_only(ctx)}
        """)
        ctx.dirt["duplicate_member_exports"] = ctx.count("members_dup")
        query = "select * from members_out union all select * from members_dup"
    return write_table(ctx, "members", query, "00000", "member_id, updated_at")


def _first_export_only(ctx: RunContext) -> str:
    """Daily layout: the duplicate is an older copy of a member's first export, delivered
    in the same load."""
    if not ctx.daily:
        return ""
    return "qualify row_number() over (partition by member_id order by updated_at) = 1"


def grade_history_sql(ctx: RunContext) -> str:
    if ctx.daily:
        loaded_at = export_loaded_at(ctx, "valid_from_s")
    else:
        loaded_at = f"ts({ctx.sec(ctx.export_at)})"
    return f"""
        select member_id, grade_code as membership_grade, ts(valid_from_s) as valid_from,
            {loaded_at} as loaded_at
        from grade_history_truth
    """


def build_order_exports(ctx: RunContext) -> None:
    """Tables ``orders_out`` and ``items_out``: paid orders, guests and (dirt) the rest."""
    p = ctx.p
    con = ctx.con
    con.execute(f"""
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
            {_order_loaded_at(ctx)} as loaded_at
        from orders_truth
    """)
    con.execute("""
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
    # the orders of the actions (after the action date) do not change the shop before it
    guests = round(p.guest_checkout_share * (ctx.count("orders_out") - ctx.action_orders))
    ctx.realized_guest_orders = guests
    _extra_orders(ctx, "guest", guests, "paid", "null")
    if p.dirt:
        _order_dirt(ctx)


def _order_dirt(ctx: RunContext) -> None:
    p = ctx.p
    con = ctx.con
    paid = ctx.count("orders_truth") - ctx.action_orders
    for kind, rate, status in (
        ("cancelled_orders", p.cancelled_order_rate, "cancelled"),
        ("refunded_orders", p.refunded_order_rate, "refunded"),
        ("test_orders", p.test_order_rate, "test"),
    ):
        n = round(rate * paid)
        _extra_orders(ctx, kind, n, status, "extra.member_id")
        ctx.dirt[kind] = n
    n = round(p.unknown_member_order_rate * paid)
    _extra_orders(ctx, "unknown_member", n, "paid", "'M9' || lpad(i::varchar, 7, '0')")
    ctx.dirt["unknown_member_orders"] = n
    # bad prices: an extra line with a zero or negative price on cancelled/test orders
    con.execute(f"""
        insert into items_out
        select
            order_id, 2 as line_number, 'P00001' as product_id, 1 as quantity,
            (case when u(order_id, 'neg') < 0.5 then 0 else -1000 end)::decimal(18, 2),
            loaded_at
        from orders_out
        where (order_id like 'Ocancelled%' or order_id like 'Otest%')
          and u(order_id, 'bad_price') < {min(1.0, p.bad_price_line_rate * 50)}
    """)
    ctx.dirt["non_positive_unit_price_lines"] = con.execute(
        "select count(*) from items_out where unit_price <= 0"
    ).fetchall()[0][0]
    # the same order exported twice: the earlier export is the duplicate (daily layout:
    # the same row re-delivered in the next load)
    shift = "+" if ctx.daily else "-"
    # daily: a copy due after the window is not delivered
    in_window = f"and loaded_at + interval 1 day < ts({ctx.sec(ctx.w1)!r})" if ctx.daily else ""
    con.execute(f"""
        create table orders_dup as
        select * exclude (loaded_at), loaded_at {shift} interval 1 day as loaded_at
        from orders_out
        where status = 'paid' and u(order_id, 'dup') < {p.duplicate_order_export_rate}
            {in_window}
    """)
    ctx.dirt["duplicate_order_exports"] = ctx.count("orders_dup")
    con.execute("insert into orders_out select * from orders_dup")


def _extra_orders(ctx: RunContext, kind: str, n: int, status: str, member_expr: str) -> None:
    """n extra orders (with one line each) on random members, for guests and dirt."""
    if n <= 0:
        return
    con = ctx.con
    p = ctx.p
    # the members of the actions (after the action date) do not change the shop before it
    members = action_outcomes.baseline_members_sql() if p.actions else "members_truth"
    con.execute(
        "create table if not exists members_indexed as select member_id, "
        f"row_number() over (order by member_id) as rn from {members}"
    )
    span = (p.history_days + p.days) * 86400
    con.execute(f"""
        create or replace table extra as
        select
            i,
            'O{kind}' || lpad(i::varchar, 7, '0') as order_id,
            members_indexed.member_id,
            {ctx.sec(ctx.h0)} + u(i, '{kind}_at') * {span} as ordered_s,
            1 + floor(u(i, '{kind}_product') * {p.products})::int as product_idx
        from range({n}) as t(i)
        join members_indexed
            on members_indexed.rn
                = 1 + floor(u(i, '{kind}_member') * {ctx.count("members_indexed")})::int
    """)
    con.execute(f"""
        insert into orders_out
        select
            extra.order_id,
            {member_expr},
            ts(ordered_s),
            '{status}',
            'KRW',
            products.list_price::decimal(18, 2),
            0::decimal(18, 2),
            null,
            {_order_loaded_at(ctx)}
        from extra join products on products.product_idx = extra.product_idx - 1
    """)
    con.execute(f"""
        insert into items_out
        select extra.order_id, 1, products.product_id, 1, products.list_price::decimal(18, 2),
            {_order_loaded_at(ctx)}
        from extra join products on products.product_idx = extra.product_idx - 1
    """)
