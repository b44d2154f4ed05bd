-- Known answers for the staging macros; any row returned is a failure.
with

cases as (
    select *
    from (
        values
        (
            'utm_from_url',
            {{ url_parameter("'https://www.shop.example/?utm_source=naver&utm_term=running%20shoes'", 'utm_term') }},
            'running shoes'
        ),
        (
            'utm_plus_is_space',
            {{ url_parameter("'https://x.example/p?utm_campaign=spring+sale#top'", 'utm_campaign') }},
            'spring sale'
        ),
        (
            'utm_absent',
            coalesce({{ url_parameter("'https://x.example/p?utm_source=a'", 'utm_medium') }}, '<null>'),
            '<null>'
        ),
        ('host', {{ url_host("'https://Search.Naver.com/search.naver?q=1'") }}, 'search.naver.com'),
        ('host_absent', coalesce({{ url_host("'not a url'") }}, '<null>'), '<null>'),
        ('path_root', {{ url_path("'https://www.shop.example'") }}, '/'),
        ('path', {{ url_path("'https://www.shop.example/Member-Benefits?x=1'") }}, '/member-benefits'),
        ('path_malformed', coalesce({{ url_path("'htp:/broken link'") }}, '<null>'), '<null>'),
        ('text_empty', coalesce({{ clean_text("'  '") }}, '<null>'), '<null>'),
        ('id_ok', {{ is_valid_id("'a_0f3c'") }}::varchar, 'true'),
        ('id_space', {{ is_valid_id("'a b'") }}::varchar, 'false'),
        ('id_placeholder', {{ is_valid_id("'Undefined'") }}::varchar, 'false'),
        ('id_empty', {{ is_valid_id("''") }}::varchar, 'false'),
        ('utc', {{ to_utc_timestamp("'2026-01-05T10:00:00+09:00'") }}::varchar, '2026-01-05 01:00:00'),
        ('utc_naive', {{ to_utc_timestamp("'2026-01-05 10:00:00'") }}::varchar, '2026-01-05 10:00:00'),
        (
            'utc_negative_offset',
            {{ to_utc_timestamp("'2026-01-04T20:30:00-05:00'") }}::varchar,
            '2026-01-05 01:30:00'
        ),
        (
            'utc_from_timestamptz',
            {{ to_utc_timestamp("timestamptz '2026-01-05 10:00:00+09:00'") }}::varchar,
            '2026-01-05 01:00:00'
        ),
        ('utc_bad', coalesce({{ to_utc_timestamp("'yesterday-ish'") }}::varchar, '<null>'), '<null>'),
        ('bool_yes', {{ to_boolean("'Y'") }}::varchar, 'true'),
        ('bool_zero', {{ to_boolean("0") }}::varchar, 'false'),
        ('bool_other', coalesce({{ to_boolean("'maybe'") }}::varchar, '<null>'), '<null>'),
        ('amount', {{ to_amount("' 1234.5 '") }}::varchar, '1234.50'),
        ('amount_bad', coalesce({{ to_amount("'12,50'") }}::varchar, '<null>'), '<null>'),
        ('integer', {{ to_integer("' 3 '") }}::varchar, '3'),
        ('integer_not_whole', coalesce({{ to_integer("'2.5'") }}::varchar, '<null>'), '<null>'),
        ('bot', {{ is_bot_user_agent("'Mozilla/5.0 (compatible; Googlebot/2.1)'") }}::varchar, 'true'),
        ('bot_human', {{ is_bot_user_agent("'Mozilla/5.0 Safari/604.1'") }}::varchar, 'false'),
        ('bot_null', {{ is_bot_user_agent("null") }}::varchar, 'false'),
        ('test_order', {{ is_test_order("'TEST'") }}::varchar, 'true'),
        ('test_order_null', {{ is_test_order("null") }}::varchar, 'false'),
        ('paid', {{ is_paid_order("' Paid '") }}::varchar, 'true'),
        ('paid_null', {{ is_paid_order("null") }}::varchar, 'false'),
        ('test_not_paid', {{ is_paid_order("'test'") }}::varchar, 'false'),
        ('refunded', {{ is_paid_order("'refunded'") }}::varchar, 'false')
    ) as known (case_name, computed, expected)
),

failures as (
    select *
    from cases
    where computed is distinct from expected
)

select * from failures
