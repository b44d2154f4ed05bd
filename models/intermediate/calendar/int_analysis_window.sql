-- One row: the dates of the data and the analysis window of the conversion marts (docs block
-- data_dates). The data ends on the last load date of any raw table (never a max over event
-- times, so an event stamped in the future cannot move it). The data starts on the first day
-- of the largest run of days with sessions, runs split by gaps of more than var
-- max_data_gap_days (so an isolated outlier date, e.g. 1970, cannot move it, nor can a quiet
-- week at the end). Default analysis start: the first day with var
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
    select
        max(load_date) as load_date,
        min(load_date) as first_load_date
    from events
    union all
    select
        max(load_date) as load_date,
        min(load_date) as first_load_date
    from members
    union all
    select
        max(load_date) as load_date,
        min(load_date) as first_load_date
    from grade_history
    union all
    select
        max(load_date) as load_date,
        min(load_date) as first_load_date
    from orders
    union all
    select
        max(load_date) as load_date,
        min(load_date) as first_load_date
    from order_items
    union all
    select
        max(load_date) as load_date,
        min(load_date) as first_load_date
    from products
),

session_days as (
    select
        session_date,
        count(*) as sessions
    from sessions
    group by session_date
),

-- runs of days with sessions, split where more than var max_data_gap_days pass without one
gaps as (
    select
        session_date,
        sessions,
        case
            when
                {{ dbt.datediff(
                    'lag(session_date) over (order by session_date)', 'session_date', 'day'
                ) }} > {{ var_integer('max_data_gap_days') }}
                then 1
            else 0
        end as starts_a_run
    from session_days
),

runs as (
    select
        session_date,
        sessions,
        sum(starts_a_run) over (
            order by session_date rows between unbounded preceding and current row
        ) as run_number
    from gaps
),

run_sizes as (
    select
        run_number,
        min(session_date) as first_date,
        sum(sessions) as sessions
    from runs
    group by run_number
),

data_dates as (
    select
        -- a shop without web events (orders only) starts with its first load
        coalesce(
            (
                select first_date from run_sizes
                order by sessions desc, first_date asc
                limit 1
            ),
            (select min(first_load_date) from load_dates)
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
