-- On real output: rpt_funnel_conversion and rpt_funnel_time_to_convert agree with the
-- journeys they summarise (int_funnel_steps_reached), each Wilson interval contains its
-- rate, each row's previous-period figures are the previous period's row, and the breakdowns
-- partition the whole funnel (every person is in exactly one value of each). Any row
-- returned is a failure.
with

conversion as (
    select * from {{ ref('rpt_funnel_conversion') }}
),

time_buckets as (
    select * from {{ ref('rpt_funnel_time_to_convert') }}
),

reached as (
    select * from {{ ref('int_funnel_steps_reached') }}
),

journey_counts as (
    select
        funnel_name,
        entry_period_start_date,
        step_number,
        count(*) as persons,
        count(seconds_from_previous_step) as timed_persons
    from reached
    group by 1, 2, 3
),

whole_funnel as (
    select * from conversion
    where breakdown_type = 'all'
),

breakdown_totals as (
    select
        funnel_name,
        period_start_date,
        step_number,
        breakdown_type,
        sum(persons) as persons
    from conversion
    group by 1, 2, 3, 4
),

reported_periods as (
    select distinct
        funnel_name,
        period_start_date
    from conversion
),

timed_totals as (
    select
        funnel_name,
        period_start_date,
        step_number,
        sum(persons) as persons
    from time_buckets
    where breakdown_type = 'all'
    group by 1, 2, 3
),

failures as (
    select
        whole_funnel.funnel_conversion_id,
        'persons differ from the journeys' as broken_rule
    from whole_funnel
    left join journey_counts
        on
            whole_funnel.funnel_name = journey_counts.funnel_name
            and whole_funnel.period_start_date = journey_counts.entry_period_start_date
            and whole_funnel.step_number = journey_counts.step_number
    where whole_funnel.persons <> coalesce(journey_counts.persons, 0)

    union all
    select
        funnel_conversion_id,
        'a Wilson interval does not contain its rate' as broken_rule
    from conversion
    where
        not coalesce(
            conversion_rate_ci_lower <= conversion_rate + 1e-6
            and conversion_rate <= conversion_rate_ci_upper + 1e-6,
            conversion_rate is null
        )
        or not coalesce(
            step_conversion_rate_ci_lower <= step_conversion_rate + 1e-6
            and step_conversion_rate <= step_conversion_rate_ci_upper + 1e-6,
            step_conversion_rate is null
        )

    union all
    select
        this_period.funnel_conversion_id,
        'previous-period figures differ from the previous period' as broken_rule
    from conversion as this_period
    inner join conversion as last_period
        on
            this_period.funnel_name = last_period.funnel_name
            and this_period.previous_period_start_date = last_period.period_start_date
            and this_period.breakdown_type = last_period.breakdown_type
            and this_period.breakdown_value = last_period.breakdown_value
            and this_period.step_number = last_period.step_number
    where
        this_period.previous_period_persons <> last_period.persons
        or this_period.previous_period_persons_entered <> last_period.persons_entered
        or abs(
            this_period.conversion_rate_change
            - (this_period.conversion_rate - last_period.conversion_rate)
        ) > 1e-9

    union all
    select
        whole_funnel.funnel_conversion_id,
        'a breakdown does not add up to the whole funnel' as broken_rule
    from whole_funnel
    inner join breakdown_totals
        on
            whole_funnel.funnel_name = breakdown_totals.funnel_name
            and whole_funnel.period_start_date = breakdown_totals.period_start_date
            and whole_funnel.step_number = breakdown_totals.step_number
    where breakdown_totals.persons <> whole_funnel.persons

    union all
    select
        {{ composite_key([
            'journey_counts.funnel_name', 'journey_counts.entry_period_start_date',
            'journey_counts.step_number',
        ]) }} as funnel_conversion_id,
        'the time histogram does not hold every timed journey' as broken_rule
    from journey_counts
    inner join reported_periods
        on
            journey_counts.funnel_name = reported_periods.funnel_name
            and journey_counts.entry_period_start_date = reported_periods.period_start_date
    left join timed_totals
        on
            journey_counts.funnel_name = timed_totals.funnel_name
            and journey_counts.entry_period_start_date = timed_totals.period_start_date
            and journey_counts.step_number = timed_totals.step_number
    where
        journey_counts.step_number > 1
        and journey_counts.timed_persons <> coalesce(timed_totals.persons, 0)
)

select * from failures
