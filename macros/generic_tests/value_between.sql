{#- Every non-null value of the column lies in [min_value, max_value]. Used on every rate
    and share of the marts (bounds [0, 1]). -#}
{% test value_between(model, column_name, min_value, max_value) %}

select
    {{ column_name }} as out_of_bounds_value,
    '{{ column_name }} outside [{{ min_value }}, {{ max_value }}]' as broken_rule
from {{ model }}
where {{ column_name }} < {{ min_value }} or {{ column_name }} > {{ max_value }}

{% endtest %}
