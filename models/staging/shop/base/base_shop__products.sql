-- Every raw product row ever read, typed, with `quarantine_rule` (the first rule it breaks;
-- null when clean). A product sent twice keeps its latest clean load; the others are
-- `duplicate`.
-- Incremental like every base model (docs block incremental_runs): a run types and checks its
-- batch of new files, brings back the stored rows of the keys the batch touches, ranks them
-- together and replaces those keys; a full refresh reads every file, with the same result.
-- Typing comes from the raw-data contract (macros/staging/contract.sql).
{{
    config(
        materialized='incremental',
        unique_key='product_id',
        incremental_strategy='delete+insert',
        spark_partition_key='product_id',
        on_schema_change='fail',
        pre_hook="{{ delete_batch_rows('products') }}",
    )
}}
{%- set stored_columns = contract_staged_names('products') + contract_raw_names('products')
    + ['source_file', 'load_date', 'row_hash', 'row_rule'] %}

with

batch as (
    select * from {{ ref('base_shop__products_batch') }}
),

typed as (
    select
        {{ contract_typed_columns('products') }},
        {{ contract_sent_columns('products') }},
        source_file,
        load_date as file_load_date
    from batch
),

hashed as (
    select
        {{ (
            contract_staged_names('products') + contract_sent_names('products') + ['source_file']
        ) | join(', ') }},
        coalesce(file_load_date, cast(loaded_at as date)) as load_date,
        {{ contract_row_hash('products') }} as row_hash
    from typed
),

ruled as (
    select
        *,
        case
            when product_id is null then 'missing_product_id'
            when not {{ is_valid_id('product_id') }} then 'malformed_product_id'
            when loaded_at is null then 'invalid_loaded_at'
            when {{ is_implausible_timestamp('loaded_at') }} then 'implausible_loaded_at'
            when {{ is_implausible_load_date('load_date') }} then 'implausible_load_date'
            when list_price is null then 'invalid_list_price'
            when list_price <= 0 then 'non_positive_list_price'
            -- an absent release date is no release date (the contract's column is optional;
            -- a tracker's products have none); one that cannot be read is broken
            when released_at is null and {{ clean_text('sent_released_at') }} is not null
                then 'invalid_released_at'
            -- a release date may lie ahead (announced products): only the lower bound
            when {{ is_implausible_timestamp('released_at', allow_future=true) }}
                then 'implausible_released_at'
            -- an absent flag means not exclusive (false in stg_shop__products)
            when is_vip_exclusive is null and {{ clean_text('sent_is_vip_exclusive') }} is not null
                then 'invalid_is_vip_exclusive'
        end as row_rule
    from hashed
),

checked as (
    select
        {{ contract_staged_names('products') | join(', ') }},
        {{ contract_raw_columns('products') }},
        source_file,
        load_date,
        row_hash,
        row_rule
    from ruled
),

{% if is_incremental() -%}
batch_keys as (
    select distinct product_id
    from checked
),

stored as (
    select
        {%- for column in stored_columns %}
        stored_rows.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ this }} as stored_rows
    inner join batch_keys
        on stored_rows.product_id = batch_keys.product_id
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
        {{ version_rank('product_id', 'loaded_at desc') }} as version_rank
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
        {%- for column in contract_staged_names('products') + contract_raw_names('products') %}
        {{ column }},
        {%- endfor %}
        row_rule,
        quarantine_rule,
        case
            when quarantine_rule is not null
                then {{ quarantine_row_id(contract_raw_names('products')) }}
        end as quarantine_row_id,
        row_hash,
        source_file,
        load_date
    from verdicts
)

select * from final
