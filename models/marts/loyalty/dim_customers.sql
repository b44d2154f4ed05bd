-- One row per buying person (at least one paid order by the as-of date, macro
-- is_by_as_of_date): paid orders and their total, units, average order value, first and last
-- order, days since the last order, RFM scores (var customer_score_tiers quantile bands, the
-- top band = best) and the current membership grade. The one home of "who has bought by the
-- as-of date" (aud_first_purchase_coupon reads it).
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

paid_orders as (
    select
        orders.*,
        as_of.as_of_date
    from orders
    cross join as_of
    where
        orders.is_paid
        and orders.person_id is not null
        and {{ is_by_as_of_date('orders.ordered_at', 'as_of.as_of_date') }}
),

customer_orders as (
    select
        person_id,
        -- one member per person (null for none): max is that value
        max(member_id) as member_id,
        count(*) as paid_order_count,
        sum(units) as units,
        sum(order_total) as paid_order_total,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at,
        max(as_of_date) as as_of_date
    from paid_orders
    group by person_id
),

scored as (
    select
        *,
        {{ dbt.datediff('cast(last_order_at as date)', 'as_of_date', 'day') }}
            as days_since_last_order,
        -- recency: a later last order is better
        ntile({{ var_integer('customer_score_tiers') }}) over (order by last_order_at, person_id)
            as recency_score,
        ntile({{ var_integer('customer_score_tiers') }}) over (order by paid_order_count, person_id)
            as frequency_score,
        ntile({{ var_integer('customer_score_tiers') }}) over (order by paid_order_total, person_id)
            as monetary_score
    from customer_orders
),

final as (
    select
        cast(scored.person_id as string) as person_id,
        cast(scored.member_id as string) as member_id,
        cast(members.membership_grade as string) as membership_grade,
        cast(members.grade_rank as integer) as grade_rank,
        cast(scored.recency_score as integer) as recency_score,
        cast(scored.frequency_score as integer) as frequency_score,
        cast(scored.monetary_score as integer) as monetary_score,
        cast(
            cast(scored.recency_score as string) || cast(scored.frequency_score as string)
            || cast(scored.monetary_score as string) as string
        ) as rfm_cell,
        cast(scored.paid_order_count as bigint) as paid_order_count,
        cast(scored.units as bigint) as units,
        cast(scored.days_since_last_order as integer) as days_since_last_order,
        cast(scored.paid_order_total as decimal(18, 2)) as paid_order_total,
        cast(scored.paid_order_total / scored.paid_order_count as decimal(18, 2))
            as average_order_value,
        cast(scored.as_of_date as date) as as_of_date,
        cast(scored.first_order_at as timestamp) as first_order_at,
        cast(scored.last_order_at as timestamp) as last_order_at
    from scored
    left join members
        on scored.member_id = members.member_id
)

select * from final
