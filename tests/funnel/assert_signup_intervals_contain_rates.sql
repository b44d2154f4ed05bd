-- On real output, every Wilson interval of fct_signup_conversion contains its rate and lies
-- in [0, 1] (the formula itself is checked against hand-computed values in
-- tests/macros/assert_stats_macros_known_values.sql). Any row returned is a failure.
with

conversion as (
    select * from {{ ref('fct_signup_conversion') }}
),

failures as (
    select *
    from conversion
    where not (
        signup_rate_ci_lower between 0 and 1
        and signup_rate_ci_upper between 0 and 1
        and signup_rate_ci_lower <= signup_rate
        and signup_rate <= signup_rate_ci_upper
    )
)

select * from failures
