-- One row per configured funnel and period of its grain (day, week from Monday, calendar
-- month) from the period holding the first day of data to the one holding the last (docs
-- block funnel_periods), with the previous period and whether the period and every entry's
-- conversion window lie within the data. The days come from a numbers table of 10,000 days
-- (27 years) built from literal digits: standard SQL, no engine's series function.
with

funnel_steps as (
    select * from {{ ref('int_funnel_steps_resolved') }}
),

analysis_window as (
    select * from {{ ref('int_analysis_window') }}
),

funnels as (
    select distinct
        funnel_name,
        period_grain,
        conversion_window_seconds
    from funnel_steps
),

digits as (
    {%- for digit in range(10) %}
    select {{ digit }} as digit{{ ' union all' if not loop.last }}
    {%- endfor %}
),

day_numbers as (
    select
        thousands.digit * 1000 + hundreds.digit * 100 + tens.digit * 10 + units.digit
            as day_number
    from digits as thousands
    cross join digits as hundreds
    cross join digits as tens
    cross join digits as units
),

data_days as (
    select
        cast(
            {{ dbt.dateadd('day', 'day_numbers.day_number', 'analysis_window.data_start_date') }}
            as date
        ) as calendar_date
    from day_numbers
    cross join analysis_window
    where
        day_numbers.day_number
        <= {{ dbt.datediff('analysis_window.data_start_date', 'analysis_window.data_end_date', 'day') }}
),

periods as (
    select distinct
        funnels.funnel_name,
        funnels.period_grain,
        funnels.conversion_window_seconds,
        {{ funnel_period_start('funnels.period_grain', 'data_days.calendar_date') }}
            as period_start_date
    from funnels
    cross join data_days
),

final as (
    select
        {{ composite_key(['periods.funnel_name', 'periods.period_start_date']) }}
            as funnel_period_id,
        periods.funnel_name,
        periods.period_grain,
        periods.period_start_date >= analysis_window.data_start_date
        and {{ funnel_period_add('periods.period_grain', 1, 'periods.period_start_date') }}
        <= cast({{ dbt.dateadd('day', 1, 'analysis_window.data_end_date') }} as date)
            as is_period_complete,
        -- an entry on the period's last instant still has its whole window within the data
        {{ funnel_add_seconds(
            funnel_period_add('periods.period_grain', 1, 'periods.period_start_date'),
            'periods.conversion_window_seconds',
        ) }}
        <= cast({{ dbt.dateadd('day', 1, 'analysis_window.data_end_date') }} as timestamp)
            as is_window_complete,
        periods.period_start_date,
        cast({{ dbt.dateadd(
            'day', -1, funnel_period_add('periods.period_grain', 1, 'periods.period_start_date')
        ) }} as date) as period_end_date,
        {{ funnel_period_add('periods.period_grain', -1, 'periods.period_start_date') }}
            as previous_period_start_date
    from periods
    cross join analysis_window
)

select * from final
