-- The case study's analysis, one row per period: every calendar month of first visits in
-- the analysis window and the whole analysis window. Visitors of a period are persons with a
-- session starting in it; new visitors are those whose first visit falls in it (and were
-- not members). Then: share new, sign-up rate, share of sign-ups who viewed the benefit
-- page, share of non-sign-ups who did not, sign-up rate with and without a view, lift, and
-- a pooled two-proportion z-test of viewed vs not viewed.
with

conversions as (
    select * from {{ ref('int_new_visitors_converted') }}
),

sessions as (
    select * from {{ ref('int_sessions_attributed') }}
),

analysis_window as (
    select * from {{ ref('int_analysis_window') }}
),

months as (
    {{ month_series(
        'analysis_window.analysis_start_date', 'analysis_window.analysis_end_date',
        'month_start', 'analysis_window'
    ) }}
),

periods as (
    select
        'window' as period_type,
        analysis_start_date as period_start_date,
        analysis_end_date as period_end_date
    from analysis_window
    union all
    select
        'month' as period_type,
        greatest(cast(month_start as date), analysis_start_date) as period_start_date,
        least(cast(month_start + interval 1 month - interval 1 day as date), analysis_end_date)
            as period_end_date
    from analysis_window
    cross join months
),

visitors as (
    select
        periods.period_type,
        periods.period_start_date,
        count(distinct sessions.person_id) as visitors
    from periods
    inner join sessions
        on sessions.session_date between periods.period_start_date and periods.period_end_date
    group by 1, 2
),

new_visitors as (
    select
        periods.period_type,
        periods.period_start_date,
        count(*) as new_visitors,
        count(*) filter (where conversions.has_signed_up) as signups,
        count(*) filter (where conversions.has_viewed_member_benefits) as viewers,
        count(*) filter (where conversions.has_signed_up and conversions.has_viewed_member_benefits)
            as signups_viewed,
        count(*) filter (
            where not conversions.has_signed_up and not conversions.has_viewed_member_benefits
        ) as non_signups_not_viewed
    from periods
    inner join conversions
        on
            conversions.first_visit_date
            between periods.period_start_date and periods.period_end_date
    group by 1, 2
),

counts as (
    select
        periods.period_type,
        periods.period_start_date,
        periods.period_end_date,
        coalesce(visitors.visitors, 0) as visitors,
        coalesce(new_visitors.new_visitors, 0) as new_visitors,
        coalesce(new_visitors.signups, 0) as signups,
        coalesce(new_visitors.viewers, 0) as viewers,
        coalesce(new_visitors.signups_viewed, 0) as signups_viewed,
        coalesce(new_visitors.non_signups_not_viewed, 0) as non_signups_not_viewed
    from periods
    left join visitors
        on
            periods.period_type = visitors.period_type
            and periods.period_start_date = visitors.period_start_date
    left join new_visitors
        on
            periods.period_type = new_visitors.period_type
            and periods.period_start_date = new_visitors.period_start_date
),

rates as (
    select
        *,
        {{ safe_ratio('signups_viewed', 'viewers') }} as signup_rate_viewed,
        {{ safe_ratio('signups - signups_viewed', 'new_visitors - viewers') }}
            as signup_rate_not_viewed,
        {{ two_proportion_z(
            'signups_viewed', 'viewers', 'signups - signups_viewed', 'new_visitors - viewers'
        ) }}
            as z_score
    from counts
),

final as (
    select
        cast({{ composite_key(['period_type', 'period_start_date']) }} as string) as period_id,
        cast(period_type as string) as period_type,
        cast(visitors as bigint) as visitors,
        cast(new_visitors as bigint) as new_visitors,
        cast(signups as bigint) as signups,
        cast(viewers as bigint) as benefit_page_viewers,
        cast(signups_viewed as bigint) as signups_viewed,
        cast(non_signups_not_viewed as bigint) as non_signups_not_viewed,
        cast({{ safe_ratio('new_visitors', 'visitors') }} as double) as new_visitor_share,
        cast({{ safe_ratio('signups', 'new_visitors') }} as double) as signup_rate,
        cast({{ safe_ratio('signups_viewed', 'signups') }} as double) as signups_viewed_share,
        cast({{ safe_ratio('non_signups_not_viewed', 'new_visitors - signups') }} as double)
            as non_signups_not_viewed_share,
        cast(signup_rate_viewed as double) as signup_rate_viewed,
        cast(signup_rate_not_viewed as double) as signup_rate_not_viewed,
        -- test statistics are reported to 6 decimals
        cast(round({{ safe_ratio('signup_rate_viewed', 'signup_rate_not_viewed') }}, 6) as double)
            as lift,
        cast(round(z_score, 6) as double) as z_score,
        cast(round({{ normal_two_sided_p_value('z_score') }}, 6) as double) as p_value,
        cast(period_start_date as date) as period_start_date,
        cast(period_end_date as date) as period_end_date
    from rates
)

select * from final
