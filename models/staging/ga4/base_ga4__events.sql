-- The raw `events` table of the contract, from the GA4 export (docs block ga4_export): one
-- row per export row (base_shop__events dedupes event_ids as for the shop's files).
-- event_at is event_timestamp (when the client logged it), loaded_at event_timestamp plus
-- event_server_timestamp_offset (when it reached GA4's servers); the device is
-- user_pseudo_id, the member user_id; view_item is `product_view`; URLs and the campaign
-- come from the event's parameters and collected_traffic_source; the product is the first
-- item. GA4 exports no user agent: the device's browser and system stand in for it.
{%- set layout = ga4_layout() %}
{%- set columns = layout.columns %}
{#- named at parse time so the graph holds it; read only when the export has files #}
{%- set events_source = source('ga4', 'events') %}

with

{% if layout.has_events -%}
events as (
    select * from {{ events_source }}
),

final as (
    select
        coalesce(
            {{ clean_text(ga4_param(columns, relation='events', key='event_id')) }},
            {{ ga4_content_key(columns, relation='events') }}
        ) as event_id,
        {{ ga4_column(columns, 'user_pseudo_id', relation='events') }} as anonymous_id,
        {{ ga4_column(columns, 'user_id', relation='events') }} as member_id,
        case {{ ga4_column(columns, 'event_name', relation='events') }}
            {%- for ga4_name, contract_name in ga4_contract_event_names().items() %}
            when '{{ ga4_name }}' then '{{ contract_name }}'
            {%- endfor %}
            else {{ ga4_column(columns, 'event_name', relation='events') }}
        end as event_name,
        {{ ga4_param(columns, relation='events', key='page_location') }} as page_url,
        {{ ga4_param(columns, relation='events', key='page_referrer') }}
            as referrer_url,
        coalesce(
            {{ ga4_field(columns, 'collected_traffic_source', 'manual_source', relation='events') }},
            {{ ga4_param(columns, relation='events', key='source') }}
        ) as utm_source,
        coalesce(
            {{ ga4_field(columns, 'collected_traffic_source', 'manual_medium', relation='events') }},
            {{ ga4_param(columns, relation='events', key='medium') }}
        ) as utm_medium,
        coalesce(
            {{ ga4_field(columns, 'collected_traffic_source', 'manual_campaign_name', relation='events') }},
            {{ ga4_param(columns, relation='events', key='campaign') }}
        ) as utm_campaign,
        coalesce(
            {{ ga4_field(columns, 'collected_traffic_source', 'manual_term', relation='events') }},
            {{ ga4_param(columns, relation='events', key='term') }}
        ) as utm_term,
        {%- if 'items' in columns %}
        {{ ga4_first_item('events.' ~ columns['items'].name, 'item_id') }} as product_id,
        {%- else %}
        cast(null as {{ dbt.type_string() }}) as product_id,
        {%- endif %}
        nullif(
            concat_ws(
                ' ',
                {{ ga4_field(columns, 'device', 'web_info.browser', relation='events') }},
                {{ ga4_field(columns, 'device', 'web_info.browser_version', relation='events') }},
                {{ ga4_field(columns, 'device', 'operating_system', relation='events') }},
                {{ ga4_field(columns, 'device', 'operating_system_version', relation='events') }},
                {{ ga4_field(columns, 'device', 'category', relation='events') }}
            ),
            ''
        ) as user_agent,
        events.filename,
        {{ ga4_timestamp(ga4_column(columns, 'event_timestamp', 'bigint', relation='events')) }} as event_at,
        {{ ga4_timestamp(
            ga4_column(columns, 'event_timestamp', 'bigint', relation='events') ~ ' + coalesce('
            ~ ga4_column(columns, 'event_server_timestamp_offset', 'bigint', relation='events') ~ ', 0)'
        ) }} as loaded_at
    from events
)
{%- else -%}
final as (
    -- no export file yet: an empty relation of the same columns
    select
        cast(null as {{ dbt.type_string() }}) as event_id,
        cast(null as {{ dbt.type_string() }}) as anonymous_id,
        cast(null as {{ dbt.type_string() }}) as member_id,
        cast(null as {{ dbt.type_string() }}) as event_name,
        cast(null as {{ dbt.type_string() }}) as page_url,
        cast(null as {{ dbt.type_string() }}) as referrer_url,
        cast(null as {{ dbt.type_string() }}) as utm_source,
        cast(null as {{ dbt.type_string() }}) as utm_medium,
        cast(null as {{ dbt.type_string() }}) as utm_campaign,
        cast(null as {{ dbt.type_string() }}) as utm_term,
        cast(null as {{ dbt.type_string() }}) as product_id,
        cast(null as {{ dbt.type_string() }}) as user_agent,
        cast(null as {{ dbt.type_string() }}) as filename,
        cast(null as timestamp) as event_at,
        cast(null as timestamp) as loaded_at
    where false
)
{%- endif %}

select * from final
