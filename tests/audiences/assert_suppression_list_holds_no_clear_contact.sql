-- The suppression list holds no e-mail or phone in clear: every email_sha256 and phone_sha256
-- value is 64 hex digits (a SHA-256 digest of the normalised value), and no value of any type
-- holds an '@' or looks like a phone number. Any row returned is a failure.
with

suppression_list as (
    select * from {{ ref('suppression_list') }}
),

violations as (
    select
        suppression_type,
        suppression_value,
        'not_a_sha256_hex_digest' as broken_rule
    from suppression_list
    where
        suppression_type in ('email_sha256', 'phone_sha256')
        and not {{ regex_full_match('lower(trim(suppression_value))', '[0-9a-f]{64}') }}
    union all
    select
        suppression_type,
        suppression_value,
        'clear_contact_value' as broken_rule
    from suppression_list
    where
        suppression_value like '%@%'
        or {{ regex_full_match(
            'trim(suppression_value)', '[+]?(82)?[- ]?\\(?0?\\)?1[0-9][- ]?[0-9]{3,4}[- ]?[0-9]{4}'
        ) }}
)

select * from violations
