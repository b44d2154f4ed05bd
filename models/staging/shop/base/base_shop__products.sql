-- Every raw product row ever read, typed, with `quarantine_rule` (the first rule it breaks;
-- null when clean). A product sent twice keeps its latest clean load; the others are
-- `duplicate`.
-- Incremental like every base model (docs block incremental_runs): a run types and checks its
-- batch of new files, brings back the stored rows of the keys the batch touches, ranks them
-- together and replaces those keys; a full refresh reads every file, with the same result.
{{
    config(
        materialized='incremental',
        unique_key='product_id',
        incremental_strategy='delete+insert',
        pre_hook="{{ delete_batch_rows('products') }}",
    )
}}

with

batch as (
    select * from {{ ref('base_shop__products_batch') }}
),

typed as (
    select
        {{ clean_text('product_id') }} as product_id,
        {{ clean_text('product_name') }} as product_name,
        lower({{ clean_text('category') }}) as category,
        {{ to_amount('list_price') }} as list_price,
        {{ to_boolean('is_vip_exclusive') }} as is_vip_exclusive,
        {{ to_utc_timestamp('released_at') }} as released_at,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at,
        {{ text_if_cleaned('product_id', clean_text('product_id')) }}
            as product_id_raw,
        {{ text_if_cleaned('product_name', clean_text('product_name')) }}
            as product_name_raw,
        {{ text_if_cleaned('category', 'lower(' ~ clean_text('category') ~ ')') }}
            as category_raw,
        {{ text_if_unreadable('list_price', to_amount('list_price')) }}
            as list_price_raw,
        {{ text_if_unreadable('is_vip_exclusive', to_boolean('is_vip_exclusive')) }}
            as is_vip_exclusive_raw,
        {{ text_if_unreadable('released_at', to_utc_timestamp('released_at')) }}
            as released_at_raw,
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
        hash(product_id, product_name, category, list_price, is_vip_exclusive, released_at, loaded_at) as row_hash
    from typed
),

checked as (
    select
        *,
        case
            when product_id is null then 'missing_product_id'
            when not {{ is_valid_id('product_id') }} then 'malformed_product_id'
            when loaded_at is null then 'invalid_loaded_at'
            when {{ is_implausible_timestamp('loaded_at') }} then 'implausible_loaded_at'
            when list_price is null then 'invalid_list_price'
            when list_price <= 0 then 'non_positive_list_price'
            when released_at is null then 'invalid_released_at'
            -- a release date may lie ahead (announced products): only the lower bound
            when {{ is_implausible_timestamp('released_at', allow_future=true) }}
                then 'implausible_released_at'
            -- an absent flag means not exclusive (false in stg_shop__products)
            when is_vip_exclusive is null and nullif(trim(is_vip_exclusive_raw), '') is not null
                then 'invalid_is_vip_exclusive'
        end as row_rule
    from hashed
),

{% if is_incremental() -%}
batch_keys as (
    select distinct product_id
    from checked
),

stored as (
    select
        stored_rows.product_id,
        stored_rows.product_name,
        stored_rows.category,
        stored_rows.list_price,
        stored_rows.is_vip_exclusive,
        stored_rows.released_at,
        stored_rows.loaded_at,
        stored_rows.product_id_raw,
        stored_rows.product_name_raw,
        stored_rows.category_raw,
        stored_rows.list_price_raw,
        stored_rows.is_vip_exclusive_raw,
        stored_rows.released_at_raw,
        stored_rows.loaded_at_raw,
        stored_rows.source_file,
        stored_rows.load_date,
        stored_rows.row_hash,
        stored_rows.row_rule
    from {{ this }} as stored_rows
    inner join batch_keys
        on stored_rows.product_id = batch_keys.product_id
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
        {{ version_rank('product_id', 'loaded_at desc') }} as version_rank
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
        product_id,
        product_name,
        category,
        list_price,
        is_vip_exclusive,
        released_at,
        product_id_raw,
        product_name_raw,
        category_raw,
        list_price_raw,
        is_vip_exclusive_raw,
        released_at_raw,
        loaded_at_raw,
        row_rule,
        quarantine_rule,
        case
            when quarantine_rule is not null
                then {{ quarantine_row_id(['product_id_raw', 'product_name_raw', 'category_raw', 'list_price_raw', 'is_vip_exclusive_raw', 'released_at_raw', 'loaded_at_raw']) }}
        end as quarantine_row_id,
        row_hash,
        source_file,
        load_date,
        loaded_at
    from verdicts
)

select * from final
