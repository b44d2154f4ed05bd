-- New visitors by first-visit cohort date, first-touch channel and whether they viewed the
-- member-benefits page (before signing up, or within the window when they did not sign
-- up): visitors, sign-ups within var signup_conversion_window_days of the first visit, the
-- rate and its Wilson 95% interval. Cohorts from the analysis window's start on.
with

conversions as (
    select * from {{ ref('int_new_visitors_converted') }}
),

analysis_window as (
    select * from {{ ref('int_analysis_window') }}
),

cohorts as (
    select
        conversions.first_visit_date,
        conversions.first_touch_channel,
        conversions.has_viewed_member_benefits,
        count(*) as new_visitors,
        count(*) filter (where conversions.has_signed_up) as signups,
        -- the cohort's whole conversion window lies within the data
        max(
            {{ add_days(
                'conversions.first_visit_date', var_integer('signup_conversion_window_days')
            ) }}
            <= analysis_window.data_end_date
        ) as is_window_complete
    from conversions
    cross join analysis_window
    where
        conversions.first_visit_date between analysis_window.analysis_start_date
        and analysis_window.analysis_end_date
    group by 1, 2, 3
),

final as (
    select
        cast({{ composite_key([
            'first_visit_date', "coalesce(first_touch_channel, 'unknown')",
            'has_viewed_member_benefits',
        ]) }} as string) as cohort_id,
        cast(coalesce(first_touch_channel, 'unknown') as string) as first_touch_channel,
        cast(new_visitors as bigint) as new_visitors,
        cast(signups as bigint) as signups,
        cast({{ safe_ratio('signups', 'new_visitors') }} as double) as signup_rate,
        cast({{ wilson_bound('signups', 'new_visitors', 'lower') }} as double)
            as signup_rate_ci_lower,
        cast({{ wilson_bound('signups', 'new_visitors', 'upper') }} as double)
            as signup_rate_ci_upper,
        cast(has_viewed_member_benefits as boolean) as has_viewed_member_benefits,
        cast(is_window_complete as boolean) as is_window_complete,
        cast(first_visit_date as date) as first_visit_date
    from cohorts
)

select * from final
