-- One row per member with consent and the suppression list resolved: the only place audiences
-- read members from. A member on the suppression list (by member id, or by the unsalted
-- SHA-256 of the normalised e-mail or phone, as the seed stores them) is never contactable,
-- whatever the opt-ins say. No contact data and no hash leave this model: only whether the
-- member has an e-mail and a phone number.
with

members as (
    select * from {{ ref('stg_shop__members') }}
),

suppression_list as (
    select * from {{ ref('suppression_list') }}
),

suppressed_member_ids as (
    select distinct suppression_value as member_id
    from suppression_list
    where suppression_type = 'member_id'
),

suppressed_emails as (
    select distinct lower(trim(suppression_value)) as email_sha256
    from suppression_list
    where suppression_type = 'email_sha256'
),

suppressed_phones as (
    select distinct lower(trim(suppression_value)) as phone_sha256
    from suppression_list
    where suppression_type = 'phone_sha256'
),

contact_keys as (
    select
        member_id,
        membership_grade,
        grade_rank,
        is_sms_opt_in,
        is_marketing_opt_in,
        {{ sha256_hex(normalized_email('email')) }} as email_sha256,
        {{ sha256_hex(normalized_phone('phone')) }} as phone_sha256,
        signed_up_at
    from members
),

flagged as (
    select
        contact_keys.member_id,
        contact_keys.membership_grade,
        contact_keys.grade_rank,
        contact_keys.is_sms_opt_in,
        contact_keys.is_marketing_opt_in,
        contact_keys.email_sha256 is not null as has_email,
        contact_keys.phone_sha256 is not null as has_phone,
        (
            suppressed_member_ids.member_id is not null
            or suppressed_emails.email_sha256 is not null
            or suppressed_phones.phone_sha256 is not null
        ) as is_suppressed,
        contact_keys.signed_up_at
    from contact_keys
    left join suppressed_member_ids
        on contact_keys.member_id = suppressed_member_ids.member_id
    left join suppressed_emails
        on contact_keys.email_sha256 = suppressed_emails.email_sha256
    left join suppressed_phones
        on contact_keys.phone_sha256 = suppressed_phones.phone_sha256
),

final as (
    select
        {{ person_id('member_id', 'null') }} as person_id,
        member_id,
        membership_grade,
        grade_rank,
        has_email,
        has_phone,
        is_marketing_opt_in and not is_suppressed as can_send_marketing,
        is_sms_opt_in and not is_suppressed and has_phone as can_send_sms,
        is_suppressed,
        signed_up_at
    from flagged
)

select * from final
