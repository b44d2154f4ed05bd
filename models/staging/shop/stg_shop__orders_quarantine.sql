-- Raw order rows that broke a rule, as sent (text), with the rule; earlier exports of an
-- order are here with rule `duplicate`.
with

orders as (
    select * from {{ ref('base_shop__orders') }}
),

rejected as (
    select
        {{ raw_text('order_id_raw') }} as order_id,
        {{ raw_text('member_id_raw') }} as member_id,
        {{ raw_text('ordered_at_raw') }} as ordered_at,
        {{ raw_text('status_raw') }} as status,
        {{ raw_text('currency_raw') }} as currency,
        {{ raw_text('order_total_raw') }} as order_total,
        {{ raw_text('discount_total_raw') }} as discount_total,
        {{ raw_text('coupon_code_raw') }} as coupon_code,
        {{ raw_text('loaded_at_raw') }} as loaded_at,
        quarantine_rule
    from orders
    where quarantine_rule is not null
),

identified as (
    select
        {{ raw_row_id([
            'order_id', 'member_id', 'ordered_at', 'status', 'currency', 'order_total',
            'discount_total', 'coupon_code', 'loaded_at',
        ]) }} as quarantine_row_id,
        *,
        {{ quarantined_at() }} as quarantined_at
    from rejected
)

select * from identified
