-- Products with their price tier: var price_tier_count quantile bands of list price across
-- the catalogue (tier 1 = cheapest, the top tier = premium).
with

products as (
    select * from {{ ref('stg_shop__products') }}
),

final as (
    select
        product_id,
        product_name,
        category,
        list_price,
        ntile({{ var_integer('price_tier_count') }}) over (order by list_price, product_id) as price_tier,
        is_vip_exclusive,
        released_at
    from products
)

select * from final
