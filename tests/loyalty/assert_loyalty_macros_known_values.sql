-- Known answers for the loyalty rules (macros/loyalty/); any row returned is a failure. The
-- new-release window is var new_release_days: the cases at its edges are placed relative to
-- the var (one minute before the window ends: new; exactly at its end: not), so the test
-- checks the rule with whatever window the project sets, and the fixed cases hold for any.
{%- set released = "timestamp '2026-01-01 00:00:00'" %}
{%- set window_end = add_days(released, var('new_release_days')) %}

with

cases as (
    select *
    from (
        select
            'release_day' as case_name,
            {{ is_new_release(released, released) }} as computed,
            true as expected
        union all
        select
            'last_minute_of_window' as case_name,
            {{ is_new_release(window_end ~ " - interval 1 minute", released) }} as computed,
            true as expected
        union all
        select
            'window_end_excluded' as case_name,
            {{ is_new_release(window_end, released) }} as computed,
            false as expected
        union all
        select
            'before_release' as case_name,
            {{ is_new_release("timestamp '2025-12-31 23:59:00'", released) }} as computed,
            false as expected
        union all
        select
            'unknown_release' as case_name,
            {{ is_new_release(
                "timestamp '2026-01-02 00:00:00'", 'cast(null as timestamp)'
            ) }} as computed,
            false as expected
        union all
        select
            'below_list_price' as case_name,
            {{ is_discounted('90.00', '100.00', 'null') }} as computed,
            true as expected
        union all
        select
            'at_list_price' as case_name,
            {{ is_discounted('100.00', '100.00', 'null') }} as computed,
            false as expected
        union all
        select
            'above_list_price' as case_name,
            {{ is_discounted('110.00', '100.00', 'null') }} as computed,
            false as expected
        union all
        select
            'coupon_at_list_price' as case_name,
            {{ is_discounted('100.00', '100.00', "'WELCOME10'") }} as computed,
            true as expected
        union all
        select
            'unknown_list_price' as case_name,
            {{ is_discounted('100.00', 'null', 'null') }} as computed,
            false as expected
        union all
        select
            'unknown_list_price_coupon' as case_name,
            {{ is_discounted('100.00', 'null', "'VIP5'") }} as computed,
            true as expected
    ) as known
),

failures as (
    select *
    from cases
    where computed is distinct from expected
)

select * from failures
