{#- The one rule for a person's id: the member when known, else the device. -#}
{% macro person_id(member_id_column, anonymous_id_column) -%}
    case
        when {{ member_id_column }} is not null then 'mbr_' || {{ member_id_column }}
        else 'anon_' || {{ anonymous_id_column }}
    end
{%- endmacro %}

{#- A session's channel is the channel of its first hit; a session that starts inside the
    site (internal referrer, e.g. a tab restored after the timeout) counts as direct. -#}
{% macro session_channel(channel_group_column) -%}
    case when {{ channel_group_column }} = 'internal' then 'direct' else {{ channel_group_column }} end
{%- endmacro %}

{#- The value at the first row in time order (ties broken by a second, unique column), among
    the rows matching an optional condition: an aggregate. -#}
{% macro first_by(value, order_column, tie_column, condition=none) -%}
    {{ return(adapter.dispatch('first_by', 'shopfunnel')(value, order_column, tie_column, condition)) }}
{%- endmacro %}

{% macro duckdb__first_by(value, order_column, tie_column, condition) -%}
    arg_min({{ value }}, ({{ order_column }}, {{ tie_column }}))
    {%- if condition %} filter (where {{ condition }}){% endif %}
{%- endmacro %}

{#- DuckDB's arg_min skips the rows whose value is null and orders null keys last; Spark's
    min_by keeps null values and orders null struct fields first: both are spelled out. -#}
{% macro spark__first_by(value, order_column, tie_column, condition) -%}
    min_by({{ value }}, case when {{ value }} is not null then struct(
        {{ order_column }} is null, {{ order_column }}, {{ tie_column }} is null, {{ tie_column }}
    ) end)
    {%- if condition %} filter (where {{ condition }}){% endif %}
{%- endmacro %}

{#- The value at the last row in time order (ties broken by a second, unique column). -#}
{% macro last_by(value, order_column, tie_column, condition=none) -%}
    {{ return(adapter.dispatch('last_by', 'shopfunnel')(value, order_column, tie_column, condition)) }}
{%- endmacro %}

{% macro duckdb__last_by(value, order_column, tie_column, condition) -%}
    arg_max({{ value }}, ({{ order_column }}, {{ tie_column }}))
    {%- if condition %} filter (where {{ condition }}){% endif %}
{%- endmacro %}

{% macro spark__last_by(value, order_column, tie_column, condition) -%}
    max_by({{ value }}, case when {{ value }} is not null then struct(
        {{ order_column }} is null, {{ order_column }}, {{ tie_column }} is null, {{ tie_column }}
    ) end)
    {%- if condition %} filter (where {{ condition }}){% endif %}
{%- endmacro %}

{#- Days from one timestamp to another, with the fraction of a day (1.5 = a day and a half). -#}
{% macro days_between(start_at, end_at) -%}
    ({{ dbt.datediff(start_at, end_at, 'second') }} / (24 * 60 * 60.0))
{%- endmacro %}
