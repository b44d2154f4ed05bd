-- The raw `order_items` table of the contract, from the items of the GA4 export's purchase
-- events (docs block ga4_export), read only when the shop delivers no `order_items` of its
-- own: one line per item of a purchase, line_number its position in `items`, the product
-- its item_id, the unit price its price; an item without a quantity counts as one unit.
{%- set layout = ga4_layout() %}
{%- set columns = layout.columns %}
{%- set events_source = source('ga4', 'events') %}

with

{% if layout.has_events and 'items' in columns -%}
events as (
    select * from {{ events_source }}
),

purchases as (
    select
        coalesce(
            nullif({{ ga4_field(columns, 'ecommerce', 'transaction_id', relation='events') }}, '(not set)'),
            nullif({{ ga4_param(columns, 'transaction_id', relation='events') }}, '(not set)')
        ) as order_id,
        events.{{ columns['items'].name }},
        events.filename,
        {{ ga4_column(columns, 'event_timestamp', 'bigint', relation='events') }}
        + coalesce({{ ga4_column(columns, 'event_server_timestamp_offset', 'bigint', relation='events') }}, 0)
            as loaded_micros
    from events
    where {{ ga4_column(columns, 'event_name', relation='events') }} = 'purchase'
),

purchase_items as (
    {{ ga4_item_rows('purchases', columns['items'].name, ['order_id', 'filename', 'loaded_micros']) }}
),

final as (
    select
        purchase_items.order_id,
        purchase_items.item_index as line_number,
        purchase_items.item.item_id as product_id,
        coalesce(purchase_items.item.quantity, 1) as quantity,
        purchase_items.item.price as unit_price,
        purchase_items.filename,
        {{ ga4_timestamp('purchase_items.loaded_micros') }} as loaded_at
    from purchase_items
)
{%- else -%}
final as (
    -- no export file (or no items) yet: an empty relation of the same columns
    select
        cast(null as {{ dbt.type_string() }}) as order_id,
        cast(null as integer) as line_number,
        cast(null as {{ dbt.type_string() }}) as product_id,
        cast(null as integer) as quantity,
        cast(null as double) as unit_price,
        cast(null as {{ dbt.type_string() }}) as filename,
        cast(null as timestamp) as loaded_at
    where false
)
{%- endif %}

select * from final
