-- Every funnel definition keeps the rules of seeds funnel_definitions and funnel_steps (docs
-- block funnel_definition): one row per broken rule, naming the funnel, the step and the rule.
-- It reads the seeds, so `dbt build` runs it before any funnel model and skips them when a
-- definition is wrong. To see the rows: dbt show --select assert_funnel_definitions_are_valid.
with

definitions as (
    select * from {{ ref('funnel_definitions') }}
),

steps as (
    select * from {{ ref('funnel_steps') }}
),

shapes as (
    select
        definitions.funnel_name,
        definitions.order_mode,
        definitions.conversion_window,
        definitions.conversion_window_unit,
        definitions.period_grain,
        coalesce(definitions.breakdown_step, 1) as breakdown_step,
        count(steps.step_name) as step_count,
        count(distinct steps.step_number) as distinct_step_numbers,
        min(steps.step_number) as first_step_number,
        max(steps.step_number) as last_step_number
    from definitions
    left join steps
        on
            definitions.funnel_name = steps.funnel_name
            and steps.step_type = 'step'
    group by 1, 2, 3, 4, 5, 6
),

step_rows as (
    select
        steps.*,
        shapes.order_mode,
        shapes.step_count,
        coalesce(steps.is_optional, false) as is_optional_step,
        count(*) over (partition by steps.funnel_name, steps.step_name) as name_count,
        -- event names listed: one more than the separators
        length(steps.event_name) - length(replace(steps.event_name, ';', '')) + 1
            as event_name_count
    from steps
    inner join shapes
        on steps.funnel_name = shapes.funnel_name
),

required_steps as (
    select
        funnel_name,
        step_number
    from steps
    where step_type = 'step' and not coalesce(is_optional, false)
),

problems as (
    select
        funnel_name,
        cast(null as {{ dbt.type_string() }}) as step_name,
        'a funnel has 2 to var funnel_max_steps ({{ var_integer("funnel_max_steps") }}) steps'
            as broken_rule
    from shapes
    where step_count < 2 or step_count > {{ var_integer('funnel_max_steps') }}

    union all
    select
        funnel_name,
        null as step_name,
        'steps are numbered 1 to the number of steps, each once' as broken_rule
    from shapes
    where
        step_count >= 2
        and (
            first_step_number <> 1
            or last_step_number <> step_count
            or distinct_step_numbers <> step_count
        )

    union all
    select
        funnel_name,
        null as step_name,
        'the conversion window is above 0' as broken_rule
    from shapes
    where conversion_window is null or conversion_window <= 0

    union all
    select
        funnel_name,
        null as step_name,
        'the window spans at most var funnel_max_window_periods '
        || '({{ var_integer("funnel_max_window_periods") }}) periods (use a longer period_grain)'
            as broken_rule
    from shapes
    where
        conversion_window > 0
        and ceil(
            {{ funnel_window_seconds('conversion_window', 'conversion_window_unit') }}
            * 1.0 / {{ funnel_shortest_period_seconds('period_grain') }}
        ) > {{ var_integer('funnel_max_window_periods') }}

    union all
    select
        shapes.funnel_name,
        null as step_name,
        'breakdown_step is a required step (1 in an any-order funnel)' as broken_rule
    from shapes
    left join required_steps
        on
            shapes.funnel_name = required_steps.funnel_name
            and shapes.breakdown_step = required_steps.step_number
    where
        required_steps.step_number is null
        or (shapes.order_mode = 'any' and shapes.breakdown_step <> 1)

    union all
    select
        funnel_name,
        step_name,
        'step_name is unique within a funnel' as broken_rule
    from step_rows
    where name_count > 1

    union all
    select
        funnel_name,
        step_name,
        'a step has a step_number, an exclusion has none' as broken_rule
    from step_rows
    where
        (step_type = 'step' and step_number is null)
        or (step_type = 'exclusion' and step_number is not null)

    union all
    select
        funnel_name,
        step_name,
        'event_name lists 1 to var funnel_max_event_names '
        || '({{ var_integer("funnel_max_event_names") }}) names, none empty'
            as broken_rule
    from step_rows
    where
        event_name_count > {{ var_integer('funnel_max_event_names') }}
        or trim(event_name) = ''
        or event_name like ';%'
        or event_name like '%;'
        or event_name like '%;;%'

    union all
    select
        funnel_name,
        step_name,
        'the first and the last step are required; an any-order funnel has no optional step'
            as broken_rule
    from step_rows
    where
        step_type = 'step'
        and is_optional_step
        and (step_number = 1 or step_number = step_count or order_mode = 'any')

    union all
    select
        funnel_name,
        step_name,
        'a step window is above 0, has a unit, is on a step after the first, '
        || 'and not in an any-order funnel'
            as broken_rule
    from step_rows
    where
        (step_window is not null or step_window_unit is not null)
        and (
            step_type <> 'step'
            or step_window is null
            or step_window <= 0
            or step_window_unit is null
            or step_window_unit not in ('minute', 'hour', 'day', 'week')
            or step_number = 1
            or order_mode = 'any'
        )

    union all
    select
        step_rows.funnel_name,
        step_rows.step_name,
        'an exclusion lies between two required steps, from before to '
        || '(empty in an any-order funnel)'
            as broken_rule
    from step_rows
    left join required_steps as from_steps
        on
            step_rows.funnel_name = from_steps.funnel_name
            and coalesce(step_rows.exclude_from_step, 1) = from_steps.step_number
    left join required_steps as to_steps
        on
            step_rows.funnel_name = to_steps.funnel_name
            and coalesce(step_rows.exclude_to_step, step_rows.step_count) = to_steps.step_number
    where
        step_rows.step_type = 'exclusion'
        and (
            from_steps.step_number is null
            or to_steps.step_number is null
            or from_steps.step_number >= to_steps.step_number
            or (
                step_rows.order_mode = 'any'
                and (
                    step_rows.exclude_from_step is not null
                    or step_rows.exclude_to_step is not null
                )
            )
        )

    union all
    select
        funnel_name,
        step_name,
        'exclude_from_step and exclude_to_step are for exclusions only' as broken_rule
    from step_rows
    where
        step_type = 'step'
        and (exclude_from_step is not null or exclude_to_step is not null)
)

select * from problems
