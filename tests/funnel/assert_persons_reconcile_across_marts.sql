-- Every person of dim_persons sits in exactly one stage of fct_funnel_stages, that stage is
-- the last transition of fct_funnel_stage_transitions, and on the last day of
-- fct_funnel_stage_daily each stage holds exactly the persons fct_funnel_stages puts there.
-- Any row returned is a failure, named by the check it broke.
with

persons as (
    select * from {{ ref('dim_persons') }}
),

stages as (
    select * from {{ ref('fct_funnel_stages') }}
),

transitions as (
    select * from {{ ref('fct_funnel_stage_transitions') }}
),

daily as (
    select * from {{ ref('fct_funnel_stage_daily') }}
),

person_counts as (
    select
        'persons_in_dim_persons_vs_fct_funnel_stages' as check_name,
        (select count(*) from persons) as expected,
        (select count(*) from stages) as actual
),

last_transitions as (
    select
        person_id,
        {{ last_by('to_stage', 'to_stage_rank', 'to_stage') }} as last_stage
    from transitions
    group by person_id
),

stage_mismatches as (
    select
        'current_stage_is_last_transition' as check_name,
        0 as expected,
        count(*) as actual
    from stages
    left join last_transitions
        on stages.person_id = last_transitions.person_id
    where stages.funnel_stage is distinct from last_transitions.last_stage
),

current_counts as (
    select
        funnel_stage,
        count(*) as persons
    from stages
    group by funnel_stage
),

last_date as (
    select max(calendar_date) as calendar_date
    from daily
),

last_day as (
    select
        daily.funnel_stage,
        daily.persons
    from daily
    inner join last_date
        on daily.calendar_date = last_date.calendar_date
),

daily_mismatches as (
    select
        'last_day_of_fct_funnel_stage_daily_' || last_day.funnel_stage as check_name,
        coalesce(current_counts.persons, 0) as expected,
        last_day.persons as actual
    from last_day
    left join current_counts
        on last_day.funnel_stage = current_counts.funnel_stage
),

checks as (
    select * from person_counts
    union all
    select * from stage_mismatches
    union all
    select * from daily_mismatches
)

select *
from checks
where expected <> actual
