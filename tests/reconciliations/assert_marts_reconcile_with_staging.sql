-- The marts lose and invent nothing that staging holds: every staged member is a member of
-- dim_persons and, when the shop exports its members, no other; every staged order is in
-- fct_orders and no other; order lines
-- and their total agree between fct_order_items and staging; and the paid orders summed
-- over dim_persons equal the paid orders of known persons in fct_orders. Moved here from
-- the Great Expectations gate (docs/architecture.md, "Who owns which assertion"). Any row
-- returned is a failure, named by the check it broke.
with

members as (
    select * from {{ ref('stg_shop__members') }}
),

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
),

persons as (
    select * from {{ ref('dim_persons') }}
),

fct_orders as (
    select * from {{ ref('fct_orders') }}
),

fct_order_items as (
    select * from {{ ref('fct_order_items') }}
),

person_members as (
    select member_id from persons
    where is_member
),

member_checks as (
    select
        'staged_members_missing_from_dim_persons' as check_name,
        0 as expected,
        count(*) as actual
    from members
    where member_id not in (select person_members.member_id from person_members)
    union all
    select
        'dim_persons_members_not_staged' as check_name,
        0 as expected,
        count(*) as actual
    from person_members
    where
        member_id not in (select members.member_id from members)
        -- a site without a members export knows its members from sign_up hits only
        and exists (select 1 from members)
),

order_checks as (
    select
        'staged_orders_missing_from_fct_orders' as check_name,
        0 as expected,
        count(*) as actual
    from orders
    where order_id not in (select fct_orders.order_id from fct_orders)
    union all
    select
        'fct_orders_not_staged' as check_name,
        0 as expected,
        count(*) as actual
    from fct_orders
    where order_id not in (select orders.order_id from orders)
),

line_checks as (
    select
        'order_lines_in_fct_order_items' as check_name,
        (select count(*) from order_items) as expected,
        (select count(*) from fct_order_items) as actual
    union all
    select
        'line_total_in_fct_order_items' as check_name,
        (select coalesce(sum(line_total), 0) from order_items) as expected,
        (select coalesce(sum(line_total), 0) from fct_order_items) as actual
),

paid_checks as (
    select
        'paid_orders_in_dim_persons' as check_name,
        (
            select count(*) from fct_orders
            where is_paid and person_id is not null
        ) as expected,
        (select coalesce(sum(paid_order_count), 0) from persons) as actual
    union all
    select
        'paid_order_total_in_dim_persons' as check_name,
        (
            select coalesce(sum(order_total), 0) from fct_orders
            where is_paid and person_id is not null
        ) as expected,
        (select coalesce(sum(paid_order_total), 0) from persons) as actual
),

checks as (
    select * from member_checks
    union all
    select * from order_checks
    union all
    select * from line_checks
    union all
    select * from paid_checks
)

select *
from checks
where expected <> actual
