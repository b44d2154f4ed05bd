-- Every row of atomic.events as read (duplicate deliveries included), with the columns the
-- adapter needs, typed: UTC timestamps, trimmed text. A wide-row export's entity columns
-- (any minor version) become one JSON list per entity (`<entity>_json`); a shredded export
-- has none (its entities lie in their own tables). docs block snowplow_export.
{%- set layout = snowplow_layout() %}
{%- set columns = layout.event_columns %}
{%- for required in ('event_id', 'collector_tstamp') %}
{%- if layout.has_events and required not in columns %}
{{ exceptions.raise_compiler_error(
    "snowplow events have no column " ~ required ~ " (atomic.events; columns found: "
    ~ (columns.keys() | list | join(', ')) ~ ")"
) }}
{%- endif %}
{%- endfor %}

{#- named at parse time so the graph holds it; read only when the export has files #}
{%- set events_source = source('snowplow', 'events') %}

with

{% if layout.has_events -%}
events as (
    select * from {{ events_source }}
),

typed as (
    select
        {{ clean_text(column_or_null(columns, 'event_id')) }} as event_id,
        {{ to_utc_timestamp(column_or_null(columns, 'collector_tstamp')) }} as collector_tstamp,
        {{ to_utc_timestamp(column_or_null(columns, 'derived_tstamp')) }} as derived_tstamp,
        {{ clean_text(column_or_null(columns, 'domain_userid')) }} as domain_userid,
        {{ clean_text(column_or_null(columns, 'user_id')) }} as user_id,
        {{ clean_text(column_or_null(columns, 'event')) }} as event_type,
        {{ clean_text(column_or_null(columns, 'event_name')) }} as event_name,
        {{ clean_text(column_or_null(columns, 'page_url')) }} as page_url,
        {{ clean_text(column_or_null(columns, 'page_referrer')) }} as page_referrer,
        {{ clean_text(column_or_null(columns, 'mkt_source')) }} as mkt_source,
        {{ clean_text(column_or_null(columns, 'mkt_medium')) }} as mkt_medium,
        {{ clean_text(column_or_null(columns, 'mkt_campaign')) }} as mkt_campaign,
        {{ clean_text(column_or_null(columns, 'mkt_term')) }} as mkt_term,
        {{ clean_text(column_or_null(columns, 'useragent')) }} as useragent,
        {{ clean_text(column_or_null(columns, 'app_id')) }} as app_id,
        {{ clean_text(column_or_null(columns, 'platform')) }} as platform,
        {%- for name, entity in layout.entities.items() %}
        {%- if entity.kind == 'column' %}
        {{ snowplow_entity_json(entity.columns) }} as {{ name }}_json,
        {%- else %}
        cast(null as json[]) as {{ name }}_json,
        {%- endif %}
        {%- endfor %}
        filename
    from events
),
{%- else -%}
typed as (
    -- no export file yet: an empty relation of the same columns
    select
        cast(null as {{ dbt.type_string() }}) as event_id,
        cast(null as timestamp) as collector_tstamp,
        cast(null as timestamp) as derived_tstamp,
        cast(null as {{ dbt.type_string() }}) as domain_userid,
        cast(null as {{ dbt.type_string() }}) as user_id,
        cast(null as {{ dbt.type_string() }}) as event_type,
        cast(null as {{ dbt.type_string() }}) as event_name,
        cast(null as {{ dbt.type_string() }}) as page_url,
        cast(null as {{ dbt.type_string() }}) as page_referrer,
        cast(null as {{ dbt.type_string() }}) as mkt_source,
        cast(null as {{ dbt.type_string() }}) as mkt_medium,
        cast(null as {{ dbt.type_string() }}) as mkt_campaign,
        cast(null as {{ dbt.type_string() }}) as mkt_term,
        cast(null as {{ dbt.type_string() }}) as useragent,
        cast(null as {{ dbt.type_string() }}) as app_id,
        cast(null as {{ dbt.type_string() }}) as platform,
        {%- for name in layout.entities %}
        cast(null as json[]) as {{ name }}_json,
        {%- endfor %}
        cast(null as {{ dbt.type_string() }}) as filename
    where false
),
{%- endif %}

final as (
    select
        event_id,
        domain_userid,
        user_id,
        event_type,
        event_name,
        page_url,
        page_referrer,
        mkt_source,
        mkt_medium,
        mkt_campaign,
        mkt_term,
        useragent,
        app_id,
        platform,
        {%- for name in layout.entities %}
        {{ name }}_json,
        {%- endfor %}
        filename,
        derived_tstamp,
        collector_tstamp
    from typed
)

select * from final
