-- Did the action work? For each audience and as-of date, the target conversion within var
-- lift_window_days after the as-of date, exported persons against the holdout: sign-up for
-- retargeting, first paid order for the coupon, a paid new-release purchase for the SMS.
-- Rates, lift (exported / holdout) and a pooled two-proportion z-test. Needs an as-of date
-- with data after it (var audience_as_of_date): with the default (the last day of data)
-- the window is empty and has_complete_window is false.
with

retargeting as (
    select * from {{ ref('aud_signup_retargeting') }}
),

coupon as (
    select * from {{ ref('aud_first_purchase_coupon') }}
),

sms as (
    select * from {{ ref('aud_vip_new_release_sms') }}
),

persons as (
    select * from {{ ref('dim_persons') }}
),

order_items as (
    select * from {{ ref('fct_order_items') }}
),

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

audience_members as (
    select
        person_id,
        audience_name,
        is_holdout,
        as_of_date
    from retargeting
    union all
    select
        person_id,
        audience_name,
        is_holdout,
        as_of_date
    from coupon
    union all
    select
        person_id,
        audience_name,
        is_holdout,
        as_of_date
    from sms
),

new_release_buyers as (
    select
        order_items.person_id,
        min(order_items.ordered_at) as first_new_release_at
    from order_items
    cross join as_of
    where
        order_items.is_paid and order_items.is_new_release
        and cast(order_items.ordered_at as date) > as_of.as_of_date
    group by order_items.person_id
),

outcomes as (
    select
        audience_members.*,
        case audience_members.audience_name
            when 'aud_signup_retargeting' then persons.signed_up_at
            when 'aud_first_purchase_coupon' then persons.first_order_at
            when 'aud_vip_new_release_sms' then new_release_buyers.first_new_release_at
        end as converted_at
    from audience_members
    left join persons
        on audience_members.person_id = persons.person_id
    left join new_release_buyers
        on audience_members.person_id = new_release_buyers.person_id
),

audience_runs as (
    -- every audience gets a row, an empty one included
    select
        audience_names.audience_name,
        as_of.as_of_date,
        as_of.as_of_date + to_days({{ var('lift_window_days') }}) <= as_of.data_end_date
            as has_complete_window
    from (
        values
        ('aud_signup_retargeting'),
        ('aud_first_purchase_coupon'),
        ('aud_vip_new_release_sms')
    ) as audience_names (audience_name)
    cross join as_of
),

counted as (
    select
        audience_runs.audience_name,
        audience_runs.as_of_date,
        audience_runs.has_complete_window,
        count(outcomes.person_id) filter (where not outcomes.is_holdout) as exported_persons,
        count(outcomes.person_id) filter (where outcomes.is_holdout) as holdout_persons,
        count(outcomes.person_id) filter (
            where not outcomes.is_holdout
            and cast(outcomes.converted_at as date) > outcomes.as_of_date
            and cast(outcomes.converted_at as date)
            <= outcomes.as_of_date + to_days({{ var('lift_window_days') }})
        ) as exported_conversions,
        count(outcomes.person_id) filter (
            where outcomes.is_holdout
            and cast(outcomes.converted_at as date) > outcomes.as_of_date
            and cast(outcomes.converted_at as date)
            <= outcomes.as_of_date + to_days({{ var('lift_window_days') }})
        ) as holdout_conversions
    from audience_runs
    left join outcomes
        on
            audience_runs.audience_name = outcomes.audience_name
            and audience_runs.as_of_date = outcomes.as_of_date
    group by
        audience_runs.audience_name,
        audience_runs.as_of_date,
        audience_runs.has_complete_window
),

tested as (
    select
        *,
        {{ safe_ratio('exported_conversions', 'exported_persons') }} as exported_rate,
        {{ safe_ratio('holdout_conversions', 'holdout_persons') }} as holdout_rate,
        {{ two_proportion_z('exported_conversions', 'exported_persons', 'holdout_conversions', 'holdout_persons') }}
            as z_score
    from counted
),

final as (
    select
        cast(audience_name || ':' || as_of_date as varchar) as audience_run_id,
        cast(audience_name as varchar) as audience_name,
        cast(exported_persons as bigint) as exported_persons,
        cast(holdout_persons as bigint) as holdout_persons,
        cast(exported_conversions as bigint) as exported_conversions,
        cast(holdout_conversions as bigint) as holdout_conversions,
        cast(exported_rate as double) as exported_rate,
        cast(holdout_rate as double) as holdout_rate,
        cast(round({{ safe_ratio('exported_rate', 'holdout_rate') }}, 6) as double) as lift,
        cast(round(exported_rate - holdout_rate, 6) as double) as absolute_lift,
        cast(round(z_score, 6) as double) as z_score,
        cast(round({{ normal_two_sided_p_value('z_score') }}, 6) as double) as p_value,
        cast(has_complete_window as boolean) as has_complete_window,
        cast(as_of_date as date) as as_of_date
    from tested
)

select * from final
