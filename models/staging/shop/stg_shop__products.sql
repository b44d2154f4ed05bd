-- The product catalogue: one row per product_id (latest export).
with

products as (
    select * from {{ ref('base_shop__products') }}
    where quarantine_rule is null
),

final as (
    select
        product_id,
        product_name,
        category,
        list_price,
        is_vip_exclusive,
        released_at
    from products
)

select * from final
