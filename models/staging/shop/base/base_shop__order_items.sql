-- Every raw order line, typed, with `quarantine_rule`: the first rule it breaks, null when
-- it is clean. A line (order_id, line_number) sent twice keeps its latest clean load, like
-- its order; the others are `duplicate`.
with

source as (
    select * from {{ source('shop', 'order_items') }}
),

typed as (
    select
        {{ clean_text('order_id') }} as order_id,
        {{ to_integer('line_number') }} as line_number,
        {{ clean_text('product_id') }} as product_id,
        {{ to_integer('quantity') }} as quantity,
        {{ to_amount('unit_price') }} as unit_price,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at,
        order_id as order_id_raw,
        line_number as line_number_raw,
        product_id as product_id_raw,
        quantity as quantity_raw,
        unit_price as unit_price_raw,
        loaded_at as loaded_at_raw
    from source
),

row_checked as (
    select
        *,
        case
            when order_id is null then 'missing_order_id'
            when not {{ is_valid_id('order_id') }} then 'malformed_order_id'
            when line_number is null or line_number < 1 then 'invalid_line_number'
            when product_id is null then 'missing_product_id'
            when not {{ is_valid_id('product_id') }} then 'malformed_product_id'
            when loaded_at is null then 'invalid_loaded_at'
            when quantity is null then 'invalid_quantity'
            when quantity <= 0 then 'non_positive_quantity'
            when unit_price is null then 'invalid_unit_price'
            when unit_price <= 0 then 'non_positive_unit_price'
        end as row_rule
    from typed
),

{{
    rank_duplicates(
        'order_id, line_number',
        'loaded_at desc, product_id asc, quantity asc, unit_price asc',
        'load_rank'
    )
}}

select * from checked
