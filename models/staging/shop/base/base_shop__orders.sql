-- Every raw order row ever read, typed, with `quarantine_rule` (the first rule it breaks;
-- null when clean). An order exported several times keeps its latest clean export (its
-- status may have moved from paid to refunded since); the earlier ones are `duplicate`.
-- Incremental like every base model (docs block incremental_runs): a run types and checks its
-- batch of new files, brings back the stored rows of the keys the batch touches, ranks them
-- together and replaces those keys; a full refresh reads every file, with the same result.
-- Typing comes from the raw-data contract (macros/staging/contract.sql).
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        spark_partition_key='order_id',
        on_schema_change='fail',
        pre_hook="{{ delete_batch_rows('orders') }}",
    )
}}
{%- set stored_columns = contract_staged_names('orders') + contract_raw_names('orders')
    + ['source_file', 'load_date', 'row_hash', 'row_rule'] %}

with

batch as (
    select * from {{ ref('base_shop__orders_batch') }}
),

typed as (
    select
        {{ contract_typed_columns('orders') }},
        {{ contract_sent_columns('orders') }},
        source_file,
        load_date as file_load_date
    from batch
),

hashed as (
    select
        {{ (
            contract_staged_names('orders') + contract_sent_names('orders') + ['source_file']
        ) | join(', ') }},
        coalesce(file_load_date, cast(loaded_at as date)) as load_date,
        {{ contract_row_hash('orders') }} as row_hash
    from typed
),

ruled as (
    select
        *,
        case
            when order_id is null then 'missing_order_id'
            when not {{ is_valid_id('order_id') }} then 'malformed_order_id'
            when member_id is not null and not {{ is_valid_id('member_id') }}
                then 'malformed_member_id'
            when order_status is null then 'missing_status'
            when ordered_at is null then 'invalid_ordered_at'
            when loaded_at is null then 'invalid_loaded_at'
            when {{ is_implausible_timestamp('ordered_at') }} then 'implausible_ordered_at'
            when {{ is_implausible_timestamp('loaded_at') }} then 'implausible_loaded_at'
            when {{ is_implausible_load_date('load_date') }} then 'implausible_load_date'
            when order_total is null then 'invalid_order_total'
            -- an absent discount is no discount (0 in stg_shop__orders)
            when discount_total is null and {{ clean_text('sent_discount_total') }} is not null
                then 'invalid_discount_total'
            when order_total < 0 then 'negative_order_total'
            when discount_total < 0 then 'negative_discount_total'
        end as row_rule
    from hashed
),

checked as (
    select
        {{ contract_staged_names('orders') | join(', ') }},
        {{ contract_raw_columns('orders') }},
        source_file,
        load_date,
        row_hash,
        row_rule
    from ruled
),

{% if is_incremental() -%}
batch_keys as (
    select distinct order_id
    from checked
),

stored as (
    select
        {%- for column in stored_columns %}
        stored_rows.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ this }} as stored_rows
    inner join batch_keys
        on stored_rows.order_id = batch_keys.order_id
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
        {{ version_rank('order_id', 'loaded_at desc') }} as version_rank
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
        {%- for column in contract_staged_names('orders') + contract_raw_names('orders') %}
        {{ column }},
        {%- endfor %}
        row_rule,
        quarantine_rule,
        case
            when quarantine_rule is not null
                then {{ quarantine_row_id(contract_raw_names('orders')) }}
        end as quarantine_row_id,
        row_hash,
        source_file,
        load_date
    from verdicts
)

select * from final
