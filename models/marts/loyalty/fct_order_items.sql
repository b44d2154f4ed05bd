-- One row per order line, with the product's list price and price tier, and whether it was
-- bought as a new release and whether it was bought discounted (the rules: macros
-- is_new_release and is_discounted in macros/loyalty/).
with

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

products as (
    select * from {{ ref('int_products_priced') }}
),

final as (
    select
        cast(order_items.order_item_id as varchar) as order_item_id,
        cast(order_items.order_id as varchar) as order_id,
        cast(orders.person_id as varchar) as person_id,
        cast(order_items.product_id as varchar) as product_id,
        cast(products.category as varchar) as category,
        cast(orders.membership_grade_at_order as varchar) as membership_grade_at_order,
        cast(orders.grade_rank_at_order as integer) as grade_rank_at_order,
        cast(products.price_tier as integer) as price_tier,
        cast(order_items.quantity as bigint) as quantity,
        cast(order_items.unit_price as decimal(18, 2)) as unit_price,
        cast(products.list_price as decimal(18, 2)) as list_price,
        cast(order_items.line_total as decimal(18, 2)) as line_total,
        cast(
            {{ is_new_release('orders.ordered_at', 'products.released_at') }} as boolean
        ) as is_new_release,
        cast(
            {{ is_discounted('order_items.unit_price', 'products.list_price', 'orders.coupon_code') }}
            as boolean
        ) as is_discounted,
        cast(coalesce(products.is_vip_exclusive, false) as boolean) as is_vip_exclusive,
        cast(coalesce(orders.is_paid, false) as boolean) as is_paid,
        cast(orders.ordered_at as timestamp) as ordered_at
    from order_items
    -- a line whose order was quarantined keeps its row, with is_paid false
    left join orders
        on order_items.order_id = orders.order_id
    left join products
        on order_items.product_id = products.product_id
)

select * from final
