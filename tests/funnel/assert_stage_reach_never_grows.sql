-- Persons who ever reached a stage never outnumber those who reached the stage before it
-- (member -> first-time buyer -> repeat buyer -> loyal). Visitors are left out: a store
-- sign-up becomes a member without ever being a visitor. Any row returned is a failure.
with

transitions as (
    select * from {{ ref('fct_funnel_stage_transitions') }}
),

reached as (
    select
        to_stage_rank,
        -- one stage per rank
        max(to_stage) as to_stage,
        count(distinct person_id) as persons_reached
    from transitions
    where to_stage_rank >= 2
    group by to_stage_rank
),

compared as (
    select
        to_stage,
        persons_reached,
        lag(persons_reached) over (order by to_stage_rank) as persons_reached_previous_stage
    from reached
)

select *
from compared
where persons_reached > persons_reached_previous_stage
