-- How many persons sit in each stage at the end of each day, point in time: a person counts
-- in a stage from the day of the transition that put them there until the day before
-- their next transition. Built from +1/-1 deltas, so it stays linear in transitions.
-- A table rebuilt by every run, not incremental: one retroactive login can move a person's
-- transitions months back, so a run would recompute most days anyway, and the deltas are a
-- single pass over the transitions (bench/RESULTS.md has its cost at 100M events).
with

transitions as (
    select * from {{ ref('fct_funnel_stage_transitions') }}
),

stages as (
    select * from {{ ref('funnel_stages') }}
),

analysis_window as (
    select * from {{ ref('int_analysis_window') }}
),

bounds as (
    select
        min(transitions.transitioned_date) as first_date,
        greatest(max(transitions.transitioned_date), max(analysis_window.data_end_date))
            as last_date
    from transitions
    cross join analysis_window
),

days as (
    {{ date_series('bounds.first_date', 'bounds.last_date', 'calendar_date', 'bounds') }}
),

deltas as (
    select
        to_stage as funnel_stage,
        transitioned_date as calendar_date,
        1 as delta
    from transitions
    union all
    select
        from_stage as funnel_stage,
        transitioned_date as calendar_date,
        -1 as delta
    from transitions
    where from_stage is not null
),

daily_deltas as (
    select
        funnel_stage,
        calendar_date,
        sum(delta) as net_change,
        sum(delta) filter (where delta > 0) as entered
    from deltas
    group by 1, 2
),

grid as (
    select
        days.calendar_date,
        stages.funnel_stage,
        stages.funnel_stage_rank,
        coalesce(daily_deltas.net_change, 0) as net_change,
        coalesce(daily_deltas.entered, 0) as entered
    from days
    cross join stages
    left join daily_deltas
        on
            days.calendar_date = daily_deltas.calendar_date
            and stages.funnel_stage = daily_deltas.funnel_stage
),

final as (
    select
        cast({{ composite_key(['calendar_date', 'funnel_stage']) }} as string) as stage_day_id,
        cast(funnel_stage as string) as funnel_stage,
        cast(funnel_stage_rank as integer) as funnel_stage_rank,
        cast(sum(net_change) over (
            partition by funnel_stage order by calendar_date
            rows between unbounded preceding and current row
        ) as bigint) as persons,
        cast(entered as bigint) as persons_entered,
        cast(calendar_date as date) as calendar_date
    from grid
)

select * from final
