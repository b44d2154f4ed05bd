-- Every raw grade-history row ever read, typed, with `quarantine_rule` (the first rule it
-- breaks; null when clean). A member and valid_from sent twice keeps its latest load; the
-- others are `duplicate`.
-- Incremental like every base model (docs block incremental_runs): a run types and checks its
-- batch of new files, brings back the stored rows of the keys the batch touches, ranks them
-- together and replaces those keys; a full refresh reads every file, with the same result.
-- Typing comes from the raw-data contract (macros/staging/contract.sql).
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
{%- set stored_columns = contract_staged_names('member_grade_history')
    + contract_raw_names('member_grade_history')
    + ['source_file', 'load_date', 'row_hash', 'row_rule'] %}

with

batch as (
    select * from {{ ref('base_shop__member_grade_history_batch') }}
),

typed as (
    select
        {{ contract_typed_columns('member_grade_history') }},
        {{ contract_sent_columns('member_grade_history') }},
        source_file,
        load_date as file_load_date
    from batch
),

hashed as (
    select
        {{ (
            contract_staged_names('member_grade_history')
            + contract_sent_names('member_grade_history')
            + ['source_file']
        ) | join(', ') }},
        coalesce(file_load_date, cast(loaded_at as date)) as load_date,
        {{ contract_row_hash('member_grade_history') }} as row_hash
    from typed
),

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

checked as (
    select
        {{ contract_staged_names('member_grade_history') | join(', ') }},
        {{ contract_raw_columns('member_grade_history') }},
        source_file,
        load_date,
        row_hash,
        row_rule
    from ruled
),

{% if is_incremental() -%}
batch_keys as (
    select distinct member_id, valid_from
    from checked
),

stored as (
    select
        {%- for column in stored_columns %}
        stored_rows.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ this }} as stored_rows
    inner join batch_keys
        on stored_rows.member_id = batch_keys.member_id
        and stored_rows.valid_from = batch_keys.valid_from
),
{%- endif %}

candidates as (
    select * from checked
    {% if is_incremental() -%}
    union all
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
        {{ stored_columns | join(', ') }},
        coalesce(row_rule, case when version_rank > 1 then 'duplicate' end) as quarantine_rule
    from ranked
),

final as (
    select
        {%- for column in contract_staged_names('member_grade_history')
            + contract_raw_names('member_grade_history') %}
        {{ column }},
        {%- endfor %}
        row_rule,
        quarantine_rule,
        case
            when quarantine_rule is not null
                then {{ quarantine_row_id(contract_raw_names('member_grade_history')) }}
        end as quarantine_row_id,
        row_hash,
        source_file,
        load_date
    from verdicts
)

select * from final
