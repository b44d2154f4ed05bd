-- Order lines of products missing from the catalogue (stg_shop__products). They keep their
-- row in fct_order_items (has_known_product false, no price tier), count as paid units, and
-- stay out of every price share (see docs block orphan_order_lines). A warning, not an
-- error: the number of rows returned is the number of such lines. Counted from staging
-- directly, not through the has_known_product flag.
{{ config(severity='warn') }}

with

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
),

products as (
    select * from {{ ref('stg_shop__products') }}
),

unknown_product_lines as (
    select
        order_items.order_item_id,
        order_items.product_id,
        'product_not_in_catalogue' as problem
    from order_items
    left join products
        on order_items.product_id = products.product_id
    where products.product_id is null
)

select * from unknown_product_lines
