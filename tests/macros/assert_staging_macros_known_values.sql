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
        ('utc', {{ to_utc_timestamp("'2026-01-05T10:00:00+09:00'") }}::varchar, '2026-01-05 01:00:00'),
        ('utc_naive', {{ to_utc_timestamp("'2026-01-05 10:00:00'") }}::varchar, '2026-01-05 10:00:00'),
        ('utc_bad', coalesce({{ to_utc_timestamp("'yesterday-ish'") }}::varchar, '<null>'), '<null>'),
        ('bool_yes', {{ to_boolean("'Y'") }}::varchar, 'true'),
        ('bool_zero', {{ to_boolean("0") }}::varchar, 'false'),
        ('bool_other', coalesce({{ to_boolean("'maybe'") }}::varchar, '<null>'), '<null>'),
        ('amount', {{ to_amount("'1234.5'") }}::varchar, '1234.50'),
        ('paid', {{ is_paid_order("' Paid '") }}::varchar, 'true'),
        ('refunded', {{ is_paid_order("'refunded'") }}::varchar, 'false')
    ) as known (case_name, computed, expected)
),

failures as (
    select *
    from cases
    where computed is distinct from expected
)

select * from failures
