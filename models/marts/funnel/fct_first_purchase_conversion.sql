-- Members by sign-up date: how many made a first paid order within the short and long
-- windows (vars first_purchase_short_window_days / first_purchase_long_window_days, 7 and
-- 30), the median days to the first purchase (of those who bought), and how many first
-- orders used a first-purchase coupon (var first_purchase_coupon_regex). A window boundary
-- counts: a first order exactly 7 days after the sign-up is within 7 days.
with

milestones as (
    select * from {{ ref('int_milestones_pivoted_to_persons') }}
),

orders as (
    select * from {{ ref('int_orders_attributed') }}
),

analysis_window as (
    select * from {{ ref('int_analysis_window') }}
),

first_orders as (
    select
        person_id,
        is_first_purchase_coupon
    from orders
    where paid_order_sequence = 1
),

members as (
    select
        milestones.person_id,
        cast(milestones.signed_up_at as date) as signup_date,
        -- an order stamped before the sign-up counts as day 0, as in the stage transitions
        -- (greatest() skips nulls on DuckDB, so members who never bought stay null by case)
        case
            when milestones.first_order_at < milestones.signed_up_at then 0.0
            else {{ days_between('milestones.signed_up_at', 'milestones.first_order_at') }}
        end as days_to_first_purchase,
        first_orders.is_first_purchase_coupon
    from milestones
    left join first_orders
        on milestones.person_id = first_orders.person_id
    where milestones.signed_up_at is not null
),

cohorts as (
    select
        members.signup_date,
        count(*) as members,
        count(*) filter (
            where members.days_to_first_purchase between 0 and {{ var_integer(
                'first_purchase_short_window_days'
            ) }}
        ) as buyers_short_window,
        count(*) filter (
            where members.days_to_first_purchase between 0 and {{ var_integer(
                'first_purchase_long_window_days'
            ) }}
        ) as buyers_long_window,
        count(*) filter (where members.days_to_first_purchase is not null) as buyers_ever,
        median(members.days_to_first_purchase) as median_days_to_first_purchase,
        count(*) filter (where members.is_first_purchase_coupon) as first_orders_with_coupon,
        -- the same for every member of the sign-up date
        max(
            {{ add_days('members.signup_date', var_integer('first_purchase_long_window_days')) }}
            <= analysis_window.data_end_date
        ) as is_window_complete
    from members
    cross join analysis_window
    group by 1
),

final as (
    select
        cast(signup_date as date) as signup_date,
        cast(members as bigint) as members,
        cast({{ var_integer('first_purchase_short_window_days') }} as integer) as short_window_days,
        cast({{ var_integer('first_purchase_long_window_days') }} as integer) as long_window_days,
        cast(buyers_short_window as bigint) as buyers_short_window,
        cast(buyers_long_window as bigint) as buyers_long_window,
        cast(buyers_ever as bigint) as buyers_ever,
        cast(first_orders_with_coupon as bigint) as first_orders_with_coupon,
        cast({{ safe_ratio('buyers_short_window', 'members') }} as double)
            as first_purchase_rate_short_window,
        cast({{ safe_ratio('buyers_long_window', 'members') }} as double)
            as first_purchase_rate_long_window,
        cast({{ safe_ratio('first_orders_with_coupon', 'buyers_ever') }} as double)
            as first_purchase_coupon_share,
        cast(median_days_to_first_purchase as double) as median_days_to_first_purchase,
        cast(is_window_complete as boolean) as is_window_complete
    from cohorts
)

select * from final
