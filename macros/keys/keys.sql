{#- The one way to build a composite key: the parts as text joined by '|' (a character
    var id_regex keeps out of ids), a null part as ''. columns: list of SQL expressions. -#}
{% macro composite_key(columns) -%}
    concat_ws('|'
    {%- for column in columns -%}
        , coalesce(cast({{ column }} as {{ dbt.type_string() }}), '')
    {%- endfor -%}
    )
{%- endmacro %}
