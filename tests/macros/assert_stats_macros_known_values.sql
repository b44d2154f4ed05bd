-- Known answers, computed by hand (and checked against scipy.stats):
--   wilson 95% for 10 / 100: [0.05522854, 0.17436730]
--   wilson for 0 / 20:       [0, 0.16113013]
--   z for 30/100 vs 20/100:  pooled p = 0.25, se = sqrt(.25 * .75 * .02) = 0.06123724,
--                            z = 0.1 / 0.06123724 = 1.63299316
--   p-value of z = 1.96: 0.04999579; of z = 0: 1; of z = -2.5758: 0.01000
--   round_half_up to 3 decimals: (133.053 + 133.054) / 2 (stored as 133.05349999...) is
--   133.054; 111.00000000000001 is 111.0; 0.0004999 is 0.0
-- Any row returned is a failure.
with

cases as (
    select *
    from (
        select
            'wilson_lower_10_100' as case_name,
            {{ wilson_bound(10, 100, 'lower') }} as computed,
            0.05522854 as expected
        union all
        select
            'wilson_upper_10_100' as case_name,
            {{ wilson_bound(10, 100, 'upper') }} as computed,
            0.17436730 as expected
        union all
        select
            'wilson_lower_0_20' as case_name,
            {{ wilson_bound(0, 20, 'lower') }} as computed,
            0.0 as expected
        union all
        select
            'wilson_upper_0_20' as case_name,
            {{ wilson_bound(0, 20, 'upper') }} as computed,
            0.16113013 as expected
        union all
        select
            'z_30_100_vs_20_100' as case_name,
            {{ two_proportion_z(30, 100, 20, 100) }} as computed,
            1.63299316 as expected
        union all
        select
            'p_value_z_1_96' as case_name,
            {{ normal_two_sided_p_value(1.96) }} as computed,
            0.04999579 as expected
        union all
        select
            'p_value_z_0' as case_name,
            {{ normal_two_sided_p_value(0) }} as computed,
            1.0 as expected
        union all
        select
            'p_value_z_minus_2_5758' as case_name,
            {{ normal_two_sided_p_value(-2.5758) }} as computed,
            0.01000 as expected
        union all
        select 'ratio_1_4' as case_name, {{ safe_ratio(1, 4) }} as computed, 0.25 as expected
        union all
        select
            'round_tie_below_in_binary' as case_name,
            {{ round_half_up('(cast(133.053 as double) + cast(133.054 as double)) / 2', 3) }}
                as computed,
            133.054 as expected
        union all
        select
            'round_float_noise' as case_name,
            {{ round_half_up('cast(111.00000000000001 as double)', 3) }} as computed,
            111.0 as expected
        union all
        select
            'round_down' as case_name,
            {{ round_half_up('cast(0.0004999 as double)', 3) }} as computed,
            0.0 as expected
    ) as known
),

null_cases as (
    select *
    from (
        select 'wilson_zero_trials' as case_name, {{ wilson_bound(0, 0, 'lower') }} as computed
        union all
        select 'z_empty_group' as case_name, {{ two_proportion_z(0, 0, 5, 10) }} as computed
        union all
        select 'z_pooled_rate_zero' as case_name, {{ two_proportion_z(0, 10, 0, 10) }} as computed
        union all
        select 'ratio_zero_denominator' as case_name, {{ safe_ratio(1, 0) }} as computed
        union all
        select 'round_null' as case_name, {{ round_half_up('null', 3) }} as computed
    ) as known
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
