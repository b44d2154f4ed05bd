-- Known answers of the funnel macros (macros/funnels/funnel_rules.sql), by hand:
--   list filters: 'Member_Benefits' passes 'member_benefits; home' (case and spaces ignored),
--   'cart' does not; '!member_benefits' passes 'home' and a null value, not the benefit page;
--   an empty list passes everything; a null value never passes a positive list;
--   flags: null passes anything, false passes a null value;
--   windows: 90 minutes = 5,400 s, 2 weeks = 1,209,600 s, an unknown unit is null;
--   periods: Sunday 2026-02-01 is in the week from Monday 2026-01-26 and the month from
--   2026-02-01; one month before 2026-03-01 is 2026-02-01, two weeks after 2026-01-26 is
--   2026-02-09; 90 seconds after 10:00 is 10:01:30; 10:00 to 10:01:30.25 is 90.25 s;
--   the optional-steps mask 10 (steps 2 and 4) holds step 2 and not step 3.
-- Any row returned is a failure.
with

checks as (
    select
        'list_positive_case_and_spaces' as case_name,
        {{ funnel_list_matches("'Member_Benefits'", "'member_benefits; home'") }} as passed
    union all
    select
        'list_positive_other' as case_name,
        ({{ funnel_list_matches("'cart'", "'member_benefits;home'") }}) is false as passed
    union all
    select
        'list_negated_other' as case_name,
        {{ funnel_list_matches("'home'", "'!member_benefits'") }} as passed
    union all
    select
        'list_negated_null' as case_name,
        {{ funnel_list_matches('null', "'!member_benefits'") }} as passed
    union all
    select
        'list_negated_listed' as case_name,
        ({{ funnel_list_matches("'member_benefits'", "'!member_benefits'") }}) is false as passed
    union all
    select
        'list_empty' as case_name,
        {{ funnel_list_matches("'cart'", "' '") }} as passed
    union all
    select
        'list_null_list' as case_name,
        {{ funnel_list_matches("'cart'", 'null') }} as passed
    union all
    select
        'list_null_value' as case_name,
        ({{ funnel_list_matches('null', "'cart'") }}) is false as passed
    union all
    select
        'flag_null_filter' as case_name,
        {{ funnel_flag_matches('false', 'null') }} as passed
    union all
    select
        'flag_false_null_value' as case_name,
        {{ funnel_flag_matches('null', 'false') }} as passed
    union all
    select
        'flag_true_false_value' as case_name,
        ({{ funnel_flag_matches('false', 'true') }}) is false as passed
    union all
    select
        'window_minutes' as case_name,
        {{ funnel_window_seconds('90', "'minute'") }} = 5400 as passed
    union all
    select
        'window_weeks' as case_name,
        {{ funnel_window_seconds('2', "'week'") }} = 1209600 as passed
    union all
    select
        'window_unknown_unit' as case_name,
        {{ funnel_window_seconds('2', "'year'") }} is null as passed
    union all
    select
        'period_week_from_monday' as case_name,
        {{ funnel_period_start("'week'", "timestamp '2026-02-01 23:59:59'") }}
        = date '2026-01-26' as passed
    union all
    select
        'period_month' as case_name,
        {{ funnel_period_start("'month'", "timestamp '2026-02-01 00:00:00'") }}
        = date '2026-02-01' as passed
    union all
    select
        'period_day' as case_name,
        {{ funnel_period_start("'day'", "timestamp '2026-02-01 23:59:59'") }}
        = date '2026-02-01' as passed
    union all
    select
        'period_month_before' as case_name,
        {{ funnel_period_add("'month'", '-1', "date '2026-03-01'") }}
        = date '2026-02-01' as passed
    union all
    select
        'period_two_weeks_after' as case_name,
        {{ funnel_period_add("'week'", '2', "date '2026-01-26'") }}
        = date '2026-02-09' as passed
    union all
    select
        'add_seconds' as case_name,
        {{ funnel_add_seconds("timestamp '2026-01-10 10:00:00'", '90') }}
        = timestamp '2026-01-10 10:01:30' as passed
    union all
    select
        'add_seconds_keeps_the_fraction' as case_name,
        {{ funnel_add_seconds("timestamp '2026-01-10 10:00:00.25'", '90') }}
        = timestamp '2026-01-10 10:01:30.25' as passed
    union all
    select
        'period_day_before_across_a_month' as case_name,
        {{ funnel_period_add("'day'", '-1', "date '2026-03-01'") }} = date '2026-02-28' as passed
    union all
    select
        'seconds_between' as case_name,
        {{ funnel_seconds_between(
            "timestamp '2026-01-10 10:00:00'", "timestamp '2026-01-10 10:01:30.25'"
        ) }} = 90.25 as passed
    union all
    select
        'mask_has_step_2' as case_name,
        {{ funnel_step_in_mask('10', 2) }} as passed
    union all
    select
        'mask_lacks_step_3' as case_name,
        ({{ funnel_step_in_mask('10', 3) }}) is false as passed
),

failures as (
    select *
    from checks
    where not coalesce(passed, false)
)

select * from failures
