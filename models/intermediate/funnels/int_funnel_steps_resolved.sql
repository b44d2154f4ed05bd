-- One row per step or exclusion of every configured funnel (seeds funnel_definitions and
-- funnel_steps) with its funnel's settings resolved once: windows in seconds, defaults
-- applied (exclusions between the first and the last step, breakdown at the entry), the
-- number of steps, which steps are optional (a bit mask the journey model reads per level),
-- the required step each step converts from, and how many periods a window may span.
-- tests/funnels/assert_funnel_definitions_are_valid.sql rejects a definition that breaks a
-- rule before this model is built.
with

definitions as (
    select * from {{ ref('funnel_definitions') }}
),

steps as (
    select * from {{ ref('funnel_steps') }}
),

funnel_shapes as (
    select
        funnel_name,
        count(*) as step_count,
        sum(
            case when coalesce(is_optional, false) then power(2, step_number - 1) else 0 end
        ) as optional_steps_mask
    from steps
    where step_type = 'step'
    group by funnel_name
),

ordered_steps as (
    select
        funnel_name,
        step_name,
        -- the nearest required step before this one: what its step conversion is measured on
        max(case when not coalesce(is_optional, false) then step_number end) over (
            partition by funnel_name order by step_number
            rows between unbounded preceding and 1 preceding
        ) as previous_required_step
    from steps
    where step_type = 'step'
),

final as (
    select
        {{ composite_key(['steps.funnel_name', 'steps.step_name']) }} as funnel_step_id,
        definitions.funnel_name,
        definitions.funnel_label,
        steps.step_name,
        steps.step_type,
        steps.description as step_description,
        definitions.order_mode,
        definitions.hold_constant,
        definitions.period_grain,
        steps.event_name as event_names,
        steps.page_type as page_types,
        steps.channel_group as channel_groups,
        steps.product_category as product_categories,
        steps.membership_grade as membership_grades,
        steps.step_number,
        ordered_steps.previous_required_step,
        funnel_shapes.step_count,
        cast(funnel_shapes.optional_steps_mask as bigint) as optional_steps_mask,
        coalesce(definitions.breakdown_step, 1) as breakdown_step,
        case
            when steps.step_type = 'exclusion' then coalesce(steps.exclude_from_step, 1)
        end as exclude_from_step,
        case
            when steps.step_type = 'exclusion'
                then coalesce(steps.exclude_to_step, funnel_shapes.step_count)
        end as exclude_to_step,
        {{ funnel_window_seconds('definitions.conversion_window', 'definitions.conversion_window_unit') }}
            as conversion_window_seconds,
        {{ funnel_window_seconds('steps.step_window', 'steps.step_window_unit') }}
            as step_window_seconds,
        -- periods before the entry's own a journey can still reach (at least 1 period,
        -- rounded up): a hit is matched against its own period and this many earlier ones
        cast(ceil(
            {{ funnel_window_seconds('definitions.conversion_window', 'definitions.conversion_window_unit') }}
            * 1.0 / {{ funnel_shortest_period_seconds('definitions.period_grain') }}
        ) as integer) as window_period_span,
        steps.is_new_release,
        steps.is_landing,
        coalesce(steps.is_optional, false) and steps.step_type = 'step' as is_optional
    from steps
    inner join definitions
        on steps.funnel_name = definitions.funnel_name
    inner join funnel_shapes
        on steps.funnel_name = funnel_shapes.funnel_name
    left join ordered_steps
        on
            steps.funnel_name = ordered_steps.funnel_name
            and steps.step_name = ordered_steps.step_name
)

select * from final
