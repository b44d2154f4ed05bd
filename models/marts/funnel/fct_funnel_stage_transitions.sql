-- One row per person and stage change: from which stage, to which, when. Stages (seed
-- funnel_stages) move only forward; a person may skip one (a store sign-up enters as
-- member_no_purchase). The stage of any person on any past date is the to_stage of their
-- last transition at or before that date. Which milestone enters which stage is decided here
-- and only here (the seed's entered_when says it in words).
-- Incremental (docs block incremental_runs): exactly the persons a run touched are recomputed.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        spark_partition_key='person_id',
        on_schema_change='fail',
        pre_hook="{{ delete_touched('person_id', 'int_persons_touched_by_run') }}",
    )
}}

with

milestones as (
    select * from {{ ref('int_milestones_pivoted_to_persons') }}
),

funnel_stages as (
    select * from {{ ref('funnel_stages') }}
),

-- read on incremental runs only
touched_persons as (  -- noqa: ST03
    select * from {{ ref('int_persons_touched_by_run') }}
),

persons as (
    select milestones.*
    from milestones
    {%- if reads_touched_only() %}
    inner join touched_persons
        on milestones.person_id = touched_persons.person_id
    {%- endif %}
),

reached as (
    select
        person_id,
        1 as stage_rank,
        first_visit_at as reached_at
    from persons
    where
        first_visit_at is not null
        and (signed_up_at is null or first_visit_at < signed_up_at)
    union all
    select
        person_id,
        2 as stage_rank,
        signed_up_at as reached_at
    from persons
    where signed_up_at is not null
    union all
    select
        person_id,
        3 as stage_rank,
        first_order_at as reached_at
    from persons
    where first_order_at is not null and signed_up_at is not null
    union all
    select
        person_id,
        4 as stage_rank,
        second_order_at as reached_at
    from persons
    where second_order_at is not null and signed_up_at is not null
    union all
    select
        person_id,
        5 as stage_rank,
        loyal_at as reached_at
    from persons
    where loyal_at is not null and signed_up_at is not null
),

-- a later stage is never entered before an earlier one (e.g. an order stamped before the
-- sign-up it needs): it is entered when the earlier one was
monotonic as (
    select
        person_id,
        stage_rank,
        max(reached_at) over (
            partition by person_id order by stage_rank
            rows between unbounded preceding and current row
        ) as transitioned_at
    from reached
),

named as (
    select
        monotonic.person_id,
        monotonic.stage_rank,
        funnel_stages.funnel_stage as stage,
        monotonic.transitioned_at
    from monotonic
    inner join funnel_stages
        on monotonic.stage_rank = funnel_stages.funnel_stage_rank
),

final as (
    select
        cast({{ composite_key(['person_id', 'stage']) }} as string) as transition_id,
        cast(person_id as string) as person_id,
        cast(lag(stage) over (partition by person_id order by stage_rank) as string) as from_stage,
        cast(stage as string) as to_stage,
        cast(stage_rank as integer) as to_stage_rank,
        cast(transitioned_at as date) as transitioned_date,
        cast(transitioned_at as timestamp) as transitioned_at
    from named
)

select * from final
