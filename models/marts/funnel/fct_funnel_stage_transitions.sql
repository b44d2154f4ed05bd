-- One row per person and stage change: from which stage, to which, when. Stages move only
-- forward (visitor -> member_no_purchase -> first_time_buyer -> repeat_buyer -> loyal); a
-- person may skip one (a store sign-up enters as member_no_purchase, a first order of 2+
-- ... never skips buying). The stage of any person on any past date is the to_stage of
-- their last transition at or before that date.
with

milestones as (
    select * from {{ ref('int_persons_milestones') }}
),

reached as (
    select
        person_id,
        1 as stage_rank,
        'visitor' as stage,
        first_visit_at as reached_at
    from milestones
    where
        first_visit_at is not null
        and (signed_up_at is null or first_visit_at < signed_up_at)
    union all
    select
        person_id,
        2 as stage_rank,
        'member_no_purchase' as stage,
        signed_up_at as reached_at
    from milestones
    where signed_up_at is not null
    union all
    select
        person_id,
        3 as stage_rank,
        'first_time_buyer' as stage,
        first_paid_order_at as reached_at
    from milestones
    where first_paid_order_at is not null and signed_up_at is not null
    union all
    select
        person_id,
        4 as stage_rank,
        'repeat_buyer' as stage,
        second_paid_order_at as reached_at
    from milestones
    where second_paid_order_at is not null and signed_up_at is not null
    union all
    select
        person_id,
        5 as stage_rank,
        'loyal' as stage,
        loyal_at as reached_at
    from milestones
    where loyal_at is not null and signed_up_at is not null
),

-- a later stage is never entered before an earlier one (e.g. an order stamped before the
-- sign-up it needs): it is entered when the earlier one was
monotonic as (
    select
        person_id,
        stage_rank,
        stage,
        max(reached_at) over (
            partition by person_id order by stage_rank
            rows between unbounded preceding and current row
        ) as transitioned_at
    from reached
),

final as (
    select
        cast(person_id || ':' || stage as varchar) as transition_id,
        cast(person_id as varchar) as person_id,
        cast(lag(stage) over (partition by person_id order by stage_rank) as varchar) as from_stage,
        cast(stage as varchar) as to_stage,
        cast(stage_rank as integer) as to_stage_rank,
        cast(transitioned_at as date) as transitioned_date,
        cast(transitioned_at as timestamp) as transitioned_at
    from monotonic
)

select * from final
