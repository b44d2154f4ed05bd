-- One row per order: the person, whether it counts as paid, totals, the coupon, the
-- order's place among the person's paid orders and the membership grade the member held
-- when ordering (point in time, from the grade history).
with

orders as (
    select * from {{ ref('int_orders_attributed') }}
),

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
),

grade_history as (
    select * from {{ ref('stg_shop__member_grade_history') }}
),

item_totals as (
    select
        order_id,
        count(*) as line_count,
        sum(quantity) as units
    from order_items
    group by order_id
),

graded as (
    select
        orders.order_id,
        grade_history.membership_grade,
        grade_history.grade_rank
    from orders
    inner join grade_history
        on
            orders.member_id = grade_history.member_id
            and orders.ordered_at >= grade_history.valid_from
            and (grade_history.valid_to is null or orders.ordered_at < grade_history.valid_to)
),

final as (
    select
        cast(orders.order_id as string) as order_id,
        cast(orders.person_id as string) as person_id,
        cast(orders.member_id as string) as member_id,
        cast(orders.order_status as string) as order_status,
        cast(orders.currency as string) as currency,
        cast(orders.coupon_code as string) as coupon_code,
        cast(graded.membership_grade as string) as membership_grade_at_order,
        cast(graded.grade_rank as integer) as grade_rank_at_order,
        cast(orders.paid_order_sequence as bigint) as paid_order_sequence,
        cast(coalesce(item_totals.line_count, 0) as bigint) as line_count,
        cast(coalesce(item_totals.units, 0) as bigint) as units,
        cast(orders.order_total as decimal(18, 2)) as order_total,
        cast(orders.discount_total as decimal(18, 2)) as discount_total,
        cast(orders.is_paid as boolean) as is_paid,
        cast(orders.is_test_order as boolean) as is_test_order,
        cast(orders.has_known_member as boolean) as has_known_member,
        cast(orders.is_first_purchase_coupon as boolean) as is_first_purchase_coupon,
        cast(orders.ordered_at as date) as ordered_date,
        cast(orders.ordered_at as timestamp) as ordered_at
    from orders
    left join item_totals
        on orders.order_id = item_totals.order_id
    left join graded
        on orders.order_id = graded.order_id
)

select * from final
