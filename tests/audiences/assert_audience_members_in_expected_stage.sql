-- Every audience member exists in the funnel marts in the stage the audience expects:
-- retargeting -> visitor, coupon -> member_no_purchase, SMS -> loyal. Any row returned is a
-- failure.
with

stages as (
    select * from {{ ref('fct_funnel_stages') }}
),

audience_members as (
    select person_id, 'visitor' as expected_stage, as_of_date
    from {{ ref('aud_signup_retargeting') }}
    union all
    select person_id, 'member_no_purchase' as expected_stage, as_of_date
    from {{ ref('aud_first_purchase_coupon') }}
    union all
    select person_id, 'loyal' as expected_stage, as_of_date
    from {{ ref('aud_vip_new_release_sms') }}
),

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

checked as (
    select
        audience_members.person_id,
        audience_members.expected_stage,
        stages.funnel_stage
    from audience_members
    cross join as_of
    left join stages
        on audience_members.person_id = stages.person_id
    -- with an as-of date in the past, a person may have moved on since: only the current
    -- build (as-of = last day of data) must match the current stage exactly
    where as_of.as_of_date = as_of.data_end_date
)

select *
from checked
where funnel_stage is distinct from expected_stage
