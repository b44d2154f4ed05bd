-- One row: the as-of date of the audiences and customer scores: var audience_as_of_date, else
-- the last day of data (the last load date, int_analysis_window).
with

analysis_window as (
    select * from {{ ref('int_analysis_window') }}
),

final as (
    select
        coalesce({{ var_date('audience_as_of_date') }}, data_end_date) as as_of_date,
        data_end_date
    from analysis_window
)

select * from final
