-- The product catalogue: one row per product_id (latest clean load).
with

products as (
    select * from {{ ref('base_shop__products') }}
),

final as (
    select
        product_id,
        product_name,
        category,
        list_price,
        coalesce(is_vip_exclusive, false) as is_vip_exclusive,
        source_file,
        load_date,
        released_at,
        loaded_at
    from products
    where quarantine_rule is null
)

select * from final
