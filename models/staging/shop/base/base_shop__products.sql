-- Every raw product row, typed, with `quarantine_rule`: the first rule it breaks, null when
-- it is clean. A product sent twice keeps its latest clean load; the others are
-- `duplicate`.
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
        {{ to_boolean('is_vip_exclusive') }} as is_vip_exclusive,
        {{ to_utc_timestamp('released_at') }} as released_at,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at,
        product_id as product_id_raw,
        product_name as product_name_raw,
        category as category_raw,
        list_price as list_price_raw,
        released_at as released_at_raw,
        is_vip_exclusive as is_vip_exclusive_raw,
        loaded_at as loaded_at_raw
    from source
),

row_checked as (
    select
        *,
        case
            when product_id is null then 'missing_product_id'
            when not {{ is_valid_id('product_id') }} then 'malformed_product_id'
            when loaded_at is null then 'invalid_loaded_at'
            when list_price is null then 'invalid_list_price'
            when list_price <= 0 then 'non_positive_list_price'
            when released_at is null then 'invalid_released_at'
            -- an absent flag means not exclusive (false in stg_shop__products)
            when is_vip_exclusive is null and {{ clean_text('is_vip_exclusive_raw') }} is not null
                then 'invalid_is_vip_exclusive'
        end as row_rule
    from typed
),

{{
    rank_duplicates(
        'product_id',
        'loaded_at desc, product_name asc nulls last, list_price asc',
        'load_rank'
    )
}}

select * from checked
