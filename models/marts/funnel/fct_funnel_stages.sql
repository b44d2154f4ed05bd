-- One row per person with the current funnel stage (the last stage reached) and when each
-- stage was entered (null when not reached).
with

transitions as (
    select * from {{ ref('fct_funnel_stage_transitions') }}
),

persons as (
    select * from {{ ref('dim_persons') }}
),

pivoted as (
    select
        person_id,
        arg_max(to_stage, to_stage_rank) as funnel_stage,
        max(to_stage_rank) as funnel_stage_rank,
        min(transitioned_at) filter (where to_stage = 'visitor') as visitor_entered_at,
        min(transitioned_at) filter (where to_stage = 'member_no_purchase') as member_entered_at,
        min(transitioned_at) filter (where to_stage = 'first_time_buyer')
            as first_time_buyer_entered_at,
        min(transitioned_at) filter (where to_stage = 'repeat_buyer') as repeat_buyer_entered_at,
        min(transitioned_at) filter (where to_stage = 'loyal') as loyal_entered_at,
        max(transitioned_at) as stage_entered_at
    from transitions
    group by person_id
),

final as (
    select
        cast(persons.person_id as varchar) as person_id,
        cast(persons.member_id as varchar) as member_id,
        cast(pivoted.funnel_stage as varchar) as funnel_stage,
        cast(pivoted.funnel_stage_rank as integer) as funnel_stage_rank,
        cast(persons.paid_order_count as bigint) as paid_order_count,
        cast(pivoted.stage_entered_at as timestamp) as stage_entered_at,
        cast(pivoted.visitor_entered_at as timestamp) as visitor_entered_at,
        cast(pivoted.member_entered_at as timestamp) as member_entered_at,
        cast(pivoted.first_time_buyer_entered_at as timestamp) as first_time_buyer_entered_at,
        cast(pivoted.repeat_buyer_entered_at as timestamp) as repeat_buyer_entered_at,
        cast(pivoted.loyal_entered_at as timestamp) as loyal_entered_at
    from persons
    inner join pivoted
        on persons.person_id = pivoted.person_id
)

select * from final
