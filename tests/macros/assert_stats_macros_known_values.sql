-- Known answers, computed by hand (and checked against scipy.stats):
--   wilson 95% for 10 / 100: [0.05522854, 0.17436730]
--   wilson for 0 / 20:       [0, 0.16113013]
--   z for 30/100 vs 20/100:  pooled p = 0.25, se = sqrt(.25 * .75 * .02) = 0.06123724,
--                            z = 0.1 / 0.06123724 = 1.63299316
--   p-value of z = 1.96: 0.04999579; of z = 0: 1; of z = -2.5758: 0.01000
-- Any row returned is a failure.
with

cases as (
    select *
    from (
        values
        ('wilson_lower_10_100', {{ wilson_bound(10, 100, 'lower') }}, 0.05522854),
        ('wilson_upper_10_100', {{ wilson_bound(10, 100, 'upper') }}, 0.17436730),
        ('wilson_lower_0_20', {{ wilson_bound(0, 20, 'lower') }}, 0.0),
        ('wilson_upper_0_20', {{ wilson_bound(0, 20, 'upper') }}, 0.16113013),
        ('z_30_100_vs_20_100', {{ two_proportion_z(30, 100, 20, 100) }}, 1.63299316),
        ('p_value_z_1_96', {{ normal_two_sided_p_value(1.96) }}, 0.04999579),
        ('p_value_z_0', {{ normal_two_sided_p_value(0) }}, 1.0),
        ('p_value_z_minus_2_5758', {{ normal_two_sided_p_value(-2.5758) }}, 0.01000),
        ('ratio_1_4', {{ safe_ratio(1, 4) }}, 0.25)
    ) as known (case_name, computed, expected)
),

null_cases as (
    select *
    from (
        values
        ('wilson_zero_trials', {{ wilson_bound(0, 0, 'lower') }}),
        ('z_empty_group', {{ two_proportion_z(0, 0, 5, 10) }}),
        ('z_pooled_rate_zero', {{ two_proportion_z(0, 10, 0, 10) }}),
        ('ratio_zero_denominator', {{ safe_ratio(1, 0) }})
    ) as known (case_name, computed)
),

failures as (
    select
        case_name,
        computed,
        expected
    from cases
    where computed is null or abs(computed - expected) > 1e-6
    union all
    select
        case_name,
        computed,
        null as expected
    from null_cases
    where computed is not null
)

select * from failures
