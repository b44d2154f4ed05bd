-- Every configured funnel, per period of its entries, breakdown and step: the persons who
-- entered and reached the step, the conversion from the entry and from the previous required
-- step with Wilson 95% intervals, the median and 90th percentile time to convert, and the
-- same figures for the previous period with the change and a two-proportion z-test (docs
-- blocks funnel_conversion and funnel_previous_period). Every period, breakdown value seen
-- in the funnel and step has a row, zero when nobody reached it.
-- A table rebuilt by every run from the journeys (docs block funnel_materialization).
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

{{ funnel_broken_down(['seconds_from_entry', 'seconds_from_previous_step']) }},

step_counts as (
    select
        funnel_name,
        entry_period_start_date,
        breakdown_type,
        breakdown_value,
        step_number,
        count(*) as persons,
        percentile_cont(0.5) within group (order by seconds_from_previous_step)
            as median_seconds_from_previous_step,
        percentile_cont(0.9) within group (order by seconds_from_previous_step)
            as p90_seconds_from_previous_step,
        percentile_cont(0.5) within group (order by seconds_from_entry)
            as median_seconds_from_entry,
        percentile_cont(0.9) within group (order by seconds_from_entry)
            as p90_seconds_from_entry
    from broken_down
    group by 1, 2, 3, 4, 5
),

grid as (
    select
        periods.funnel_name,
        periods.period_grain,
        periods.period_start_date,
        periods.period_end_date,
        periods.previous_period_start_date,
        periods.is_period_complete,
        periods.is_window_complete,
        breakdown_values.breakdown_type,
        breakdown_values.breakdown_value,
        funnel_steps.funnel_label,
        funnel_steps.order_mode,
        funnel_steps.step_name,
        funnel_steps.step_number,
        funnel_steps.previous_required_step,
        funnel_steps.is_optional
    from periods
    inner join breakdown_values
        on periods.funnel_name = breakdown_values.funnel_name
    inner join funnel_steps
        on periods.funnel_name = funnel_steps.funnel_name
),

counted as (
    select
        grid.*,
        coalesce(steps.persons, 0) as persons,
        coalesce(entries.persons, 0) as persons_entered,
        case
            when grid.previous_required_step is not null then coalesce(previous_steps.persons, 0)
        end as previous_step_persons,
        steps.median_seconds_from_previous_step,
        steps.p90_seconds_from_previous_step,
        steps.median_seconds_from_entry,
        steps.p90_seconds_from_entry
    from grid
    left join step_counts as steps
        on
            grid.funnel_name = steps.funnel_name
            and grid.period_start_date = steps.entry_period_start_date
            and grid.breakdown_type = steps.breakdown_type
            and grid.breakdown_value = steps.breakdown_value
            and grid.step_number = steps.step_number
    left join step_counts as entries
        on
            grid.funnel_name = entries.funnel_name
            and grid.period_start_date = entries.entry_period_start_date
            and grid.breakdown_type = entries.breakdown_type
            and grid.breakdown_value = entries.breakdown_value
            and entries.step_number = 1
    left join step_counts as previous_steps
        on
            grid.funnel_name = previous_steps.funnel_name
            and grid.period_start_date = previous_steps.entry_period_start_date
            and grid.breakdown_type = previous_steps.breakdown_type
            and grid.breakdown_value = previous_steps.breakdown_value
            and grid.previous_required_step = previous_steps.step_number
),

rated as (
    select
        *,
        {{ safe_ratio('persons', 'persons_entered') }} as conversion_rate,
        {{ safe_ratio('persons', 'previous_step_persons') }} as step_conversion_rate
    from counted
),

final as (
    select
        cast({{ composite_key([
            'current_period.funnel_name', 'current_period.period_start_date',
            'current_period.breakdown_type', 'current_period.breakdown_value',
            'current_period.step_number',
        ]) }} as {{ dbt.type_string() }}) as funnel_conversion_id,
        cast(current_period.funnel_name as {{ dbt.type_string() }}) as funnel_name,
        cast(current_period.funnel_label as {{ dbt.type_string() }}) as funnel_label,
        cast(current_period.order_mode as {{ dbt.type_string() }}) as order_mode,
        cast(current_period.period_grain as {{ dbt.type_string() }}) as period_grain,
        cast(current_period.breakdown_type as {{ dbt.type_string() }}) as breakdown_type,
        cast(current_period.breakdown_value as {{ dbt.type_string() }}) as breakdown_value,
        cast(current_period.step_name as {{ dbt.type_string() }}) as step_name,
        cast(current_period.step_number as integer) as step_number,
        cast(current_period.previous_required_step as integer) as previous_required_step,
        cast(current_period.persons_entered as bigint) as persons_entered,
        cast(current_period.persons as bigint) as persons,
        cast(current_period.previous_step_persons as bigint) as previous_step_persons,
        cast(current_period.conversion_rate as double) as conversion_rate,
        cast(round({{ wilson_bound(
            'current_period.persons', 'current_period.persons_entered', 'lower'
        ) }}, 6) as double)
            as conversion_rate_ci_lower,
        cast(round({{ wilson_bound(
            'current_period.persons', 'current_period.persons_entered', 'upper'
        ) }}, 6) as double)
            as conversion_rate_ci_upper,
        cast(current_period.step_conversion_rate as double) as step_conversion_rate,
        cast(round({{ wilson_bound(
            'current_period.persons', 'current_period.previous_step_persons', 'lower'
        ) }}, 6) as double)
            as step_conversion_rate_ci_lower,
        cast(round({{ wilson_bound(
            'current_period.persons', 'current_period.previous_step_persons', 'upper'
        ) }}, 6) as double)
            as step_conversion_rate_ci_upper,
        cast({{ round_half_up('current_period.median_seconds_from_previous_step', 3) }} as double)
            as median_seconds_from_previous_step,
        cast({{ round_half_up('current_period.p90_seconds_from_previous_step', 3) }} as double)
            as p90_seconds_from_previous_step,
        cast({{ round_half_up('current_period.median_seconds_from_entry', 3) }} as double)
            as median_seconds_from_entry,
        cast({{ round_half_up('current_period.p90_seconds_from_entry', 3) }} as double)
            as p90_seconds_from_entry,
        cast(previous_period.persons_entered as bigint) as previous_period_persons_entered,
        cast(previous_period.persons as bigint) as previous_period_persons,
        cast(previous_period.conversion_rate as double) as previous_period_conversion_rate,
        cast(previous_period.step_conversion_rate as double)
            as previous_period_step_conversion_rate,
        cast(current_period.conversion_rate - previous_period.conversion_rate as double)
            as conversion_rate_change,
        cast(current_period.step_conversion_rate - previous_period.step_conversion_rate as double)
            as step_conversion_rate_change,
        cast(round({{ two_proportion_z(
            'current_period.persons', 'current_period.persons_entered',
            'previous_period.persons', 'previous_period.persons_entered',
        ) }}, 6) as double) as conversion_rate_change_z_score,
        cast(round({{ normal_two_sided_p_value(two_proportion_z(
            'current_period.persons', 'current_period.persons_entered',
            'previous_period.persons', 'previous_period.persons_entered',
        )) }}, 6) as double) as conversion_rate_change_p_value,
        cast(current_period.is_optional as boolean) as is_optional,
        cast(current_period.is_period_complete as boolean) as is_period_complete,
        cast(current_period.is_window_complete as boolean) as is_window_complete,
        cast(
            previous_period.is_period_complete and previous_period.is_window_complete as boolean
        ) as is_previous_period_complete,
        cast(current_period.period_start_date as date) as period_start_date,
        cast(current_period.period_end_date as date) as period_end_date,
        cast(current_period.previous_period_start_date as date) as previous_period_start_date
    from rated as current_period
    left join rated as previous_period
        on
            current_period.funnel_name = previous_period.funnel_name
            and current_period.previous_period_start_date = previous_period.period_start_date
            and current_period.breakdown_type = previous_period.breakdown_type
            and current_period.breakdown_value = previous_period.breakdown_value
            and current_period.step_number = previous_period.step_number
)

select * from final
