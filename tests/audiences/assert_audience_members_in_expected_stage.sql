-- Every audience member exists in the funnel marts in the stage the audience expects, at
-- the audience's as-of date: retargeting -> visitor, coupon -> member_no_purchase, SMS ->
-- loyal. The stage at the as-of date is the furthest stage entered by the end of that day
-- (fct_funnel_stages' *_entered_at), so the test holds for a past as-of date too. Any row
-- returned is a failure, with the stage found (null: not in the funnel marts at all).
with

stages as (
    select * from {{ ref('fct_funnel_stages') }}
),

retargeting as (
    select * from {{ ref('aud_signup_retargeting') }}
),

coupon as (
    select * from {{ ref('aud_first_purchase_coupon') }}
),

sms as (
    select * from {{ ref('aud_vip_new_release_sms') }}
),

audience_members as (
    select
        person_id,
        audience_name,
        'visitor' as expected_stage,
        as_of_date
    from retargeting
    union all
    select
        person_id,
        audience_name,
        'member_no_purchase' as expected_stage,
        as_of_date
    from coupon
    union all
    select
        person_id,
        audience_name,
        'loyal' as expected_stage,
        as_of_date
    from sms
),

checked as (
    select
        audience_members.*,
        stages.person_id is not null as is_in_funnel_marts,
        case
            when cast(stages.loyal_entered_at as date) <= audience_members.as_of_date
                then 'loyal'
            when cast(stages.repeat_buyer_entered_at as date) <= audience_members.as_of_date
                then 'repeat_buyer'
            when cast(stages.first_time_buyer_entered_at as date) <= audience_members.as_of_date
                then 'first_time_buyer'
            when cast(stages.member_entered_at as date) <= audience_members.as_of_date
                then 'member_no_purchase'
            when stages.person_id is not null then 'visitor'
        end as stage_at_as_of_date
    from audience_members
    left join stages
        on audience_members.person_id = stages.person_id
)

select *
from checked
where stage_at_as_of_date is distinct from expected_stage
