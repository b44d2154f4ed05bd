-- Orders: one row per order_id (its latest clean export). `is_paid` is the project's one
-- rule for revenue (macro is_paid_order); every later layer reads this column.
with

orders as (
    select * from {{ ref('base_shop__orders') }}
),

final as (
    select
        order_id,
        member_id,
        order_status,
        currency,
        coupon_code,
        order_total,
        coalesce(discount_total, 0) as discount_total,
        {{ is_test_order('order_status') }} as is_test_order,
        {{ is_paid_order('order_status') }} as is_paid,
        source_file,
        load_date,
        ordered_at,
        loaded_at
    from orders
    where quarantine_rule is null
)

select * from final
