-- No audience row without consent: every member in an audience holds the opt-in its registry
-- row requires (seed audiences, required_consent: marketing or sms, and a phone for sms),
-- nobody on the suppression list appears anywhere, and no member at the as-of date is
-- retargeted as a visitor. Checked against staging and the seeds directly (hashing the
-- normalised contact here), not through int_members_contactable. Any row returned is a
-- failure, named by the rule it broke.
with

audience_members as (
    select * from {{ ref('fct_audience_members') }}
),

audiences as (
    select * from {{ ref('audiences') }}
),

members as (
    select * from {{ ref('stg_shop__members') }}
),

suppression_list as (
    select * from {{ ref('suppression_list') }}
),

member_keys as (
    select
        member_id,
        is_marketing_opt_in,
        is_sms_opt_in,
        {{ normalized_phone('phone') }} is not null as has_phone,
        {{ sha256_hex(normalized_email('email')) }} as email_sha256,
        {{ sha256_hex(normalized_phone('phone')) }} as phone_sha256,
        signed_up_at
    from members
),

suppressed_members as (
    select distinct member_keys.member_id
    from member_keys
    inner join suppression_list
        on
            (
                suppression_list.suppression_type = 'member_id'
                and member_keys.member_id = suppression_list.suppression_value
            )
            or (
                suppression_list.suppression_type = 'email_sha256'
                and member_keys.email_sha256 = lower(suppression_list.suppression_value)
            )
            or (
                suppression_list.suppression_type = 'phone_sha256'
                and member_keys.phone_sha256 = lower(suppression_list.suppression_value)
            )
),

checked as (
    select
        audience_members.audience_name,
        audience_members.person_id,
        audience_members.member_id,
        audience_members.as_of_date,
        audiences.required_consent,
        audiences.expected_stage,
        member_keys.is_marketing_opt_in,
        member_keys.is_sms_opt_in,
        member_keys.has_phone,
        member_keys.signed_up_at,
        suppressed_members.member_id is not null as is_suppressed
    from audience_members
    inner join audiences
        on audience_members.audience_name = audiences.audience_name
    inner join member_keys
        on audience_members.member_id = member_keys.member_id
    left join suppressed_members
        on audience_members.member_id = suppressed_members.member_id
),

violations as (
    select
        audience_name,
        person_id,
        'member_without_marketing_opt_in' as broken_rule
    from checked
    where required_consent = 'marketing' and not is_marketing_opt_in
    union all
    select
        audience_name,
        person_id,
        'member_without_sms_opt_in_or_phone' as broken_rule
    from checked
    where required_consent = 'sms' and not (is_sms_opt_in and has_phone)
    union all
    select
        audience_name,
        person_id,
        'suppressed_member' as broken_rule
    from checked
    where is_suppressed
    union all
    select
        audience_name,
        person_id,
        'member_at_the_as_of_date_targeted_as_a_visitor' as broken_rule
    from checked
    where
        expected_stage = 'visitor'
        and {{ is_by_as_of_date('signed_up_at', 'as_of_date') }}
)

select * from violations
