-- The price segments hold exactly the paid lines they should: every paid line of a known
-- product bought by the as-of date appears once under membership_grade, every such line of a
-- customer once under spend_tier with the customer's monetary score, and no other line
-- appears. Recomputed from fct_order_items, fct_orders and dim_customers with the as-of date,
-- not through int_order_items_paid. Any row returned is a failure.
with

order_items as (
    select * from {{ ref('fct_order_items') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

segment_lines as (
    select * from {{ ref('fct_order_item_segments') }}
),

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

expected as (
    select
        order_items.order_item_id,
        'membership_grade' as segment_type,
        coalesce(order_items.membership_grade_at_order, 'UNKNOWN') as segment
    from order_items
    cross join as_of
    where
        order_items.is_paid
        and order_items.price_tier is not null
        and cast(order_items.ordered_at as date) <= as_of.as_of_date
    union all
    select
        order_items.order_item_id,
        'spend_tier' as segment_type,
        'spend_q' || customers.monetary_score as segment
    from order_items
    cross join as_of
    inner join customers
        on order_items.person_id = customers.person_id
    where
        order_items.is_paid
        and order_items.price_tier is not null
        and cast(order_items.ordered_at as date) <= as_of.as_of_date
),

found as (
    select
        order_item_id,
        segment_type,
        segment
    from segment_lines
),

differences as (
    select
        *,
        'expected_but_missing' as problem
    from (
        select * from expected
        except all
        select * from found
    ) as missing
    union all
    select
        *,
        'present_but_not_expected' as problem
    from (
        select * from found
        except all
        select * from expected
    ) as extra
)

select * from differences
