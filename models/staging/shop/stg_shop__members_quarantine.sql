-- Raw member rows that broke a rule, as sent (text), with the rule; older exports of a
-- member are here with rule `duplicate`. E-mail and phone are PII, as in stg_shop__members.
with

members as (
    select * from {{ ref('base_shop__members') }}
),

rejected as (
    select
        {{ raw_text('member_id_raw') }} as member_id,
        {{ raw_text('signed_up_at_raw') }} as signed_up_at,
        {{ raw_text('membership_grade_raw') }} as membership_grade,
        {{ raw_text('sms_opt_in_raw') }} as sms_opt_in,
        {{ raw_text('marketing_opt_in_raw') }} as marketing_opt_in,
        {{ raw_text('email_raw') }} as email,
        {{ raw_text('phone_raw') }} as phone,
        {{ raw_text('updated_at_raw') }} as updated_at,
        {{ raw_text('loaded_at_raw') }} as loaded_at,
        quarantine_rule
    from members
    where quarantine_rule is not null
),

identified as (
    select
        {{ raw_row_id([
            'member_id', 'signed_up_at', 'membership_grade', 'sms_opt_in', 'marketing_opt_in',
            'email', 'phone', 'updated_at', 'loaded_at',
        ]) }} as quarantine_row_id,
        *,
        {{ quarantined_at() }} as quarantined_at
    from rejected
)

select * from identified
