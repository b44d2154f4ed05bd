-- Every raw member row, typed, with the first rule it breaks (null when none). A member
-- exported several times keeps the latest profile; older versions are duplicates.
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
        cast(sms_opt_in as varchar) as sms_opt_in_raw,
        cast(marketing_opt_in as varchar) as marketing_opt_in_raw,
        cast(signed_up_at as varchar) as signed_up_at_raw,
        cast(updated_at as varchar) as updated_at_raw,
        {{ to_utc_timestamp('signed_up_at') }} as signed_up_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at
    from source
),

ranked as (
    select
        *,
        row_number() over (
            partition by member_id
            order by updated_at desc nulls last, loaded_at desc nulls last, membership_grade asc
        ) as version_rank
    from typed
),

checked as (
    select
        *,
        case
            when member_id is null then 'missing_member_id'
            when not {{ is_valid_id('member_id') }} then 'malformed_member_id'
            when version_rank > 1 then 'duplicate'
            when signed_up_at is null then 'invalid_signed_up_at'
        end as quarantine_rule
    from ranked
)

select * from checked
