-- One row: the as-of date of the audiences and customer scores. var audience_as_of_date,
-- else the last day with human event data.
with

analysis_window as (
    select * from {{ ref('int_analysis_window') }}
),

final as (
    select
        {% if var('audience_as_of_date') -%}
            cast('{{ var("audience_as_of_date") }}' as date)
        {%- else -%}
        data_end_date
        {%- endif %} as as_of_date,
        data_end_date
    from analysis_window
)

select * from final
