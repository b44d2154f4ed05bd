-- Orders: one row per order_id (latest export). `is_paid` is the one rule for revenue.
with

orders as (
    select * from {{ ref('base_shop__orders') }}
    where quarantine_rule is null
),

final as (
    select
        order_id,
        member_id,
        order_status,
        currency,
        coupon_code,
        order_total,
        discount_total,
        order_status = 'test' as is_test_order,
        {{ is_paid_order('order_status') }} as is_paid,
        ordered_at,
        loaded_at
    from orders
)

select * from final
