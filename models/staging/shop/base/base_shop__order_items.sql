-- Every raw order line, typed, with the first rule it breaks (null when none).
with

source as (
    select * from {{ source('shop', 'order_items') }}
),

typed as (
    select
        {{ clean_text('order_id') }} as order_id,
        try_cast(cast(line_number as varchar) as integer) as line_number,
        {{ clean_text('product_id') }} as product_id,
        try_cast(cast(quantity as varchar) as integer) as quantity,
        {{ to_amount('unit_price') }} as unit_price,
        cast(line_number as varchar) as line_number_raw,
        cast(quantity as varchar) as quantity_raw,
        cast(unit_price as varchar) as unit_price_raw,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at
    from source
),

ranked as (
    select
        *,
        row_number() over (
            partition by order_id, line_number
            order by loaded_at desc nulls last, product_id asc
        ) as load_rank
    from typed
),

checked as (
    select
        *,
        case
            when order_id is null then 'missing_order_id'
            when line_number is null or line_number < 1 then 'invalid_line_number'
            when load_rank > 1 then 'duplicate'
            when product_id is null then 'missing_product_id'
            when quantity is null or quantity <= 0 then 'non_positive_quantity'
            when unit_price is null or unit_price <= 0 then 'non_positive_unit_price'
        end as quarantine_rule
    from ranked
)

select * from checked
