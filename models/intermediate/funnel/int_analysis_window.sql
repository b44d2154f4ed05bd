-- One row: the dates of the data and the analysis window of the conversion marts.
-- Default start: the first day with var new_visitor_lookback_days of history before it (so a
-- "new" visitor was not seen for at least that long); default end: the last day with data.
-- Vars analysis_start_date / analysis_end_date override either.
with

events as (
    select * from {{ ref('stg_shop__events') }}
    where not is_bot
),

data_dates as (
    select
        min(event_date) as data_start_date,
        max(event_date) as data_end_date
    from events
),

final as (
    select
        data_start_date,
        data_end_date,
        {% if var('analysis_start_date') -%}
            cast('{{ var("analysis_start_date") }}' as date)
        {%- else -%}
        least(
            cast(data_start_date + to_days({{ var('new_visitor_lookback_days') }}) as date),
            data_end_date
        )
        {%- endif %} as analysis_start_date,
        {% if var('analysis_end_date') -%}
            cast('{{ var("analysis_end_date") }}' as date)
        {%- else -%}
        data_end_date
        {%- endif %} as analysis_end_date
    from data_dates
)

select * from final
