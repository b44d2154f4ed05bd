-- The segments of the price reports (rpt_vip_price_affinity, rpt_vip_price_tier_mix), one
-- definition for both: one row per paid order line bought by the as-of date
-- (int_order_items_paid) of a known product (a line of an unknown product has no price tier,
-- so it stays out of every price share), once per segment type:
--   membership_grade: the grade held when ordering (fct_orders), UNKNOWN (rank 0) without
--     one (guests, unknown members, orders before any grade period). Every line once, so
--     these rows are also the overall mix;
--   spend_tier: the customer's monetary score in dim_customers (spend_q1 .. spend_qN); lines
--     of guests have no customer and no spend tier.
with

order_items as (
    select * from {{ ref('int_order_items_paid') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

priced_lines as (
    select
        order_items.order_item_id,
        order_items.person_id,
        order_items.price_tier,
        order_items.quantity,
        order_items.unit_price,
        order_items.is_vip_exclusive,
        orders.membership_grade_at_order,
        orders.grade_rank_at_order,
        order_items.ordered_at
    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
    where
        order_items.is_by_as_of_date
        and order_items.has_known_product
),

by_grade as (
    select
        order_item_id,
        person_id,
        'membership_grade' as segment_type,
        coalesce(membership_grade_at_order, 'UNKNOWN') as segment,
        coalesce(grade_rank_at_order, 0) as segment_rank,
        price_tier,
        quantity,
        unit_price,
        is_vip_exclusive,
        ordered_at
    from priced_lines
),

by_spend_tier as (
    select
        priced_lines.order_item_id,
        priced_lines.person_id,
        'spend_tier' as segment_type,
        'spend_q' || customers.monetary_score as segment,
        customers.monetary_score as segment_rank,
        priced_lines.price_tier,
        priced_lines.quantity,
        priced_lines.unit_price,
        priced_lines.is_vip_exclusive,
        priced_lines.ordered_at
    from priced_lines
    inner join customers
        on priced_lines.person_id = customers.person_id
),

segmented as (
    select * from by_grade
    union all
    select * from by_spend_tier
),

final as (
    select
        cast({{ composite_key(['order_item_id', 'segment_type']) }} as string)
            as order_item_segment_id,
        cast(order_item_id as string) as order_item_id,
        cast(person_id as string) as person_id,
        cast(segment_type as string) as segment_type,
        cast(segment as string) as segment,
        cast(segment_rank as integer) as segment_rank,
        cast(price_tier as integer) as price_tier,
        cast(quantity as bigint) as quantity,
        cast(unit_price as decimal(18, 2)) as unit_price,
        cast(is_vip_exclusive as boolean) as is_vip_exclusive,
        cast(ordered_at as timestamp) as ordered_at
    from segmented
)

select * from final
