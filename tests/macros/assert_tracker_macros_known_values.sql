-- Known answers for the tracker adapters' expression macros (macros/trackers/); any row
-- returned is a failure. They run whatever var event_source is: the adapters' models are
-- tested by their unit tests and tests/python/test_trackers_*.py. DuckDB only: the cases
-- are the exports' nested columns as DuckDB reads them, and the adapters run on DuckDB only
-- (README "Running on Spark").
{{ config(
    enabled=(target.type == 'duckdb'),
    meta={'structure_exempt': {'duckdb_only_sql':
        'the tracker adapters run on DuckDB only (README "Running on Spark"): '
        ~ 'the cases are the exports\' nested columns as DuckDB reads them'}}
) }}
{%- set params %}
cast([
    {'key': 'page_location', 'value': {
        'string_value': 'https://shop.example/', 'int_value': null,
        'float_value': null, 'double_value': null
    }},
    {'key': 'ga_session_id', 'value': {
        'string_value': null, 'int_value': 1767225600, 'float_value': null, 'double_value': null
    }},
    {'key': 'value', 'value': {
        'string_value': null, 'int_value': null, 'float_value': null, 'double_value': 12.5
    }},
    {'key': 'page_location', 'value': {
        'string_value': 'https://second.example/', 'int_value': null,
        'float_value': null, 'double_value': null
    }}
] as struct(
    key varchar,
    value struct(string_value varchar, int_value bigint, float_value double, double_value double)
)[])
{%- endset %}
{#- the export's event_params column, here a literal list #}
{%- set export = {'event_params': {'name': params, 'type': 'STRUCT[]'}} %}
{%- set items %}
cast(
    [{'item_id': 'P1', 'price': 10.0}, {'item_id': 'P2', 'price': 20.0}]
    as struct(item_id varchar, price double)[]
)
{%- endset %}
{%- set product = snowplow_entities()['ecommerce_product'] %}
{%- set transaction = snowplow_entities()['ecommerce_transaction'] %}

with

cases as (
    select *
    from (
        values
        (
            'json_snake',
            {{ json_property_text("json('{\"user_id\": \"d-1\"}')", 'user_id') }},
            'd-1'
        ),
        ('json_camel', {{ json_property_text("json('{\"userId\": \"d-2\"}')", 'user_id') }}, 'd-2'),
        (
            'json_number_as_text',
            {{ json_property_text("json('{\"price\": 12.5}')", 'price') }},
            '12.5'
        ),
        (
            'json_absent',
            coalesce({{ json_property_text("json('{\"id\": \"x\"}')", 'price') }}, '<null>'),
            '<null>'
        ),
        (
            'ga4_param_first_string',
            {{ ga4_param(export, 'page_location') }},
            'https://shop.example/'
        ),
        ('ga4_param_int', {{ ga4_param(export, 'ga_session_id') }}, '1767225600'),
        ('ga4_param_double', {{ ga4_param(export, 'value') }}, '12.5'),
        (
            'ga4_param_absent',
            coalesce({{ ga4_param(export, 'page_referrer') }}, '<null>'),
            '<null>'
        ),
        ('ga4_no_event_params', coalesce({{ ga4_param({}, 'page_location') }}, '<null>'), '<null>'),
        ('ga4_first_item', {{ ga4_first_item(items, 'item_id') }}, 'P1'),
        (
            'ga4_first_item_empty',
            coalesce(
                {{ ga4_first_item('cast([] as struct(item_id varchar)[])', 'item_id') }}, '<null>'
            ),
            '<null>'
        ),
        (
            'ga4_timestamp',
            cast({{ ga4_timestamp('1767225600123456') }} as varchar),
            '2026-01-01 00:00:00.123456'
        ),
        (
            'snowplow_amount',
            cast({{ snowplow_typed("'12.0'", product.fields.price) }} as varchar),
            '12.00'
        ),
        (
            'snowplow_integer_not_whole',
            coalesce(
                cast({{ snowplow_typed("'1.5'", product.fields.quantity) }} as varchar), '<null>'
            ),
            '<null>'
        ),
        (
            'snowplow_field_names',
            '{{ snowplow_field_name(product, "id") }}|'
            || '{{ snowplow_field_name(transaction, "transaction_id") }}',
            'product_id|transaction_id'
        )
    ) as known (case_name, actual, expected)
)

select * from cases
where actual is distinct from expected
