-- Every audience member exists in the funnel marts in the stage its audience's registry row
-- expects (seed audiences, expected_stage), at the audience's as-of date. The stage at the
-- as-of date is the furthest stage entered by the end of that day (fct_funnel_stages'
-- *_entered_at), so the test holds for a past as-of date too. Any row returned is a failure,
-- with the stage found (null: not in the funnel marts at all).
with

stages as (
    select * from {{ ref('fct_funnel_stages') }}
),

audience_members as (
    select * from {{ ref('fct_audience_members') }}
),

audiences as (
    select * from {{ ref('audiences') }}
),

checked as (
    select
        audience_members.audience_name,
        audience_members.person_id,
        audiences.expected_stage,
        audience_members.as_of_date,
        case
            when {{ is_by_as_of_date('stages.loyal_entered_at', 'audience_members.as_of_date') }}
                then 'loyal'
            when {{ is_by_as_of_date(
                'stages.repeat_buyer_entered_at', 'audience_members.as_of_date'
            ) }}
                then 'repeat_buyer'
            when {{ is_by_as_of_date(
                'stages.first_time_buyer_entered_at', 'audience_members.as_of_date'
            ) }}
                then 'first_time_buyer'
            when {{ is_by_as_of_date('stages.member_entered_at', 'audience_members.as_of_date') }}
                then 'member_no_purchase'
            when stages.person_id is not null then 'visitor'
        end as stage_at_as_of_date
    from audience_members
    left join audiences
        on audience_members.audience_name = audiences.audience_name
    left join stages
        on audience_members.person_id = stages.person_id
)

select *
from checked
where stage_at_as_of_date is distinct from expected_stage
