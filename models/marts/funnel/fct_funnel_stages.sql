-- One row per person with the current funnel stage (the last stage reached) and when each
-- stage was entered (null when not reached).
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

transitions as (
    select * from {{ ref('fct_funnel_stage_transitions') }}
),

milestones as (
    select * from {{ ref('int_milestones_pivoted_to_persons') }}
),

-- read on incremental runs only
touched_persons as (  -- noqa: ST03
    select * from {{ ref('int_persons_touched_by_run') }}
),

pivoted as (
    select
        transitions.person_id,
        {{ last_by('transitions.to_stage', 'transitions.to_stage_rank', 'transitions.to_stage') }}
            as funnel_stage,
        max(transitions.to_stage_rank) as funnel_stage_rank,
        min(transitions.transitioned_at) filter (where transitions.to_stage_rank = 1)
            as visitor_entered_at,
        min(transitions.transitioned_at) filter (where transitions.to_stage_rank = 2)
            as member_entered_at,
        min(transitions.transitioned_at) filter (where transitions.to_stage_rank = 3)
            as first_time_buyer_entered_at,
        min(transitions.transitioned_at) filter (where transitions.to_stage_rank = 4)
            as repeat_buyer_entered_at,
        min(transitions.transitioned_at) filter (where transitions.to_stage_rank = 5)
            as loyal_entered_at,
        max(transitions.transitioned_at) as stage_entered_at
    from transitions
    {%- if reads_touched_only() %}
    inner join touched_persons
        on transitions.person_id = touched_persons.person_id
    {%- endif %}
    group by transitions.person_id
),

final as (
    select
        cast(milestones.person_id as string) as person_id,
        cast(milestones.member_id as string) as member_id,
        cast(pivoted.funnel_stage as string) as funnel_stage,
        cast(pivoted.funnel_stage_rank as integer) as funnel_stage_rank,
        cast(milestones.paid_order_count as bigint) as paid_order_count,
        cast(pivoted.stage_entered_at as timestamp) as stage_entered_at,
        cast(pivoted.visitor_entered_at as timestamp) as visitor_entered_at,
        cast(pivoted.member_entered_at as timestamp) as member_entered_at,
        cast(pivoted.first_time_buyer_entered_at as timestamp) as first_time_buyer_entered_at,
        cast(pivoted.repeat_buyer_entered_at as timestamp) as repeat_buyer_entered_at,
        cast(pivoted.loyal_entered_at as timestamp) as loyal_entered_at
    from milestones
    inner join pivoted
        on milestones.person_id = pivoted.person_id
)

select * from final
