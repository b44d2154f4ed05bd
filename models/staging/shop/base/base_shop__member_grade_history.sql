-- Every raw grade-history row ever read, typed, with `quarantine_rule` (the first rule it
-- breaks; null when clean). A member and valid_from sent twice keeps its latest load; the
-- others are `duplicate`.
-- Incremental like every base model (docs block incremental_runs): a run types and checks its
-- batch of new files, brings back the stored rows of the keys the batch touches, ranks them
-- together and replaces those keys; a full refresh reads every file, with the same result.
{{
    config(
        materialized='incremental',
        unique_key=['member_id', 'valid_from'],
        incremental_strategy='delete+insert',
        pre_hook="{{ delete_batch_rows('member_grade_history') }}",
    )
}}

with

batch as (
    select * from {{ ref('base_shop__member_grade_history_batch') }}
),

typed as (
    select
        {{ clean_text('member_id') }} as member_id,
        upper({{ clean_text('membership_grade') }}) as membership_grade,
        {{ to_utc_timestamp('valid_from') }} as valid_from,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at,
        {{ text_if_cleaned('member_id', clean_text('member_id')) }}
            as member_id_raw,
        {{ text_if_cleaned('membership_grade', 'upper(' ~ clean_text('membership_grade') ~ ')') }}
            as membership_grade_raw,
        {{ text_if_unreadable('valid_from', to_utc_timestamp('valid_from')) }}
            as valid_from_raw,
        {{ text_if_unreadable('loaded_at', to_utc_timestamp('loaded_at')) }}
            as loaded_at_raw,
        source_file,
        load_date as file_load_date
    from batch
),

hashed as (
    select
        * exclude (file_load_date),
        coalesce(file_load_date, cast(loaded_at as date)) as load_date,
        hash(member_id, membership_grade, valid_from, loaded_at) as row_hash
    from typed
),

checked as (
    select
        *,
        case
            when member_id is null then 'missing_member_id'
            when not {{ is_valid_id('member_id') }} then 'malformed_member_id'
            when membership_grade is null then 'missing_membership_grade'
            when valid_from is null then 'invalid_valid_from'
            when loaded_at is null then 'invalid_loaded_at'
            when {{ is_implausible_timestamp('valid_from') }} then 'implausible_valid_from'
            when {{ is_implausible_timestamp('loaded_at') }} then 'implausible_loaded_at'
        end as row_rule
    from hashed
),

{% if is_incremental() -%}
batch_keys as (
    select distinct member_id, valid_from
    from checked
),

stored as (
    select
        stored_rows.member_id,
        stored_rows.membership_grade,
        stored_rows.valid_from,
        stored_rows.loaded_at,
        stored_rows.member_id_raw,
        stored_rows.membership_grade_raw,
        stored_rows.valid_from_raw,
        stored_rows.loaded_at_raw,
        stored_rows.source_file,
        stored_rows.load_date,
        stored_rows.row_hash,
        stored_rows.row_rule
    from {{ this }} as stored_rows
    inner join batch_keys
        on stored_rows.member_id = batch_keys.member_id
        and stored_rows.valid_from = batch_keys.valid_from
),
{%- endif %}

candidates as (
    select * from checked
    {% if is_incremental() -%}
    union all by name
    select * from stored
    {%- endif %}
),

ranked as (
    select
        *,
        {{ version_rank('member_id, valid_from', 'loaded_at desc') }} as version_rank
    from candidates
),

verdicts as (
    select
        * exclude (version_rank),
        coalesce(row_rule, case when version_rank > 1 then 'duplicate' end) as quarantine_rule
    from ranked
),

final as (
    select
        member_id,
        membership_grade,
        valid_from,
        member_id_raw,
        membership_grade_raw,
        valid_from_raw,
        loaded_at_raw,
        row_rule,
        quarantine_rule,
        case
            when quarantine_rule is not null
                then {{ quarantine_row_id(['member_id_raw', 'membership_grade_raw', 'valid_from_raw', 'loaded_at_raw']) }}
        end as quarantine_row_id,
        row_hash,
        source_file,
        load_date,
        loaded_at
    from verdicts
)

select * from final
