-- Every raw product row, typed, with the first rule it breaks (null when none).
with

source as (
    select * from {{ source('shop', 'products') }}
),

typed as (
    select
        {{ clean_text('product_id') }} as product_id,
        {{ clean_text('product_name') }} as product_name,
        lower({{ clean_text('category') }}) as category,
        {{ to_amount('list_price') }} as list_price,
        coalesce({{ to_boolean('is_vip_exclusive') }}, false) as is_vip_exclusive,
        cast(list_price as varchar) as list_price_raw,
        cast(released_at as varchar) as released_at_raw,
        {{ to_utc_timestamp('released_at') }} as released_at,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at
    from source
),

ranked as (
    select
        *,
        row_number() over (
            partition by product_id
            order by loaded_at desc nulls last, product_name asc
        ) as load_rank
    from typed
),

checked as (
    select
        *,
        case
            when product_id is null then 'missing_product_id'
            when not {{ is_valid_id('product_id') }} then 'malformed_product_id'
            when load_rank > 1 then 'duplicate'
            when list_price is null or list_price <= 0 then 'non_positive_list_price'
            when released_at is null then 'invalid_released_at'
        end as quarantine_rule
    from ranked
)

select * from checked
