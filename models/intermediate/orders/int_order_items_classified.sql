-- Every staged order line with its order (person, paid or not, coupon, when) and its product
-- (category, list price, price tier, release, VIP-exclusive), and the line rules applied once:
-- new release and discounted (macros is_new_release, is_discounted). Orphans are kept, flagged:
-- a line whose order is not in staging (never sent, or quarantined) has has_known_order false
-- and is never paid (its order's status is unknown); a line of a product missing from the
-- catalogue has has_known_product false and no price tier. Test assert_order_lines_have_an_order
-- and assert_order_lines_have_a_known_product count both with a warning.
with

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
),

orders as (
    select * from {{ ref('int_orders_attributed') }}
),

products as (
    select * from {{ ref('int_products_priced') }}
),

joined as (
    select
        order_items.order_item_id,
        order_items.order_id,
        orders.person_id,
        orders.member_id,
        order_items.product_id,
        products.category,
        orders.coupon_code,
        products.price_tier,
        order_items.quantity,
        order_items.unit_price,
        products.list_price,
        order_items.line_total,
        orders.order_id is not null as has_known_order,
        products.product_id is not null as has_known_product,
        coalesce(orders.is_paid, false) as is_paid,
        coalesce(products.is_vip_exclusive, false) as is_vip_exclusive,
        orders.ordered_at,
        products.released_at
    from order_items
    left join orders
        on order_items.order_id = orders.order_id
    left join products
        on order_items.product_id = products.product_id
),

final as (
    select
        order_item_id,
        order_id,
        person_id,
        member_id,
        product_id,
        category,
        coupon_code,
        price_tier,
        quantity,
        unit_price,
        list_price,
        line_total,
        has_known_order,
        has_known_product,
        is_paid,
        {{ is_new_release('ordered_at', 'released_at') }} as is_new_release,
        {{ is_discounted('unit_price', 'list_price', 'coupon_code') }} as is_discounted,
        is_vip_exclusive,
        ordered_at
    from joined
)

select * from final
