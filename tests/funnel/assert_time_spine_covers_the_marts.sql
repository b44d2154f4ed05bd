-- MetricFlow's time spine covers every date the marts hold (vars
-- metric_time_spine_start_date / _end_date): a metric over a day outside it would silently
-- lose that day. One row per mart date column whose range leaves the spine.
{%- set date_columns = [
    ('fct_sessions', 'session_date'),
    ('fct_funnel_stage_daily', 'calendar_date'),
    ('fct_funnel_stage_transitions', 'transitioned_date'),
    ('fct_signup_conversion', 'first_visit_date'),
    ('fct_first_purchase_conversion', 'signup_date'),
    ('fct_orders', 'ordered_date'),
] %}

with

spine as (
    select
        min(calendar_date) as first_date,
        max(calendar_date) as last_date
    from {{ ref('metricflow_time_spine') }}
),

mart_dates as (
    {%- for model, column in date_columns %}
    select
        '{{ model }}.{{ column }}' as mart_column,
        min({{ column }}) as first_date,
        max({{ column }}) as last_date
    from {{ ref(model) }}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

uncovered as (
    select
        mart_dates.mart_column,
        mart_dates.first_date,
        mart_dates.last_date,
        spine.first_date as spine_first_date,
        spine.last_date as spine_last_date
    from mart_dates
    cross join spine
    where
        mart_dates.first_date < spine.first_date
        or mart_dates.last_date > spine.last_date
)

select * from uncovered
