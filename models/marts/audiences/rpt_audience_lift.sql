-- Did the action work? For each registered audience (seed audiences) and as-of date, the
-- audience's conversion (its conversion_rule: signup, first_paid_order or
-- paid_new_release_purchase) within var lift_window_days after the as-of date, exported
-- persons against the holdout. Rates, lift (exported / holdout), the absolute lift
-- (exported - holdout) with Newcombe's 95% interval, and a pooled two-proportion z-test.
-- Needs an as-of date with data after it (var audience_as_of_date): with the default (the
-- last day of data) the window is empty and is_window_complete is false.
with

audiences as (
    select * from {{ ref('audiences') }}
),

audience_members as (
    select * from {{ ref('fct_audience_members') }}
),

persons as (
    select * from {{ ref('dim_persons') }}
),

order_items as (
    select * from {{ ref('int_order_items_paid') }}
),

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

new_release_buyers as (
    -- first paid new-release purchase after the as-of date
    select
        person_id,
        min(ordered_at) as first_new_release_at
    from order_items
    where is_new_release and not is_by_as_of_date
    group by person_id
),

outcomes as (
    select
        audience_members.*,
        case audiences.conversion_rule
            when 'signup' then persons.signed_up_at
            when 'first_paid_order' then persons.first_order_at
            when 'paid_new_release_purchase' then new_release_buyers.first_new_release_at
        end as converted_at
    from audience_members
    inner join audiences
        on audience_members.audience_name = audiences.audience_name
    left join persons
        on audience_members.person_id = persons.person_id
    left join new_release_buyers
        on audience_members.person_id = new_release_buyers.person_id
),

converted as (
    select
        *,
        coalesce(
            not {{ is_by_as_of_date('converted_at', 'as_of_date') }}
            and cast(converted_at as date) <= {{ add_days(
                'as_of_date', var_integer('lift_window_days')
            ) }},
            false
        ) as has_converted_in_window
    from outcomes
),

audience_runs as (
    -- every registered audience gets a row, an empty one included
    select
        audiences.audience_name,
        as_of.as_of_date,
        {{ add_days('as_of.as_of_date', var_integer('lift_window_days')) }} <= as_of.data_end_date
            as is_window_complete
    from audiences
    cross join as_of
),

counted as (
    select
        audience_runs.audience_name,
        audience_runs.as_of_date,
        audience_runs.is_window_complete,
        count(converted.person_id) filter (where not converted.is_holdout) as exported_persons,
        count(converted.person_id) filter (where converted.is_holdout) as holdout_persons,
        count(converted.person_id) filter (
            where not converted.is_holdout and converted.has_converted_in_window
        ) as exported_conversions,
        count(converted.person_id) filter (
            where converted.is_holdout and converted.has_converted_in_window
        ) as holdout_conversions
    from audience_runs
    left join converted
        on
            audience_runs.audience_name = converted.audience_name
            and audience_runs.as_of_date = converted.as_of_date
    group by
        audience_runs.audience_name,
        audience_runs.as_of_date,
        audience_runs.is_window_complete
),

tested as (
    select
        *,
        {{ safe_ratio('exported_conversions', 'exported_persons') }} as exported_rate,
        {{ safe_ratio('holdout_conversions', 'holdout_persons') }} as holdout_rate,
        {{ two_proportion_z(
            'exported_conversions', 'exported_persons', 'holdout_conversions', 'holdout_persons'
        ) }}
            as z_score,
        {{ wilson_bound('exported_conversions', 'exported_persons', 'lower') }}
            as exported_rate_lower,
        {{ wilson_bound('exported_conversions', 'exported_persons', 'upper') }}
            as exported_rate_upper,
        {{ wilson_bound('holdout_conversions', 'holdout_persons', 'lower') }}
            as holdout_rate_lower,
        {{ wilson_bound('holdout_conversions', 'holdout_persons', 'upper') }}
            as holdout_rate_upper
    from counted
),

intervals as (
    -- Newcombe's hybrid score interval (his method 10) for exported_rate - holdout_rate:
    -- each rate's distance to its own Wilson 95% bounds, combined in quadrature. Unlike the
    -- Wald interval it stays valid with few persons or a rate of 0 (a small holdout often
    -- has no conversion); null when either group is empty.
    select
        *,
        exported_rate - holdout_rate - sqrt(
            power(exported_rate - exported_rate_lower, 2)
            + power(holdout_rate_upper - holdout_rate, 2)
        ) as absolute_lift_ci_lower,
        exported_rate - holdout_rate + sqrt(
            power(exported_rate_upper - exported_rate, 2)
            + power(holdout_rate - holdout_rate_lower, 2)
        ) as absolute_lift_ci_upper
    from tested
),

final as (
    select
        cast({{ composite_key(['audience_name', 'as_of_date']) }} as string) as audience_run_id,
        cast(audience_name as string) as audience_name,
        cast(exported_persons as bigint) as exported_persons,
        cast(holdout_persons as bigint) as holdout_persons,
        cast(exported_conversions as bigint) as exported_conversions,
        cast(holdout_conversions as bigint) as holdout_conversions,
        cast(exported_rate as double) as exported_rate,
        cast(holdout_rate as double) as holdout_rate,
        cast(round({{ safe_ratio('exported_rate', 'holdout_rate') }}, 6) as double) as lift,
        cast(round(exported_rate - holdout_rate, 6) as double) as absolute_lift,
        cast(round(absolute_lift_ci_lower, 6) as double) as absolute_lift_ci_lower,
        cast(round(absolute_lift_ci_upper, 6) as double) as absolute_lift_ci_upper,
        cast(round(z_score, 6) as double) as z_score,
        cast(round({{ normal_two_sided_p_value('z_score') }}, 6) as double) as p_value,
        cast(is_window_complete as boolean) as is_window_complete,
        cast(as_of_date as date) as as_of_date
    from intervals
)

select * from final
