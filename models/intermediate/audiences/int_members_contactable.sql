-- One row per member with consent and suppression resolved, and contact data hashed: the
-- only place audiences read members from. A member on the suppression list (by member id,
-- e-mail or phone) is never contactable, whatever the opt-ins say.
with

members as (
    select * from {{ ref('stg_shop__members') }}
),

suppression_list as (
    select * from {{ ref('suppression_list') }}
),

suppressed_ids as (
    select distinct suppression_value as member_id
    from suppression_list
    where suppression_type = 'member_id'
),

suppressed_emails as (
    select distinct lower(trim(suppression_value)) as email_key
    from suppression_list
    where suppression_type = 'email'
),

suppressed_phones as (
    select distinct {{ normalized_phone('suppression_value') }} as phone_key
    from suppression_list
    where suppression_type = 'phone'
),

flagged as (
    select
        members.member_id,
        members.membership_grade,
        members.grade_rank,
        members.is_sms_opt_in,
        members.is_marketing_opt_in,
        {{ hashed_email('members.email') }} as email_sha256,
        {{ hashed_phone('members.phone') }} as phone_sha256,
        (
            suppressed_ids.member_id is not null
            or suppressed_emails.email_key is not null
            or suppressed_phones.phone_key is not null
        ) as is_suppressed,
        members.signed_up_at
    from members
    left join suppressed_ids
        on members.member_id = suppressed_ids.member_id
    left join suppressed_emails
        on lower(trim(members.email)) = suppressed_emails.email_key
    left join suppressed_phones
        on {{ normalized_phone('members.phone') }} = suppressed_phones.phone_key
),

final as (
    select
        {{ person_id('member_id', 'null') }} as person_id,
        member_id,
        membership_grade,
        grade_rank,
        email_sha256,
        phone_sha256,
        is_marketing_opt_in and not is_suppressed as can_send_marketing,
        is_sms_opt_in and not is_suppressed and phone_sha256 is not null as can_send_sms,
        is_suppressed,
        signed_up_at
    from flagged
)

select * from final
