-- Orphan order lines: staged lines whose order is not staged (never sent, or quarantined).
-- They keep their row in fct_order_items, never count as paid and stay out of every price
-- share (see docs block orphan_order_lines). A warning, not an error: the rest of the
-- marts are right; the number of rows returned is the number of orphan lines. Counted from
-- staging directly, not through the has_known_order flag.
{{ config(severity='warn') }}

with

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
),

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

orphans as (
    select
        order_items.order_item_id,
        order_items.order_id,
        'order_not_staged' as problem
    from order_items
    left join orders
        on order_items.order_id = orders.order_id
    where orders.order_id is null
)

select * from orphans
