-- Every raw order row, typed, with `quarantine_rule`: the first rule it breaks, null when
-- it is clean. An order exported several times keeps its latest clean export (its status
-- may have moved from paid to refunded since); the earlier ones are `duplicate`.
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
        {{ to_amount('discount_total') }} as discount_total,
        {{ to_utc_timestamp('ordered_at') }} as ordered_at,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at,
        order_id as order_id_raw,
        member_id as member_id_raw,
        ordered_at as ordered_at_raw,
        status as status_raw,
        currency as currency_raw,
        order_total as order_total_raw,
        discount_total as discount_total_raw,
        coupon_code as coupon_code_raw,
        loaded_at as loaded_at_raw
    from source
),

row_checked as (
    select
        *,
        case
            when order_id is null then 'missing_order_id'
            when not {{ is_valid_id('order_id') }} then 'malformed_order_id'
            when member_id is not null and not {{ is_valid_id('member_id') }}
                then 'malformed_member_id'
            when order_status is null then 'missing_status'
            when ordered_at is null then 'invalid_ordered_at'
            when loaded_at is null then 'invalid_loaded_at'
            when order_total is null then 'invalid_order_total'
            -- an absent discount is no discount (0 in stg_shop__orders)
            when discount_total is null and {{ clean_text('discount_total_raw') }} is not null
                then 'invalid_discount_total'
            when order_total < 0 then 'negative_order_total'
            when discount_total < 0 then 'negative_discount_total'
        end as row_rule
    from typed
),

{{
    rank_duplicates(
        'order_id',
        'loaded_at desc, order_status asc, order_total asc',
        'load_rank'
    )
}}

select * from checked
