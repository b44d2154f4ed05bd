-- The raw `orders` table of the contract, from the GA4 export's purchase events (docs block
-- ga4_export), read only when the shop delivers no `orders` of its own: one row per
-- purchase event. order_id is ecommerce.transaction_id (else the transaction_id parameter;
-- GA4's '(not set)' is none: staging quarantines such a row, it is never dropped); the
-- total is ecommerce.purchase_revenue (else the value parameter), in the currency
-- parameter; the coupon is the coupon parameter. A purchase GA4 logged is paid; GA4 knows
-- no cancellations, and its refunds are not read (a shop that refunds delivers its orders).
{%- set layout = ga4_layout() %}
{%- set columns = layout.columns %}
{%- set events_source = source('ga4', 'events') %}

with

{% if layout.has_events -%}
events as (
    select * from {{ events_source }}
),

purchases as (
    select
        nullif({{ ga4_field(columns, 'ecommerce', 'transaction_id', relation='events') }}, '(not set)')
            as ecommerce_transaction_id,
        nullif({{ ga4_param(columns, 'transaction_id', relation='events') }}, '(not set)') as param_transaction_id,
        {{ ga4_field(columns, 'ecommerce', 'purchase_revenue', relation='events') }} as purchase_revenue,
        {{ ga4_param(columns, 'value', relation='events') }} as param_value,
        {{ ga4_param(columns, 'currency', relation='events') }} as currency,
        {{ ga4_param(columns, 'coupon', relation='events') }} as coupon_code,
        {{ ga4_column(columns, 'user_id', relation='events') }} as user_id,
        events.filename,
        {{ ga4_column(columns, 'event_timestamp', 'bigint', relation='events') }} as event_timestamp,
        {{ ga4_column(columns, 'event_server_timestamp_offset', 'bigint', relation='events') }}
            as event_server_timestamp_offset
    from events
    where {{ ga4_column(columns, 'event_name', relation='events') }} = 'purchase'
),

final as (
    select
        coalesce(ecommerce_transaction_id, param_transaction_id) as order_id,
        user_id as member_id,
        'paid' as status,
        currency,
        coalesce(cast(purchase_revenue as {{ dbt.type_string() }}), param_value) as order_total,
        coupon_code,
        filename,
        {{ ga4_timestamp('event_timestamp') }} as ordered_at,
        {{ ga4_timestamp('event_timestamp + coalesce(event_server_timestamp_offset, 0)') }}
            as loaded_at
    from purchases
)
{%- else -%}
final as (
    -- no export file yet: an empty relation of the same columns
    select
        cast(null as {{ dbt.type_string() }}) as order_id,
        cast(null as {{ dbt.type_string() }}) as member_id,
        cast(null as {{ dbt.type_string() }}) as status,
        cast(null as {{ dbt.type_string() }}) as currency,
        cast(null as {{ dbt.type_string() }}) as order_total,
        cast(null as {{ dbt.type_string() }}) as coupon_code,
        cast(null as {{ dbt.type_string() }}) as filename,
        cast(null as timestamp) as ordered_at,
        cast(null as timestamp) as loaded_at
    where false
)
{%- endif %}

select * from final
