-- Every raw grade-history row, typed, with the first rule it breaks (null when none).
with

source as (
    select * from {{ source('shop', 'member_grade_history') }}
),

typed as (
    select
        {{ clean_text('member_id') }} as member_id,
        upper({{ clean_text('membership_grade') }}) as membership_grade,
        cast(valid_from as varchar) as valid_from_raw,
        {{ to_utc_timestamp('valid_from') }} as valid_from,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at
    from source
),

ranked as (
    select
        *,
        row_number() over (
            partition by member_id, valid_from
            order by loaded_at desc nulls last, membership_grade asc
        ) as version_rank
    from typed
),

checked as (
    select
        *,
        case
            when member_id is null then 'missing_member_id'
            when not {{ is_valid_id('member_id') }} then 'malformed_member_id'
            when valid_from is null then 'invalid_valid_from'
            when membership_grade is null then 'missing_membership_grade'
            when version_rank > 1 then 'duplicate'
        end as quarantine_rule
    from ranked
)

select * from checked
