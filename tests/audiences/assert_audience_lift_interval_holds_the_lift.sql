-- The interval of the absolute lift in rpt_audience_lift (Newcombe's, from the Wilson
-- interval of each rate) holds the absolute lift and is null exactly when either group is
-- empty (the bounds lie in [-1, 1]: value_between in the YAML). Any row returned is a
-- failure, named by the rule it broke.
with

lift as (
    select * from {{ ref('rpt_audience_lift') }}
),

violations as (
    select
        audience_run_id,
        'interval_does_not_hold_the_lift' as broken_rule
    from lift
    where
        absolute_lift < absolute_lift_ci_lower - 0.000001
        or absolute_lift > absolute_lift_ci_upper + 0.000001
    union all
    select
        audience_run_id,
        'interval_null_unless_a_group_is_empty' as broken_rule
    from lift
    where
        (absolute_lift_ci_lower is null or absolute_lift_ci_upper is null)
        = (exported_persons > 0 and holdout_persons > 0)
)

select * from violations
