-- No audience row without consent: every person in the coupon audience allows marketing,
-- every person in the SMS audience allows SMS, and nobody on the suppression list appears
-- anywhere (checked against staging and the seed directly, not through
-- int_members_contactable). Any row returned is a failure, named by the rule it broke.
with

coupon as (
    select * from {{ ref('aud_first_purchase_coupon') }}
),

sms as (
    select * from {{ ref('aud_vip_new_release_sms') }}
),

retargeting as (
    select * from {{ ref('aud_signup_retargeting') }}
),

members as (
    select * from {{ ref('stg_shop__members') }}
),

suppression_list as (
    select * from {{ ref('suppression_list') }}
),

suppressed_members as (
    select members.member_id
    from members
    inner join suppression_list
        on
            (
                suppression_list.suppression_type = 'member_id'
                and members.member_id = suppression_list.suppression_value
            )
            or (
                suppression_list.suppression_type = 'email'
                and lower(trim(members.email)) = lower(trim(suppression_list.suppression_value))
            )
            or (
                suppression_list.suppression_type = 'phone'
                and {{ normalized_phone('members.phone') }}
                = {{ normalized_phone('suppression_list.suppression_value') }}
            )
),

violations as (
    select
        coupon.person_id,
        'coupon_without_marketing_opt_in' as broken_rule
    from coupon
    inner join members
        on coupon.member_id = members.member_id
    where not members.is_marketing_opt_in
    union all
    select
        sms.person_id,
        'sms_without_sms_opt_in' as broken_rule
    from sms
    inner join members
        on sms.member_id = members.member_id
    where not members.is_sms_opt_in
    union all
    select
        coupon.person_id,
        'suppressed_member_in_coupon_audience' as broken_rule
    from coupon
    inner join suppressed_members
        on coupon.member_id = suppressed_members.member_id
    union all
    select
        sms.person_id,
        'suppressed_member_in_sms_audience' as broken_rule
    from sms
    inner join suppressed_members
        on sms.member_id = suppressed_members.member_id
    union all
    select
        retargeting.person_id,
        'member_in_signup_retargeting' as broken_rule
    from retargeting
    inner join members
        on
            retargeting.person_id = 'mbr_' || members.member_id
            and cast(members.signed_up_at as date) <= retargeting.as_of_date
)

select * from violations
