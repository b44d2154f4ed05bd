-- One row per staged order line, with its product's list price and price tier, whether it
-- was bought as a new release or discounted (computed once, in int_order_items_classified),
-- and the membership grade held when ordering (fct_orders). Orphan lines keep their row:
-- has_known_order false (never paid) or has_known_product false (no price tier).
with

order_items as (
    select * from {{ ref('int_order_items_classified') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

final as (
    select
        cast(order_items.order_item_id as string) as order_item_id,
        cast(order_items.order_id as string) as order_id,
        cast(order_items.person_id as string) as person_id,
        cast(order_items.product_id as string) as product_id,
        cast(order_items.category as string) as category,
        cast(orders.membership_grade_at_order as string) as membership_grade_at_order,
        cast(orders.grade_rank_at_order as integer) as grade_rank_at_order,
        cast(order_items.price_tier as integer) as price_tier,
        cast(order_items.quantity as bigint) as quantity,
        cast(order_items.unit_price as decimal(18, 2)) as unit_price,
        cast(order_items.list_price as decimal(18, 2)) as list_price,
        cast(order_items.line_total as decimal(18, 2)) as line_total,
        cast(order_items.is_new_release as boolean) as is_new_release,
        cast(order_items.is_discounted as boolean) as is_discounted,
        cast(order_items.is_vip_exclusive as boolean) as is_vip_exclusive,
        cast(order_items.is_paid as boolean) as is_paid,
        cast(order_items.has_known_order as boolean) as has_known_order,
        cast(order_items.has_known_product as boolean) as has_known_product,
        cast(order_items.ordered_at as timestamp) as ordered_at
    from order_items
    left join orders
        on order_items.order_id = orders.order_id
)

select * from final
