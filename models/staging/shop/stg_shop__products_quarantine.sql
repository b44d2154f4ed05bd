-- Raw product rows that broke a rule, as sent (text), with the rule.
with

products as (
    select * from {{ ref('base_shop__products') }}
),

rejected as (
    select
        {{ raw_text('product_id_raw') }} as product_id,
        {{ raw_text('product_name_raw') }} as product_name,
        {{ raw_text('category_raw') }} as category,
        {{ raw_text('list_price_raw') }} as list_price,
        {{ raw_text('released_at_raw') }} as released_at,
        {{ raw_text('is_vip_exclusive_raw') }} as is_vip_exclusive,
        {{ raw_text('loaded_at_raw') }} as loaded_at,
        quarantine_rule
    from products
    where quarantine_rule is not null
),

identified as (
    select
        {{ raw_row_id([
            'product_id', 'product_name', 'category', 'list_price', 'released_at',
            'is_vip_exclusive', 'loaded_at',
        ]) }} as quarantine_row_id,
        *,
        {{ quarantined_at() }} as quarantined_at
    from rejected
)

select * from identified
