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
    select 'list_positive_other', not {{ funnel_list_matches("'cart'", "'member_benefits;home'") }}
    union all
    select 'list_negated_other', {{ funnel_list_matches("'home'", "'!member_benefits'") }}
    union all
    select 'list_negated_null', {{ funnel_list_matches('null', "'!member_benefits'") }}
    union all
    select
        'list_negated_listed',
        not {{ funnel_list_matches("'member_benefits'", "'!member_benefits'") }}
    union all
    select 'list_empty', {{ funnel_list_matches("'cart'", "' '") }}
    union all
    select 'list_null_list', {{ funnel_list_matches("'cart'", 'null') }}
    union all
    select 'list_null_value', not {{ funnel_list_matches('null', "'cart'") }}
    union all
    select 'flag_null_filter', {{ funnel_flag_matches('false', 'null') }}
    union all
    select 'flag_false_null_value', {{ funnel_flag_matches('null', 'false') }}
    union all
    select 'flag_true_false_value', not {{ funnel_flag_matches('false', 'true') }}
    union all
    select 'window_minutes', {{ funnel_window_seconds('90', "'minute'") }} = 5400
    union all
    select 'window_weeks', {{ funnel_window_seconds('2', "'week'") }} = 1209600
    union all
    select 'window_unknown_unit', {{ funnel_window_seconds('2', "'year'") }} is null
    union all
    select
        'period_week_from_monday',
        {{ funnel_period_start("'week'", "timestamp '2026-02-01 23:59:59'") }}
        = date '2026-01-26'
    union all
    select
        'period_month',
        {{ funnel_period_start("'month'", "timestamp '2026-02-01 00:00:00'") }}
        = date '2026-02-01'
    union all
    select
        'period_day',
        {{ funnel_period_start("'day'", "timestamp '2026-02-01 23:59:59'") }}
        = date '2026-02-01'
    union all
    select
        'period_month_before',
        {{ funnel_period_add("'month'", '-1', "date '2026-03-01'") }} = date '2026-02-01'
    union all
    select
        'period_two_weeks_after',
        {{ funnel_period_add("'week'", '2', "date '2026-01-26'") }} = date '2026-02-09'
    union all
    select
        'add_seconds',
        {{ funnel_add_seconds("timestamp '2026-01-10 10:00:00'", '90') }}
        = timestamp '2026-01-10 10:01:30'
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
        'seconds_between',
        {{ funnel_seconds_between(
            "timestamp '2026-01-10 10:00:00'", "timestamp '2026-01-10 10:01:30.25'"
        ) }} = 90.25
    union all
    select 'mask_has_step_2', {{ funnel_step_in_mask('10', 2) }}
    union all
    select 'mask_lacks_step_3', not {{ funnel_step_in_mask('10', 3) }}
),

failures as (
    select *
    from checks
    where not coalesce(passed, false)
)

select * from failures
