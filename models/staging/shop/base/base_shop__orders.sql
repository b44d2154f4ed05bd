-- Every raw order row, typed, with the first rule it breaks (null when none). An order
-- exported several times keeps its latest load (its status may have changed since).
with

source as (
    select * from {{ source('shop', 'orders') }}
),

typed as (
    select
        {{ clean_text('order_id') }} as order_id,
        {{ clean_text('member_id') }} as member_id,
        lower({{ clean_text('status') }}) as order_status,
        upper({{ clean_text('currency') }}) as currency,
        {{ clean_text('coupon_code') }} as coupon_code,
        {{ to_amount('order_total') }} as order_total,
        coalesce({{ to_amount('discount_total') }}, 0) as discount_total,
        cast(order_total as varchar) as order_total_raw,
        cast(ordered_at as varchar) as ordered_at_raw,
        {{ to_utc_timestamp('ordered_at') }} as ordered_at,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at
    from source
),

ranked as (
    select
        *,
        row_number() over (
            partition by order_id
            order by loaded_at desc nulls last, order_status asc
        ) as load_rank
    from typed
),

checked as (
    select
        *,
        case
            when order_id is null then 'missing_order_id'
            when not {{ is_valid_id('order_id') }} then 'malformed_order_id'
            when load_rank > 1 then 'duplicate'
            when member_id is not null and not {{ is_valid_id('member_id') }}
                then 'malformed_member_id'
            when order_status is null then 'missing_status'
            when ordered_at is null then 'invalid_ordered_at'
            when order_total is null then 'invalid_order_total'
            when order_total < 0 or discount_total < 0 then 'negative_amount'
        end as quarantine_rule
    from ranked
)

select * from checked
