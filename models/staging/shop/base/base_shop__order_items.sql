-- Every raw order line ever read, typed, with `quarantine_rule` (the first rule it breaks;
-- null when clean). A line (order_id, line_number) sent twice keeps its latest clean load,
-- like its order; the others are `duplicate`.
-- Incremental like every base model (docs block incremental_runs): a run types and checks its
-- batch of new files, brings back the stored rows of the keys the batch touches, ranks them
-- together and replaces those keys; a full refresh reads every file, with the same result.
-- Typing comes from the raw-data contract (macros/staging/contract.sql); the CTEs around
-- this table's rules (`ruled`) are the shape every base model shares (macros
-- base_typed_and_hashed and base_ranked_versions, macros/staging/versions.sql).
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

with

batch as (
    select * from {{ ref('base_shop__order_items_batch') }}
),

{{ base_typed_and_hashed('order_items') }},

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

{{ base_ranked_versions('order_items', ['order_id', 'line_number'], 'loaded_at desc') }}

select * from final
