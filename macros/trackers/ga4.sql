{#- The GA4 adapter's reading of the BigQuery export (docs block ga4_export): its nested
    records, the engine-specific part of it behind adapter.dispatch. -#}

{#- What this run's GA4 export holds, read at compile time (unit tests override it):
    whether events exist, and their top-level columns ({lower name: {'name', 'type'}}), so a
    column an older export lacks (collected_traffic_source, before 2023; the batch_ ids)
    reads as null. -#}
{% macro ga4_layout() -%}
    {%- set layout = {'has_events': false, 'columns': {}} -%}
    {%- if execute and files_exist(tracker_export_pattern()) -%}
        {%- do layout.update({
            'has_events': true,
            'columns': described_columns(source('ga4', 'events')),
        }) -%}
    {%- endif -%}
    {{ return(layout) }}
{%- endmacro %}

{#- A top-level column of the export (qualified by `relation` when given), or a typed null
    when this export lacks it. -#}
{% macro ga4_column(columns, name, type='string', relation=none) -%}
    {%- if name in columns -%}
        {{ relation ~ '.' if relation }}{{ columns[name].name }}
    {%- elif type == 'string' -%}
        cast(null as {{ dbt.type_string() }})
    {%- else -%}
        cast(null as {{ type }})
    {%- endif -%}
{%- endmacro %}

{#- A field of a record column of the export (e.g. collected_traffic_source.manual_source;
    qualified by `relation` when given), or a typed null when this export lacks the column. -#}
{% macro ga4_field(columns, record, field, relation=none) -%}
    {%- if record in columns -%}
        {{ relation ~ '.' if relation }}{{ columns[record].name }}.{{ field }}
    {%- else -%}
        cast(null as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}

{#- The value of one event parameter (a repeated key/value record) as text: its
    string_value, else its int_value, double_value or float_value; null when the event has
    no such key (the first one when it has several) or the export no event_params.
    `relation` qualifies the column when given. -#}
{% macro ga4_param(columns, key, relation=none) -%}
    {%- if 'event_params' not in columns -%}
        {{ return('cast(null as ' ~ dbt.type_string() ~ ')') }}
    {%- endif -%}
    {%- set params = (relation ~ '.' if relation else '') ~ columns['event_params'].name -%}
    {{ return(adapter.dispatch('ga4_param', 'shopfunnel')(params, key)) }}
{%- endmacro %}

{% macro duckdb__ga4_param(params_column, key) -%}
    {%- set found = 'list_filter(' ~ params_column ~ ", lambda param: param.key = '" ~ key ~ "')[1].value" -%}
    coalesce(
        {{ found }}.string_value,
        cast({{ found }}.int_value as {{ dbt.type_string() }}),
        cast({{ found }}.double_value as {{ dbt.type_string() }}),
        cast({{ found }}.float_value as {{ dbt.type_string() }})
    )
{%- endmacro %}

{% macro default__ga4_param(params_column, key) -%}
    {%- set found = 'element_at(filter(' ~ params_column ~ ", param -> param.key = '" ~ key ~ "'), 1).value" -%}
    coalesce(
        {{ found }}.string_value,
        cast({{ found }}.int_value as {{ dbt.type_string() }}),
        cast({{ found }}.double_value as {{ dbt.type_string() }}),
        cast({{ found }}.float_value as {{ dbt.type_string() }})
    )
{%- endmacro %}

{#- A field of the first element of a repeated record (items), null when it is empty. -#}
{% macro ga4_first_item(items_column, field) -%}
    {{ return(adapter.dispatch('ga4_first_item', 'shopfunnel')(items_column, field)) }}
{%- endmacro %}

{% macro duckdb__ga4_first_item(items_column, field) -%}
    {{ items_column }}[1].{{ field }}
{%- endmacro %}

{% macro default__ga4_first_item(items_column, field) -%}
    element_at({{ items_column }}, 1).{{ field }}
{%- endmacro %}

{#- A GA4 timestamp (microseconds since the epoch, UTC) as a UTC timestamp. -#}
{% macro ga4_timestamp(micros) -%}
    {{ return(adapter.dispatch('ga4_timestamp', 'shopfunnel')(micros)) }}
{%- endmacro %}

{% macro duckdb__ga4_timestamp(micros) -%}
    make_timestamp(cast({{ micros }} as bigint))
{%- endmacro %}

{% macro default__ga4_timestamp(micros) -%}
    timestamp_micros(cast({{ micros }} as bigint))
{%- endmacro %}

{#- The items of the events of `relation`, one row per item with its 1-based position: a
    whole query keeping `key_columns`, giving `item` (the record) and `item_index`. -#}
{% macro ga4_item_rows(relation, items_column, key_columns) -%}
    {{ return(adapter.dispatch('ga4_item_rows', 'shopfunnel')(relation, items_column, key_columns)) }}
{%- endmacro %}

{% macro duckdb__ga4_item_rows(relation, items_column, key_columns) -%}
    select
        {%- for column in key_columns %}
        {{ column }},
        {%- endfor %}
        unnest({{ items_column }}) as item,
        generate_subscripts({{ items_column }}, 1) as item_index
    from {{ relation }}
    where len({{ items_column }}) > 0
{%- endmacro %}

{% macro default__ga4_item_rows(relation, items_column, key_columns) -%}
    select
        {%- for column in key_columns %}
        {{ column }},
        {%- endfor %}
        item,
        item_position + 1 as item_index
    from {{ relation }}
    lateral view posexplode({{ items_column }}) exploded as item_position, item
{%- endmacro %}

{#- The event's id when the site sends none: a hash of what makes a hit itself (stream,
    device, name, time, batch position, parameters); an exact copy of a row gets the same
    id and is a duplicate. `relation` qualifies the columns when given. -#}
{% macro ga4_content_key(columns, relation=none) -%}
    {{ return(adapter.dispatch('ga4_content_key', 'shopfunnel')(columns, relation)) }}
{%- endmacro %}

{% macro duckdb__ga4_content_key(columns, relation) -%}
    'ga4_' || md5(concat_ws('|',
        coalesce({{ ga4_column(columns, 'stream_id', relation=relation) }}, ''),
        coalesce({{ ga4_column(columns, 'user_pseudo_id', relation=relation) }}, ''),
        coalesce({{ ga4_column(columns, 'event_name', relation=relation) }}, ''),
        coalesce(cast({{ ga4_column(columns, 'event_timestamp', 'bigint', relation=relation) }} as {{ dbt.type_string() }}), ''),
        coalesce(cast({{ ga4_column(columns, 'batch_page_id', 'bigint', relation=relation) }} as {{ dbt.type_string() }}), ''),
        coalesce(cast({{ ga4_column(columns, 'batch_ordering_id', 'bigint', relation=relation) }} as {{ dbt.type_string() }}), ''),
        coalesce(cast({{ ga4_column(columns, 'batch_event_index', 'bigint', relation=relation) }} as {{ dbt.type_string() }}), ''),
        {% if 'event_params' in columns %}coalesce(cast(to_json({{ relation ~ '.' if relation }}{{ columns['event_params'].name }}) as {{ dbt.type_string() }}), ''){% else %}''{% endif %}
    ))
{%- endmacro %}

{% macro default__ga4_content_key(columns, relation) -%}
    'ga4_' || md5(concat_ws('|',
        coalesce({{ ga4_column(columns, 'stream_id', relation=relation) }}, ''),
        coalesce({{ ga4_column(columns, 'user_pseudo_id', relation=relation) }}, ''),
        coalesce({{ ga4_column(columns, 'event_name', relation=relation) }}, ''),
        coalesce(cast({{ ga4_column(columns, 'event_timestamp', 'bigint', relation=relation) }} as string), ''),
        coalesce(cast({{ ga4_column(columns, 'batch_page_id', 'bigint', relation=relation) }} as string), ''),
        coalesce(cast({{ ga4_column(columns, 'batch_ordering_id', 'bigint', relation=relation) }} as string), ''),
        coalesce(cast({{ ga4_column(columns, 'batch_event_index', 'bigint', relation=relation) }} as string), ''),
        {% if 'event_params' in columns %}coalesce(to_json({{ relation ~ '.' if relation }}{{ columns['event_params'].name }}), ''){% else %}''{% endif %}
    ))
{%- endmacro %}

{#- GA4's recommended event names that the raw-data contract calls otherwise. -#}
{% macro ga4_contract_event_names() -%}
    {{ return({'view_item': 'product_view'}) }}
{%- endmacro %}
