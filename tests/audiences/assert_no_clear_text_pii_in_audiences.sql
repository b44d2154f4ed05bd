-- Ids only in every audience: no text column of an audience model (the parents of
-- fct_audience_members) or of fct_audience_members holds an '@', a value shaped like a
-- phone number, a member's e-mail or phone (as stored, normalised, or as the SHA-256 of the
-- normal form), or anything shaped like a SHA-256 hex digest. Any row returned is a failure.
-- The relations come from the graph at run time; the ref below makes the test run after
-- every audience model.
-- depends_on: {{ ref('fct_audience_members') }}
{%- set relations = [] %}
{%- if execute %}
{%- set union_node = graph.nodes['model.shopfunnel.fct_audience_members'] %}
{%- for node_id in union_node.depends_on.nodes + ['model.shopfunnel.fct_audience_members'] %}
{%- set node = graph.nodes[node_id] %}
{%- if node.resource_type == 'model' %}
{%- do relations.append(adapter.get_relation(node.database, node.schema, node.alias)) %}
{%- endif %}
{%- endfor %}
{%- endif %}

with

members as (
    select * from {{ ref('stg_shop__members') }}
),

member_values as (
    select lower(trim(email)) as contact_value from members
    union all
    select phone from members
    union all
    select {{ normalized_phone('phone') }} from members
    union all
    select {{ sha256_hex(normalized_email('email')) }} from members
    union all
    select {{ sha256_hex(normalized_phone('phone')) }} from members
),

all_text as (
    select
        cast(null as string) as relation_name,
        cast(null as string) as column_name,
        cast(null as string) as text_value
    where false
    {%- for relation in relations if relation is not none %}
    {%- for column in adapter.get_columns_in_relation(relation) if column.is_string() %}
    union all
    select
        '{{ relation.identifier }}' as relation_name,
        '{{ column.name }}' as column_name,
        cast({{ column.name }} as string) as text_value
    from {{ relation }}
    {%- endfor %}
    {%- endfor %}
),

violations as (
    select all_text.*
    from all_text
    where
        all_text.text_value like '%@%'
        or {{ regex_full_match(
            'trim(all_text.text_value)', '[+]?(82)?[- ]?0?1[0-9][- ]?[0-9]{3,4}[- ]?[0-9]{4}'
        ) }}
        or {{ regex_full_match('lower(all_text.text_value)', '[0-9a-f]{64}') }}
        or all_text.text_value in (
            select member_values.contact_value from member_values
            where member_values.contact_value is not null
        )
)

select * from violations
