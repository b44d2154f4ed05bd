-- Every raw grade-history row ever read, typed, with `quarantine_rule` (the first rule it
-- breaks; null when clean). A member and valid_from sent twice keeps its latest load; the
-- others are `duplicate`.
-- Incremental like every base model (docs block incremental_runs): a run types and checks its
-- batch of new files, brings back the stored rows of the keys the batch touches, ranks them
-- together and replaces those keys; a full refresh reads every file, with the same result.
-- Typing comes from the raw-data contract (macros/staging/contract.sql); the CTEs around
-- this table's rules (`ruled`) are the shape every base model shares (macros
-- base_typed_and_hashed and base_ranked_versions, macros/staging/versions.sql).
{{
    config(
        materialized='incremental',
        unique_key=['member_id', 'valid_from'],
        incremental_strategy='delete+insert',
        spark_partition_key='member_id',
        on_schema_change='fail',
        pre_hook="{{ delete_batch_rows('member_grade_history') }}",
    )
}}

with

batch as (
    select * from {{ ref('base_shop__member_grade_history_batch') }}
),

{{ base_typed_and_hashed('member_grade_history') }},

ruled as (
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
            when {{ is_implausible_load_date('load_date') }} then 'implausible_load_date'
        end as row_rule
    from hashed
),

{{ base_ranked_versions('member_grade_history', ['member_id', 'valid_from'], 'loaded_at desc') }}

select * from final
