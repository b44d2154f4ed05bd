-- One row per buying person (at least one paid order up to the as-of date): orders, units,
-- spend, average order value, first and last order, days since the last order, RFM scores
-- (quintiles, 5 = best) and the current membership grade.
with

orders as (
    select * from {{ ref('fct_orders') }}
),

members as (
    select * from {{ ref('stg_shop__members') }}
),

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

customer_orders as (
    select
        orders.person_id,
        any_value(orders.member_id) as member_id,
        count(*) as paid_orders,
        sum(orders.units) as units,
        sum(orders.order_total) as spend,
        min(orders.ordered_at) as first_order_at,
        max(orders.ordered_at) as last_order_at,
        any_value(as_of.as_of_date) as as_of_date
    from orders
    cross join as_of
    where
        orders.is_paid and orders.person_id is not null
        and cast(orders.ordered_at as date) <= as_of.as_of_date
    group by orders.person_id
),

scored as (
    select
        *,
        date_diff('day', cast(last_order_at as date), as_of_date) as days_since_last_order,
        -- recency: fewer days since the last order is better
        ntile(5) over (order by last_order_at, person_id) as recency_score,
        ntile(5) over (order by paid_orders, person_id) as frequency_score,
        ntile(5) over (order by spend, person_id) as monetary_score
    from customer_orders
),

final as (
    select
        cast(scored.person_id as varchar) as person_id,
        cast(scored.member_id as varchar) as member_id,
        cast(members.membership_grade as varchar) as membership_grade,
        cast(members.grade_rank as integer) as grade_rank,
        cast(scored.recency_score as integer) as recency_score,
        cast(scored.frequency_score as integer) as frequency_score,
        cast(scored.monetary_score as integer) as monetary_score,
        cast(
            scored.recency_score::varchar || scored.frequency_score::varchar
            || scored.monetary_score::varchar as varchar
        ) as rfm_cell,
        cast(scored.paid_orders as bigint) as paid_orders,
        cast(scored.units as bigint) as units,
        cast(scored.days_since_last_order as integer) as days_since_last_order,
        cast(scored.spend as decimal(18, 2)) as spend,
        cast(scored.spend / scored.paid_orders as decimal(18, 2)) as average_order_value,
        cast(scored.as_of_date as date) as as_of_date,
        cast(scored.first_order_at as timestamp) as first_order_at,
        cast(scored.last_order_at as timestamp) as last_order_at
    from scored
    left join members
        on scored.member_id = members.member_id
)

select * from final
