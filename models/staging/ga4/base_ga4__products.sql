-- The raw `products` table of the contract, from the items of every GA4 event (docs block
-- ga4_export), read only when the shop delivers no `products` of its own: per item_id and
-- export file, its latest sighting outside purchases (a catalogue price, not a price paid;
-- a purchase's when the product was seen nowhere else), ties broken on the item. The item
-- has no release date or VIP flag (the contract's defaults apply).
{%- set layout = ga4_layout() %}
{%- set columns = layout.columns %}
{%- set events_source = source('ga4', 'events') %}

with

{% if layout.has_events and 'items' in columns -%}
events as (
    select * from {{ events_source }}
),

events_with_items as (
    select
        {{ ga4_column(columns, 'event_name', relation='events') }} in ('purchase', 'refund') as is_transaction,
        events.{{ columns['items'].name }},
        events.filename,
        {{ ga4_column(columns, 'event_timestamp', 'bigint', relation='events') }}
        + coalesce({{ ga4_column(columns, 'event_server_timestamp_offset', 'bigint', relation='events') }}, 0)
            as loaded_micros
    from events
),

sightings as (
    {{ ga4_item_rows('events_with_items', columns['items'].name, ['is_transaction', 'filename', 'loaded_micros']) }}
),

ranked as (
    select
        sightings.item.item_id as product_id,
        sightings.item.item_name as product_name,
        sightings.item.item_category as category,
        sightings.item.price as list_price,
        sightings.filename,
        sightings.loaded_micros,
        row_number() over (
            partition by sightings.item.item_id, sightings.filename
            order by
                sightings.is_transaction asc,
                sightings.loaded_micros desc,
                sightings.item.item_name asc,
                sightings.item.item_category asc,
                sightings.item.price asc
        ) as sighting_rank
    from sightings
),

final as (
    select
        product_id,
        product_name,
        category,
        list_price,
        filename,
        {{ ga4_timestamp('loaded_micros') }} as loaded_at
    from ranked
    where sighting_rank = 1
)
{%- else -%}
final as (
    -- no export file (or no items) yet: an empty relation of the same columns
    select
        cast(null as {{ dbt.type_string() }}) as product_id,
        cast(null as {{ dbt.type_string() }}) as product_name,
        cast(null as {{ dbt.type_string() }}) as category,
        cast(null as double) as list_price,
        cast(null as {{ dbt.type_string() }}) as filename,
        cast(null as timestamp) as loaded_at
    where false
)
{%- endif %}

select * from final
