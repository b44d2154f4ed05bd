-- Raw order rows that broke a rule, with the rule: the values as sent where they could not
-- be read or cleaning changed them, else as read (text). Earlier exports of an order are
-- here with rule `duplicate`. A view over base_shop__orders.
with

orders as (
    select * from {{ ref('base_shop__orders') }}
),

final as (
    select
        quarantine_row_id,
        {{ sent_text('order_id') }} as order_id,
        {{ sent_text('member_id') }} as member_id,
        {{ sent_text('ordered_at') }} as ordered_at,
        {{ sent_text('order_status') }} as status,
        {{ sent_text('currency') }} as currency,
        {{ sent_text('order_total') }} as order_total,
        {{ sent_text('discount_total') }} as discount_total,
        {{ sent_text('coupon_code') }} as coupon_code,
        {{ sent_text('loaded_at') }} as loaded_at,
        quarantine_rule,
        source_file,
        load_date
    from orders
    where quarantine_rule is not null
)

select * from final
