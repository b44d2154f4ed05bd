{#- The Snowplow adapter's knowledge of the export (docs block snowplow_export): which
    entities it reads, where each lies, and the JSON plumbing that engines do differently. -#}

{#- The entities the adapter reads: per entity, its table (folder) in a shredded export
    (Redshift/Postgres: one table per schema, rows joined to atomic.events on root_id =
    event_id and root_tstamp = collector_tstamp), the name its column starts with in a
    wide-row export (BigQuery `..._1_0_0`, Snowflake/Databricks/lake `..._1`: the self-
    describing event as an object, a context as an array of objects), whether an event
    carries several, the prefix of its columns in the adapter, and every property of its
    Iglu schema (snake_case, as the loaders name them) with its type. -#}
{% macro snowplow_entities() -%}
    {{ return({
        'ecommerce_action': {
            'table': 'com_snowplowanalytics_snowplow_ecommerce_snowplow_ecommerce_action_1',
            'column': 'unstruct_event_com_snowplowanalytics_snowplow_ecommerce_snowplow_ecommerce_action_1',
            'multiple': false,
            'prefix': 'action',
            'fields': {'type': 'text', 'name': 'text'},
        },
        'ecommerce_product': {
            'table': 'com_snowplowanalytics_snowplow_ecommerce_product_1',
            'column': 'contexts_com_snowplowanalytics_snowplow_ecommerce_product_1',
            'multiple': true,
            'prefix': 'product',
            'fields': {
                'id': 'text', 'name': 'text', 'category': 'text', 'price': 'amount',
                'list_price': 'amount', 'quantity': 'integer', 'size': 'text',
                'variant': 'text', 'brand': 'text', 'inventory_status': 'text',
                'position': 'integer', 'currency': 'text', 'creative_id': 'text',
            },
        },
        'ecommerce_transaction': {
            'table': 'com_snowplowanalytics_snowplow_ecommerce_transaction_1',
            'column': 'contexts_com_snowplowanalytics_snowplow_ecommerce_transaction_1',
            'multiple': false,
            'prefix': 'transaction',
            'fields': {
                'transaction_id': 'text', 'revenue': 'amount', 'currency': 'text',
                'payment_method': 'text', 'total_quantity': 'integer', 'tax': 'amount',
                'shipping': 'amount', 'discount_code': 'text', 'discount_amount': 'amount',
                'credit_order': 'boolean',
            },
        },
        'client_session': {
            'table': 'com_snowplowanalytics_snowplow_client_session_1',
            'column': 'contexts_com_snowplowanalytics_snowplow_client_session_1',
            'multiple': false,
            'prefix': 'client',
            'fields': {
                'user_id': 'text', 'session_id': 'text', 'session_index': 'integer',
                'event_index': 'integer', 'previous_session_id': 'text',
                'first_event_id': 'text', 'first_event_timestamp': 'text',
                'storage_mechanism': 'text',
            },
        },
    }) }}
{%- endmacro %}

{#- The ecommerce action types that are events of the raw-data contract; every other type
    (list_view, remove_from_cart, checkout_step, refund, ...) keeps its own name (kept and
    flagged as an unknown event name by staging). -#}
{% macro snowplow_action_event_names() -%}
    {{ return({'product_view': 'product_view', 'add_to_cart': 'add_to_cart', 'transaction': 'purchase'}) }}
{%- endmacro %}

{#- The file pattern of a table of source snowplow: the first quoted literal of its reader. -#}
{% macro snowplow_file_pattern(table) -%}
    {%- set node = graph.sources.get('source.' ~ project_name ~ '.snowplow.' ~ table) -%}
    {%- if node is none -%}
        {{ exceptions.raise_compiler_error("no source snowplow." ~ table ~ " in _snowplow__sources.yml") }}
    {%- endif -%}
    {%- set found = modules.re.search("'((?:[^']|'')*)'", node.relation_name) -%}
    {{ return(found.group(1)) }}
{%- endmacro %}

{#- The columns of a relation: {lower-case name: {'name': as found, 'type': DuckDB type}}. -#}
{% macro described_columns(relation) -%}
    {%- set found = {} -%}
    {%- for row in run_query('describe select * from ' ~ relation) -%}
        {%- do found.update({row[0] | lower: {'name': row[0], 'type': row[1]}}) -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- What this run's Snowplow export holds, read once per model at compile time (unit tests
    override it): whether events exist and their columns, and per entity where it lies:
    kind `table` (its folder has files; `columns`: the table's columns), `column` (the events
    carry wide-row columns of it; `columns`: their names and types) or `none`. The entity's
    folder wins over columns of the events when both exist. -#}
{% macro snowplow_layout() -%}
    {%- set layout = {'has_events': false, 'event_columns': {}, 'entities': {}} -%}
    {%- for name in snowplow_entities() -%}
        {%- do layout.entities.update({name: {'kind': 'none', 'columns': {}}}) -%}
    {%- endfor -%}
    {%- if not execute -%}
        {{ return(layout) }}
    {%- endif -%}
    {%- if files_exist(snowplow_file_pattern('events')) -%}
        {%- do layout.update({
            'has_events': true,
            'event_columns': described_columns(source('snowplow', 'events')),
        }) -%}
    {%- endif -%}
    {%- for name, entity in snowplow_entities().items() -%}
        {%- if files_exist(snowplow_file_pattern(entity.table)) -%}
            {%- do layout.entities.update({name: {
                'kind': 'table',
                'columns': described_columns(source('snowplow', entity.table)),
            }}) -%}
        {%- else -%}
            {%- set wide = {} -%}
            {%- for lower_name, column in layout.event_columns.items() -%}
                {%- if modules.re.fullmatch(entity.column ~ '(_[0-9]+_[0-9]+)?', lower_name) -%}
                    {%- do wide.update({lower_name: column}) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- if wide -%}
                {%- do layout.entities.update({name: {'kind': 'column', 'columns': wide}}) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(layout) }}
{%- endmacro %}

{#- A column of a described relation by its lower-case name, quoted as found, or a typed
    null when the relation lacks it. -#}
{% macro column_or_null(columns, name) -%}
    {%- if name in columns -%}
        "{{ columns[name].name }}"
    {%- else -%}
        cast(null as {{ dbt.type_string() }})
    {%- endif -%}
{%- endmacro %}

{#- The entity instances of the events' wide-row columns of one entity as a JSON list
    (an object column, a self-describing event, becomes a list of one; JSON text, as a CSV
    export writes it, and nested types, as a Parquet export does, alike; an unreadable
    value gives an empty list). columns: {lower name: {'name', 'type'}}. -#}
{% macro snowplow_entity_json(columns) -%}
    {{ return(adapter.dispatch('snowplow_entity_json', 'shopfunnel')(columns)) }}
{%- endmacro %}

{% macro duckdb__snowplow_entity_json(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns.values() -%}
        {%- if column.type.upper().startswith('VARCHAR') -%}
            {%- set value = 'case when json_valid("' ~ column.name ~ '") then json("' ~ column.name ~ '") end' -%}
        {%- else -%}
            {%- set value = 'to_json("' ~ column.name ~ '")' -%}
        {%- endif -%}
        {%- do parts.append(
            "coalesce(case json_type(" ~ value ~ ") when 'ARRAY' then cast(" ~ value
            ~ " as json[]) when 'OBJECT' then [" ~ value ~ "] end, cast([] as json[]))"
        ) -%}
    {%- endfor -%}
    {%- if parts -%}
        list_concat({{ parts | join(', ') }}, cast([] as json[]))
    {%- else -%}
        cast([] as json[])
    {%- endif -%}
{%- endmacro %}

{% macro default__snowplow_entity_json(columns) -%}
    {{ exceptions.raise_compiler_error("snowplow_entity_json: wide-row Snowplow entities are read on DuckDB only so far") }}
{%- endmacro %}

{#- One property of a JSON object as text (its snake_case name, or the camelCase name a
    raw self-describing JSON uses, e.g. client_session's userId); null when absent. -#}
{% macro json_property_text(json_column, name) -%}
    {{ return(adapter.dispatch('json_property_text', 'shopfunnel')(json_column, name)) }}
{%- endmacro %}

{% macro duckdb__json_property_text(json_column, name) -%}
    {%- set parts = name.split('_') -%}
    {%- set camel = parts[0] ~ (parts[1:] | map('capitalize') | join('')) -%}
    {%- if camel != name -%}
        coalesce(json_extract_string({{ json_column }}, '$."{{ name }}"'), json_extract_string({{ json_column }}, '$."{{ camel }}"'))
    {%- else -%}
        json_extract_string({{ json_column }}, '$."{{ name }}"')
    {%- endif -%}
{%- endmacro %}

{% macro default__json_property_text(json_column, name) -%}
    get_json_object({{ json_column }}, '$.{{ name }}')
{%- endmacro %}

{#- The rows of a JSON-list column, one per element, with its 1-based position: a whole
    query over `relation` keeping `key_columns`, giving `entity_json` and `source_index`. -#}
{% macro json_list_rows(relation, list_column, key_columns) -%}
    {{ return(adapter.dispatch('json_list_rows', 'shopfunnel')(relation, list_column, key_columns)) }}
{%- endmacro %}

{% macro duckdb__json_list_rows(relation, list_column, key_columns) -%}
    select
        {%- for column in key_columns %}
        {{ column }},
        {%- endfor %}
        unnest({{ list_column }}) as entity_json,
        generate_subscripts({{ list_column }}, 1) as source_index
    from {{ relation }}
    where len({{ list_column }}) > 0
{%- endmacro %}

{% macro default__json_list_rows(relation, list_column, key_columns) -%}
    {{ exceptions.raise_compiler_error("json_list_rows: wide-row Snowplow entities are read on DuckDB only so far") }}
{%- endmacro %}

{#- The raw rows of one entity, whichever way the export holds it: a whole query giving
    event_id, collector_tstamp (UTC), source_index (the position in a wide-row list; null
    in a shredded table, which keeps no order) and every property of the entity as text.
    atomic_events: the relation of base_snowplow__atomic_events (its `<entity>_json`). -#}
{% macro snowplow_entity_rows(entity_name, atomic_events) -%}
    {%- set entity = snowplow_entities()[entity_name] -%}
    {#- named at parse time so the graph holds it, read only when its folder has files -#}
    {%- set entity_table = source('snowplow', entity.table) -%}
    {%- set found = snowplow_layout().entities[entity_name] -%}
    {%- if found.kind == 'table' -%}
        {%- for required in ('root_id', 'root_tstamp') -%}
            {%- if required not in found.columns -%}
                {{ exceptions.raise_compiler_error(
                    "snowplow table " ~ entity.table ~ " has no column " ~ required
                    ~ " (its rows join atomic.events on root_id = event_id and root_tstamp = "
                    ~ "collector_tstamp; columns found: "
                    ~ (found.columns.keys() | list | join(', ')) ~ ")"
                ) }}
            {%- endif -%}
        {%- endfor %}
    select
        {{ clean_text(column_or_null(found.columns, 'root_id')) }} as event_id,
        {{ to_utc_timestamp(column_or_null(found.columns, 'root_tstamp')) }} as collector_tstamp,
        cast(null as integer) as source_index,
        {%- for field in entity.fields %}
        {{ clean_text(column_or_null(found.columns, field)) }} as {{ field }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ entity_table }}
    {%- elif found.kind == 'column' %}
    select
        event_id,
        collector_tstamp,
        source_index,
        {%- for field in entity.fields %}
        {{ clean_text(json_property_text('entity_json', field)) }} as {{ field }}{{ ',' if not loop.last }}
        {%- endfor %}
    from ({{ json_list_rows(atomic_events, entity_name ~ '_json', ['event_id', 'collector_tstamp']) }}) as listed
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as event_id,
        cast(null as timestamp) as collector_tstamp,
        cast(null as integer) as source_index,
        {%- for field in entity.fields %}
        cast(null as {{ dbt.type_string() }}) as {{ field }}{{ ',' if not loop.last }}
        {%- endfor %}
    where false
    {%- endif %}
{%- endmacro %}

{#- The typed value of an entity property (types of its Iglu schema, read by the staging
    cleaning macros). -#}
{% macro snowplow_typed(field, kind) -%}
    {%- if kind == 'amount' -%}{{ to_amount(field) }}
    {%- elif kind == 'integer' -%}{{ to_integer(field) }}
    {%- elif kind == 'boolean' -%}{{ to_boolean(field) }}
    {%- else -%}{{ field }}
    {%- endif -%}
{%- endmacro %}

{#- The adapter's name of an entity property: <prefix>_<property> (a property already
    starting with the prefix keeps its name: transaction_id). -#}
{% macro snowplow_field_name(entity, field) -%}
    {{ return(field if field.startswith(entity.prefix ~ '_') else entity.prefix ~ '_' ~ field) }}
{%- endmacro %}

{#- The whole query of an entity model (base_snowplow__<entity>s): one row per instance of
    the entity per event, typed, whichever way the export holds it (docs block
    snowplow_export). An event delivered k times brings k copies of its entities: of each
    group of identical rows of one event, 1/k is kept (the Snowplow packages' rule for
    multi-valued entities), so two identical products of one event stay two.
    `entity_index` numbers an event's instances: by position in a wide-row list, by content
    in a shredded table (which keeps no order). -#}
{% macro snowplow_entity_query(entity_name) -%}
    {%- set entity = snowplow_entities()[entity_name] -%}
    {%- set fields = entity.fields.keys() | list -%}
    {%- set atomic_events = ref('base_snowplow__atomic_events') %}
with

atomic_events as (
    select * from {{ atomic_events }}
),

entity_rows as (
    {{ snowplow_entity_rows(entity_name, atomic_events) }}
),

event_copies as (
    select
        event_id,
        collector_tstamp,
        count(*) as copies
    from atomic_events
    group by event_id, collector_tstamp
),

counted as (
    select
        entity_rows.*,
        coalesce(event_copies.copies, 1) as copies,
        row_number() over (
            partition by
                entity_rows.event_id, entity_rows.collector_tstamp, entity_rows.source_index,
                {{ fields | join(', ') }}
            order by entity_rows.event_id
        ) as identical_number,
        count(*) over (
            partition by
                entity_rows.event_id, entity_rows.collector_tstamp, entity_rows.source_index,
                {{ fields | join(', ') }}
        ) as identical_rows
    from entity_rows
    left join event_copies
        on
            entity_rows.event_id = event_copies.event_id
            and entity_rows.collector_tstamp = event_copies.collector_tstamp
),

deduped as (
    select * from counted
    where identical_number * copies <= identical_rows + copies - 1
),

indexed as (
    select
        *,
        row_number() over (
            partition by event_id, collector_tstamp
            order by source_index nulls last, {{ fields | join(' nulls first, ') }} nulls first
        ) as entity_index
    from deduped
),

final as (
    select
        {{ composite_key(['event_id', 'collector_tstamp', 'entity_index']) }} as entity_key,
        event_id,
        entity_index,
        {%- for field, kind in entity.fields.items() %}
        {{ snowplow_typed(field, kind) }} as {{ snowplow_field_name(entity, field) }},
        {%- endfor %}
        collector_tstamp
    from indexed
)

select * from final
{%- endmacro %}
