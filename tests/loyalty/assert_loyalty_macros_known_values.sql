-- Known answers for the loyalty rules (macros/loyalty/); any row returned is a failure. The
-- new-release window is var new_release_days: the cases at its edges are placed relative to
-- the var (one minute before the window ends: new; exactly at its end: not), so the test
-- checks the rule with whatever window the project sets, and the fixed cases hold for any.
{%- set released = "timestamp '2026-01-01 00:00:00'" %}
{%- set window_end = released ~ " + to_days(" ~ var('new_release_days') ~ ")" %}

with

cases as (
    select *
    from (
        values
        ('release_day', {{ is_new_release(released, released) }}, true),
        (
            'last_minute_of_window',
            {{ is_new_release(window_end ~ " - interval 1 minute", released) }},
            true
        ),
        ('window_end_excluded', {{ is_new_release(window_end, released) }}, false),
        ('before_release', {{ is_new_release("timestamp '2025-12-31 23:59:00'", released) }}, false),
        ('unknown_release', {{ is_new_release("timestamp '2026-01-02 00:00:00'", 'cast(null as timestamp)') }}, false),
        ('below_list_price', {{ is_discounted('90.00', '100.00', 'null') }}, true),
        ('at_list_price', {{ is_discounted('100.00', '100.00', 'null') }}, false),
        ('above_list_price', {{ is_discounted('110.00', '100.00', 'null') }}, false),
        ('coupon_at_list_price', {{ is_discounted('100.00', '100.00', "'WELCOME10'") }}, true),
        ('unknown_list_price', {{ is_discounted('100.00', 'null', 'null') }}, false),
        ('unknown_list_price_coupon', {{ is_discounted('100.00', 'null', "'VIP5'") }}, true)
    ) as known (case_name, computed, expected)
),

failures as (
    select *
    from cases
    where computed is distinct from expected
)

select * from failures
