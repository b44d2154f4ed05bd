-- Every raw product row ever read, typed, with `quarantine_rule` (the first rule it breaks;
-- null when clean). A product sent twice keeps its latest clean load; the others are
-- `duplicate`.
-- Incremental like every base model (docs block incremental_runs): a run types and checks its
-- batch of new files, brings back the stored rows of the keys the batch touches, ranks them
-- together and replaces those keys; a full refresh reads every file, with the same result.
-- Typing comes from the raw-data contract (macros/staging/contract.sql); the CTEs around
-- this table's rules (`ruled`) are the shape every base model shares (macros
-- base_typed_and_hashed and base_ranked_versions, macros/staging/versions.sql).
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

with

batch as (
    select * from {{ ref('base_shop__products_batch') }}
),

{{ base_typed_and_hashed('products') }},

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

{{ base_ranked_versions('products', ['product_id'], 'loaded_at desc') }}

select * from final
