-- Every raw order line ever read, typed, with `quarantine_rule` (the first rule it breaks;
-- null when clean). A line (order_id, line_number) sent twice keeps its latest clean load,
-- like its order; the others are `duplicate`.
-- Incremental like every base model (docs block incremental_runs): a run types and checks its
-- batch of new files, brings back the stored rows of the keys the batch touches, ranks them
-- together and replaces those keys; a full refresh reads every file, with the same result.
-- Typing comes from the raw-data contract (macros/staging/contract.sql).
{{
    config(
        materialized='incremental',
        unique_key=['order_id', 'line_number'],
        incremental_strategy='delete+insert',
        spark_partition_key='order_id',
        on_schema_change='fail',
        pre_hook="{{ delete_batch_rows('order_items') }}",
    )
}}
{%- set stored_columns = contract_staged_names('order_items') + contract_raw_names('order_items')
    + ['source_file', 'load_date', 'row_hash', 'row_rule'] %}

with

batch as (
    select * from {{ ref('base_shop__order_items_batch') }}
),

typed as (
    select
        {{ contract_typed_columns('order_items') }},
        {{ contract_sent_columns('order_items') }},
        source_file,
        load_date as file_load_date
    from batch
),

hashed as (
    select
        {{ (
            contract_staged_names('order_items') + contract_sent_names('order_items')
            + ['source_file']
        ) | join(', ') }},
        coalesce(file_load_date, cast(loaded_at as date)) as load_date,
        {{ contract_row_hash('order_items') }} as row_hash
    from typed
),

ruled as (
    select
        *,
        case
            when order_id is null then 'missing_order_id'
            when not {{ is_valid_id('order_id') }} then 'malformed_order_id'
            when line_number is null or line_number < 1 then 'invalid_line_number'
            when product_id is null then 'missing_product_id'
            when not {{ is_valid_id('product_id') }} then 'malformed_product_id'
            when loaded_at is null then 'invalid_loaded_at'
            when {{ is_implausible_timestamp('loaded_at') }} then 'implausible_loaded_at'
            when {{ is_implausible_load_date('load_date') }} then 'implausible_load_date'
            when quantity is null then 'invalid_quantity'
            when quantity <= 0 then 'non_positive_quantity'
            when unit_price is null then 'invalid_unit_price'
            when unit_price <= 0 then 'non_positive_unit_price'
        end as row_rule
    from hashed
),

checked as (
    select
        {{ contract_staged_names('order_items') | join(', ') }},
        {{ contract_raw_columns('order_items') }},
        source_file,
        load_date,
        row_hash,
        row_rule
    from ruled
),

{% if is_incremental() -%}
batch_keys as (
    select distinct order_id, line_number
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
        and stored_rows.line_number = batch_keys.line_number
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
        {{ version_rank('order_id, line_number', 'loaded_at desc') }} as version_rank
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
        {%- for column in contract_staged_names('order_items')
            + contract_raw_names('order_items') %}
        {{ column }},
        {%- endfor %}
        row_rule,
        quarantine_rule,
        case
            when quarantine_rule is not null
                then {{ quarantine_row_id(contract_raw_names('order_items')) }}
        end as quarantine_row_id,
        row_hash,
        source_file,
        load_date
    from verdicts
)

select * from final
