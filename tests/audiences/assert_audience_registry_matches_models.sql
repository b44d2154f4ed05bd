-- One registry of audiences: seed audiences. Fails (one row per problem) when a registered
-- audience has no model, an audience model (aud_*) is not registered, or an audience model
-- is missing from fct_audience_members (the one place dbt needs the refs written out).
-- The models come from the graph at run time.
{%- set audience_models = [] %}
{%- set union_parents = [] %}
{%- if execute %}
{%- for node in graph.nodes.values() %}
{%- if node.resource_type == 'model' and node.name.startswith('aud_') %}
{%- do audience_models.append(node.name) %}
{%- endif %}
{%- endfor %}
{%- for node_id in graph.nodes['model.shopfunnel.fct_audience_members'].depends_on.nodes %}
{%- do union_parents.append(node_id.split('.')[-1]) %}
{%- endfor %}
{%- endif %}

with

audiences as (
    select * from {{ ref('audiences') }}
),

audience_members as (
    select * from {{ ref('fct_audience_members') }}
),

audience_models as (
    select cast(null as string) as audience_name
    where false
    {%- for name in audience_models %}
    union all
    select '{{ name }}' as audience_name
    {%- endfor %}
),

union_parents as (
    select cast(null as string) as audience_name
    where false
    {%- for name in union_parents %}
    union all
    select '{{ name }}' as audience_name
    {%- endfor %}
),

problems as (
    select
        audiences.audience_name,
        'registered_without_a_model' as problem
    from audiences
    where audiences.audience_name not in (select audience_models.audience_name from audience_models)
    union all
    select
        audience_models.audience_name,
        'model_not_registered' as problem
    from audience_models
    where audience_models.audience_name not in (select audiences.audience_name from audiences)
    union all
    select
        audience_models.audience_name,
        'model_missing_from_fct_audience_members' as problem
    from audience_models
    where
        audience_models.audience_name not in (
            select union_parents.audience_name from union_parents
        )
    union all
    select
        audience_members.audience_name,
        'member_of_an_unregistered_audience' as problem
    from audience_members
    where audience_members.audience_name not in (select audiences.audience_name from audiences)
)

select distinct * from problems
