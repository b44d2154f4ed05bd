-- Known answers for the loyalty rules (macros/loyalty/), with a 30-day new-release window
-- written out by hand; any row returned is a failure.
{%- set released = "timestamp '2026-01-01 00:00:00'" %}

with

cases as (
    select *
    from (
        values
        ('release_day', {{ is_new_release("timestamp '2026-01-01 00:00:00'", released) }}, true),
        (
            'last_minute_of_window',
            {{ is_new_release("timestamp '2026-01-30 23:59:00'", released) }},
            {{ 'true' if var('new_release_days') == 30 else 'null' }}
        ),
        (
            'window_end_excluded',
            {{ is_new_release("timestamp '2026-01-31 00:00:00'", released) }},
            {{ 'false' if var('new_release_days') == 30 else 'null' }}
        ),
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
    -- a null expectation: the case only holds for the default window, skipped otherwise
    where
        expected is not null
        and computed is distinct from expected
)

select * from failures
