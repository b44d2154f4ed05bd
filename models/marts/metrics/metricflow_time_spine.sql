-- MetricFlow's time spine: one row per calendar day from var metric_time_spine_start_date
-- to var metric_time_spine_end_date (both inclusive). MetricFlow joins to it for metric_time
-- (months, quarters, ...), cumulative metrics and offsets; it must cover every date of the
-- marts (tests/python/test_metric_agreement.py checks that it does).
with

days as (
    {{ dbt.date_spine(
        'day',
        var_date('metric_time_spine_start_date'),
        dbt.dateadd('day', 1, var_date('metric_time_spine_end_date')),
    ) }}
),

final as (
    select cast(date_day as date) as calendar_date
    from days
)

select * from final
