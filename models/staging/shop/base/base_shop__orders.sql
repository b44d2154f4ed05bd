-- Every raw order row ever read, typed, with `quarantine_rule` (the first rule it breaks;
-- null when clean). An order exported several times keeps its latest clean export (its
-- status may have moved from paid to refunded since); the earlier ones are `duplicate`.
-- Incremental like every base model (docs block incremental_runs): a run types and checks its
-- batch of new files, brings back the stored rows of the keys the batch touches, ranks them
-- together and replaces those keys; a full refresh reads every file, with the same result.
{{
    config(
        materialized='incremental',
        unique_key='order_id',
        incremental_strategy='delete+insert',
        pre_hook="{{ delete_batch_rows('orders') }}",
    )
}}

with

batch as (
    select * from {{ ref('base_shop__orders_batch') }}
),

typed as (
    select
        {{ clean_text('order_id') }} as order_id,
        {{ clean_text('member_id') }} as member_id,
        lower({{ clean_text('status') }}) as order_status,
        upper({{ clean_text('currency') }}) as currency,
        {{ clean_text('coupon_code') }} as coupon_code,
        {{ to_amount('order_total') }} as order_total,
        {{ to_amount('discount_total') }} as discount_total,
        {{ to_utc_timestamp('ordered_at') }} as ordered_at,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at,
        {{ text_if_cleaned('order_id', clean_text('order_id')) }}
            as order_id_raw,
        {{ text_if_cleaned('member_id', clean_text('member_id')) }}
            as member_id_raw,
        {{ text_if_cleaned('status', 'lower(' ~ clean_text('status') ~ ')') }}
            as order_status_raw,
        {{ text_if_cleaned('currency', 'upper(' ~ clean_text('currency') ~ ')') }}
            as currency_raw,
        {{ text_if_cleaned('coupon_code', clean_text('coupon_code')) }}
            as coupon_code_raw,
        {{ text_if_unreadable('order_total', to_amount('order_total')) }}
            as order_total_raw,
        {{ text_if_unreadable('discount_total', to_amount('discount_total')) }}
            as discount_total_raw,
        {{ text_if_unreadable('ordered_at', to_utc_timestamp('ordered_at')) }}
            as ordered_at_raw,
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
        hash(order_id, member_id, order_status, currency, coupon_code, order_total, discount_total, ordered_at, loaded_at) as row_hash
    from typed
),

checked as (
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
            when order_total is null then 'invalid_order_total'
            -- an absent discount is no discount (0 in stg_shop__orders)
            when discount_total is null and nullif(trim(discount_total_raw), '') is not null
                then 'invalid_discount_total'
            when order_total < 0 then 'negative_order_total'
            when discount_total < 0 then 'negative_discount_total'
        end as row_rule
    from hashed
),

{% if is_incremental() -%}
batch_keys as (
    select distinct order_id
    from checked
),

stored as (
    select
        stored_rows.order_id,
        stored_rows.member_id,
        stored_rows.order_status,
        stored_rows.currency,
        stored_rows.coupon_code,
        stored_rows.order_total,
        stored_rows.discount_total,
        stored_rows.ordered_at,
        stored_rows.loaded_at,
        stored_rows.order_id_raw,
        stored_rows.member_id_raw,
        stored_rows.order_status_raw,
        stored_rows.currency_raw,
        stored_rows.coupon_code_raw,
        stored_rows.order_total_raw,
        stored_rows.discount_total_raw,
        stored_rows.ordered_at_raw,
        stored_rows.loaded_at_raw,
        stored_rows.source_file,
        stored_rows.load_date,
        stored_rows.row_hash,
        stored_rows.row_rule
    from {{ this }} as stored_rows
    inner join batch_keys
        on stored_rows.order_id = batch_keys.order_id
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
        {{ version_rank('order_id', 'loaded_at desc') }} as version_rank
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
        member_id,
        order_status,
        currency,
        coupon_code,
        order_total,
        discount_total,
        ordered_at,
        order_id_raw,
        member_id_raw,
        order_status_raw,
        currency_raw,
        coupon_code_raw,
        order_total_raw,
        discount_total_raw,
        ordered_at_raw,
        loaded_at_raw,
        row_rule,
        quarantine_rule,
        case
            when quarantine_rule is not null
                then {{ quarantine_row_id(['order_id_raw', 'member_id_raw', 'order_status_raw', 'currency_raw', 'coupon_code_raw', 'order_total_raw', 'discount_total_raw', 'ordered_at_raw', 'loaded_at_raw']) }}
        end as quarantine_row_id,
        row_hash,
        source_file,
        load_date,
        loaded_at
    from verdicts
)

select * from final
