-- Every raw order row ever read, typed, with `quarantine_rule` (the first rule it breaks;
-- null when clean). An order exported several times keeps its latest clean export (its
-- status may have moved from paid to refunded since); the earlier ones are `duplicate`.
-- Incremental like every base model (docs block incremental_runs): a run types and checks its
-- batch of new files, brings back the stored rows of the keys the batch touches, ranks them
-- together and replaces those keys; a full refresh reads every file, with the same result.
-- Typing comes from the raw-data contract (macros/staging/contract.sql); the CTEs around
-- this table's rules (`ruled`) are the shape every base model shares (macros
-- base_typed_and_hashed and base_ranked_versions, macros/staging/versions.sql).
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

with

batch as (
    select * from {{ ref('base_shop__orders_batch') }}
),

{{ base_typed_and_hashed('orders') }},

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

{{ base_ranked_versions('orders', ['order_id'], 'loaded_at desc') }}

select * from final
