-- Every raw order line ever read, typed, with `quarantine_rule` (the first rule it breaks;
-- null when clean). A line (order_id, line_number) sent twice keeps its latest clean load,
-- like its order; the others are `duplicate`.
-- Incremental like every base model (docs block incremental_runs): a run types and checks its
-- batch of new files, brings back the stored rows of the keys the batch touches, ranks them
-- together and replaces those keys; a full refresh reads every file, with the same result.
{{
    config(
        materialized='incremental',
        unique_key=['order_id', 'line_number'],
        incremental_strategy='delete+insert',
        pre_hook="{{ delete_batch_rows('order_items') }}",
    )
}}

with

batch as (
    select * from {{ ref('base_shop__order_items_batch') }}
),

typed as (
    select
        {{ clean_text('order_id') }} as order_id,
        {{ to_integer('line_number') }} as line_number,
        {{ clean_text('product_id') }} as product_id,
        {{ to_integer('quantity') }} as quantity,
        {{ to_amount('unit_price') }} as unit_price,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at,
        {{ text_if_cleaned('order_id', clean_text('order_id')) }}
            as order_id_raw,
        {{ text_if_unreadable('line_number', to_integer('line_number')) }}
            as line_number_raw,
        {{ text_if_cleaned('product_id', clean_text('product_id')) }}
            as product_id_raw,
        {{ text_if_unreadable('quantity', to_integer('quantity')) }}
            as quantity_raw,
        {{ text_if_unreadable('unit_price', to_amount('unit_price')) }}
            as unit_price_raw,
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
        hash(order_id, line_number, product_id, quantity, unit_price, loaded_at) as row_hash
    from typed
),

checked as (
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
            when quantity is null then 'invalid_quantity'
            when quantity <= 0 then 'non_positive_quantity'
            when unit_price is null then 'invalid_unit_price'
            when unit_price <= 0 then 'non_positive_unit_price'
        end as row_rule
    from hashed
),

{% if is_incremental() -%}
batch_keys as (
    select distinct order_id, line_number
    from checked
),

stored as (
    select
        stored_rows.order_id,
        stored_rows.line_number,
        stored_rows.product_id,
        stored_rows.quantity,
        stored_rows.unit_price,
        stored_rows.loaded_at,
        stored_rows.order_id_raw,
        stored_rows.line_number_raw,
        stored_rows.product_id_raw,
        stored_rows.quantity_raw,
        stored_rows.unit_price_raw,
        stored_rows.loaded_at_raw,
        stored_rows.source_file,
        stored_rows.load_date,
        stored_rows.row_hash,
        stored_rows.row_rule
    from {{ this }} as stored_rows
    inner join batch_keys
        on stored_rows.order_id = batch_keys.order_id
        and stored_rows.line_number = batch_keys.line_number
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
        {{ version_rank('order_id, line_number', 'loaded_at desc') }} as version_rank
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
        order_id,
        line_number,
        product_id,
        quantity,
        unit_price,
        order_id_raw,
        line_number_raw,
        product_id_raw,
        quantity_raw,
        unit_price_raw,
        loaded_at_raw,
        row_rule,
        quarantine_rule,
        case
            when quarantine_rule is not null
                then {{ quarantine_row_id(['order_id_raw', 'line_number_raw', 'product_id_raw', 'quantity_raw', 'unit_price_raw', 'loaded_at_raw']) }}
        end as quarantine_row_id,
        row_hash,
        source_file,
        load_date,
        loaded_at
    from verdicts
)

select * from final
