-- Every raw member row, typed, with `quarantine_rule`: the first rule it breaks, null when
-- it is clean. Among the clean rows of one member_id the latest profile (updated_at, then
-- loaded_at) is kept; older exports are `duplicate`.
with

source as (
    select * from {{ source('shop', 'members') }}
),

typed as (
    select
        {{ clean_text('member_id') }} as member_id,
        upper({{ clean_text('membership_grade') }}) as membership_grade,
        {{ clean_text('email') }} as email,
        {{ clean_text('phone') }} as phone,
        {{ to_boolean('sms_opt_in') }} as is_sms_opt_in,
        {{ to_boolean('marketing_opt_in') }} as is_marketing_opt_in,
        {{ to_utc_timestamp('signed_up_at') }} as signed_up_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at,
        member_id as member_id_raw,
        signed_up_at as signed_up_at_raw,
        membership_grade as membership_grade_raw,
        sms_opt_in as sms_opt_in_raw,
        marketing_opt_in as marketing_opt_in_raw,
        email as email_raw,
        phone as phone_raw,
        updated_at as updated_at_raw,
        loaded_at as loaded_at_raw
    from source
),

row_checked as (
    select
        *,
        case
            when member_id is null then 'missing_member_id'
            when not {{ is_valid_id('member_id') }} then 'malformed_member_id'
            when signed_up_at is null then 'invalid_signed_up_at'
            when loaded_at is null then 'invalid_loaded_at'
        end as row_rule
    from typed
),

{{
    rank_duplicates(
        'member_id',
        'updated_at desc nulls last, loaded_at desc, membership_grade asc nulls last, email asc nulls last, phone asc nulls last',
        'version_rank'
    )
}}

select * from checked
