-- The histogram of the time to convert: per funnel, period of the entries, breakdown, step
-- after the first and bucket of seed funnel_time_buckets, the persons whose journey reached
-- the step that long after the previous step it did (docs block funnel_time_to_convert),
-- their share of the step's timed persons and the cumulative share. Every bucket has a row,
-- zero when empty. A table rebuilt by every run (docs block funnel_materialization).
with

reached as (
    select * from {{ ref('int_funnel_steps_reached') }}
),

funnel_steps as (
    select * from {{ ref('int_funnel_steps_resolved') }}
    where step_type = 'step'
),

periods as (
    select * from {{ ref('int_funnel_periods') }}
),

buckets as (
    select * from {{ ref('funnel_time_buckets') }}
),

{{ funnel_broken_down(['seconds_from_previous_step'], where='step_number > 1') }},

bucket_counts as (
    select
        broken_down.funnel_name,
        broken_down.entry_period_start_date,
        broken_down.breakdown_type,
        broken_down.breakdown_value,
        broken_down.step_number,
        buckets.bucket_rank,
        count(*) as persons
    from broken_down
    inner join buckets
        on
            broken_down.seconds_from_previous_step >= buckets.lower_seconds
            and (
                buckets.upper_seconds is null
                or broken_down.seconds_from_previous_step < buckets.upper_seconds
            )
    group by 1, 2, 3, 4, 5, 6
),

grid as (
    select
        periods.funnel_name,
        periods.period_start_date,
        periods.period_end_date,
        periods.is_period_complete,
        periods.is_window_complete,
        breakdown_values.breakdown_type,
        breakdown_values.breakdown_value,
        funnel_steps.step_name,
        funnel_steps.step_number,
        buckets.bucket_rank,
        buckets.bucket_label,
        buckets.lower_seconds,
        buckets.upper_seconds
    from periods
    inner join breakdown_values
        on periods.funnel_name = breakdown_values.funnel_name
    inner join funnel_steps
        on periods.funnel_name = funnel_steps.funnel_name
    cross join buckets
    where funnel_steps.step_number > 1
),

counted as (
    select
        grid.*,
        coalesce(bucket_counts.persons, 0) as persons
    from grid
    left join bucket_counts
        on
            grid.funnel_name = bucket_counts.funnel_name
            and grid.period_start_date = bucket_counts.entry_period_start_date
            and grid.breakdown_type = bucket_counts.breakdown_type
            and grid.breakdown_value = bucket_counts.breakdown_value
            and grid.step_number = bucket_counts.step_number
            and grid.bucket_rank = bucket_counts.bucket_rank
),

shares as (
    select
        *,
        sum(persons) over (
            partition by
                funnel_name, period_start_date, breakdown_type, breakdown_value, step_number
        ) as timed_persons,
        sum(persons) over (
            partition by
                funnel_name, period_start_date, breakdown_type, breakdown_value, step_number
            order by bucket_rank
            rows between unbounded preceding and current row
        ) as persons_up_to_bucket
    from counted
),

final as (
    select
        cast({{ composite_key([
            'funnel_name', 'period_start_date', 'breakdown_type', 'breakdown_value',
            'step_number', 'bucket_rank',
        ]) }} as {{ dbt.type_string() }}) as funnel_time_bucket_id,
        cast(funnel_name as {{ dbt.type_string() }}) as funnel_name,
        cast(breakdown_type as {{ dbt.type_string() }}) as breakdown_type,
        cast(breakdown_value as {{ dbt.type_string() }}) as breakdown_value,
        cast(step_name as {{ dbt.type_string() }}) as step_name,
        cast(bucket_label as {{ dbt.type_string() }}) as bucket_label,
        cast(step_number as integer) as step_number,
        cast(bucket_rank as integer) as bucket_rank,
        cast(lower_seconds as bigint) as lower_seconds,
        cast(upper_seconds as bigint) as upper_seconds,
        cast(persons as bigint) as persons,
        cast(timed_persons as bigint) as timed_persons,
        cast({{ safe_ratio('persons', 'timed_persons') }} as double) as persons_share,
        cast({{ safe_ratio('persons_up_to_bucket', 'timed_persons') }} as double)
            as cumulative_share,
        cast(is_period_complete as boolean) as is_period_complete,
        cast(is_window_complete as boolean) as is_window_complete,
        cast(period_start_date as date) as period_start_date,
        cast(period_end_date as date) as period_end_date
    from shares
)

select * from final
