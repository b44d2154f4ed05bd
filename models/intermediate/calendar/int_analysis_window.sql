-- One row: the dates of the data and the analysis window of the conversion marts (docs block
-- data_dates). The data ends on the last load date of any raw table (never a max over event
-- times, so an event stamped in the future cannot move it). The data starts on the first day
-- after the last gap of more than var max_data_gap_days without a session (so an isolated
-- outlier date, e.g. 1970, cannot move it). Default analysis start: the first day with var
-- new_visitor_lookback_days of history before it (a "new" visitor was not seen for at least
-- that long); default end: the last day of data. Vars analysis_start_date / analysis_end_date
-- override either.
with

sessions as (
    select * from {{ ref('int_sessions_attributed') }}
),

events as (
    select * from {{ ref('stg_shop__events') }}
),

members as (
    select * from {{ ref('stg_shop__members') }}
),

grade_history as (
    select * from {{ ref('stg_shop__member_grade_history') }}
),

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

order_items as (
    select * from {{ ref('stg_shop__order_items') }}
),

products as (
    select * from {{ ref('stg_shop__products') }}
),

load_dates as (
    select max(load_date) as load_date from events
    union all
    select max(load_date) from members
    union all
    select max(load_date) from grade_history
    union all
    select max(load_date) from orders
    union all
    select max(load_date) from order_items
    union all
    select max(load_date) from products
),

session_dates as (
    select distinct session_date
    from sessions
),

gaps as (
    select
        session_date,
        lag(session_date) over (order by session_date) as previous_session_date
    from session_dates
),

data_dates as (
    select
        (
            select max(session_date) from gaps
            where
                previous_session_date is null
                or {{ dbt.datediff('previous_session_date', 'session_date', 'day') }}
                > {{ var_integer('max_data_gap_days') }}
        ) as data_start_date,
        (select max(load_date) from load_dates) as data_end_date
),

final as (
    select
        data_start_date,
        data_end_date,
        coalesce(
            {{ var_date('analysis_start_date') }},
            least(
                cast({{ dbt.dateadd('day', var_integer('new_visitor_lookback_days'), 'data_start_date') }} as date),
                data_end_date
            )
        ) as analysis_start_date,
        coalesce({{ var_date('analysis_end_date') }}, data_end_date) as analysis_end_date
    from data_dates
)

select * from final
