-- Every raw grade-history row, typed, with `quarantine_rule`: the first rule it breaks,
-- null when it is clean. A member and valid_from sent twice keeps its latest load; the
-- others are `duplicate`.
with

source as (
    select * from {{ source('shop', 'member_grade_history') }}
),

typed as (
    select
        {{ clean_text('member_id') }} as member_id,
        upper({{ clean_text('membership_grade') }}) as membership_grade,
        {{ to_utc_timestamp('valid_from') }} as valid_from,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at,
        member_id as member_id_raw,
        membership_grade as membership_grade_raw,
        valid_from as valid_from_raw,
        loaded_at as loaded_at_raw
    from source
),

row_checked as (
    select
        *,
        case
            when member_id is null then 'missing_member_id'
            when not {{ is_valid_id('member_id') }} then 'malformed_member_id'
            when membership_grade is null then 'missing_membership_grade'
            when valid_from is null then 'invalid_valid_from'
            when loaded_at is null then 'invalid_loaded_at'
        end as row_rule
    from typed
),

{{
    rank_duplicates(
        'member_id, valid_from',
        'loaded_at desc, membership_grade asc',
        'version_rank'
    )
}}

select * from checked
