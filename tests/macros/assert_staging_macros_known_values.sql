-- Known answers for the staging macros; any row returned is a failure.
with

cases as (
    select *
    from (
        select
            'utm_from_url' as case_name,
            {{ url_parameter(
                "'https://www.shop.example/?utm_source=naver&utm_term=running%20shoes'", 'utm_term'
            ) }} as computed,
            'running shoes' as expected
        union all
        select
            'utm_plus_is_space' as case_name,
            {{ url_parameter(
                "'https://x.example/p?utm_campaign=spring+sale#top'", 'utm_campaign'
            ) }} as computed,
            'spring sale' as expected
        union all
        select
            'utm_absent' as case_name,
            coalesce({{ url_parameter(
                "'https://x.example/p?utm_source=a'", 'utm_medium'
            ) }}, '<null>') as computed,
            '<null>' as expected
        union all
        select
            'host' as case_name,
            {{ url_host("'https://Search.Naver.com/search.naver?q=1'") }} as computed,
            'search.naver.com' as expected
        union all
        select
            'host_absent' as case_name,
            coalesce({{ url_host("'not a url'") }}, '<null>') as computed,
            '<null>' as expected
        union all
        select
            'path_root' as case_name,
            {{ url_path("'https://www.shop.example'") }} as computed,
            '/' as expected
        union all
        select
            'path' as case_name,
            {{ url_path("'https://www.shop.example/Member-Benefits?x=1'") }} as computed,
            '/member-benefits' as expected
        union all
        select
            'path_malformed' as case_name,
            coalesce({{ url_path("'htp:/broken link'") }}, '<null>') as computed,
            '<null>' as expected
        union all
        select
            'text_empty' as case_name,
            coalesce({{ clean_text("'  '") }}, '<null>') as computed,
            '<null>' as expected
        union all
        select
            'id_ok' as case_name,
            cast({{ is_valid_id("'a_0f3c'") }} as string) as computed,
            'true' as expected
        union all
        select
            'id_space' as case_name,
            cast({{ is_valid_id("'a b'") }} as string) as computed,
            'false' as expected
        union all
        select
            'id_placeholder' as case_name,
            cast({{ is_valid_id("'Undefined'") }} as string) as computed,
            'false' as expected
        union all
        select
            'id_empty' as case_name,
            cast({{ is_valid_id("''") }} as string) as computed,
            'false' as expected
        union all
        select
            'utc' as case_name,
            cast({{ to_utc_timestamp("'2026-01-05T10:00:00+09:00'") }} as string) as computed,
            '2026-01-05 01:00:00' as expected
        union all
        select
            'utc_naive' as case_name,
            cast({{ to_utc_timestamp("'2026-01-05 10:00:00'") }} as string) as computed,
            '2026-01-05 10:00:00' as expected
        union all
        select
            'utc_negative_offset' as case_name,
            cast({{ to_utc_timestamp("'2026-01-04T20:30:00-05:00'") }} as string) as computed,
            '2026-01-05 01:30:00' as expected
        union all
        select
            'utc_from_timestamptz' as case_name,
            cast({{ to_utc_timestamp(
                ("timestamptz" if target.type == 'duckdb' else "timestamp")
                ~ " '2026-01-05 10:00:00+09:00'"
            ) }} as string) as computed,
            '2026-01-05 01:00:00' as expected
        union all
        select
            'utc_bad' as case_name,
            coalesce(cast({{ to_utc_timestamp(
                "'yesterday-ish'"
            ) }} as string), '<null>') as computed,
            '<null>' as expected
        union all
        select
            'bool_yes' as case_name,
            cast({{ to_boolean("'Y'") }} as string) as computed,
            'true' as expected
        union all
        select
            'bool_zero' as case_name,
            cast({{ to_boolean("0") }} as string) as computed,
            'false' as expected
        union all
        select
            'bool_other' as case_name,
            coalesce(cast({{ to_boolean("'maybe'") }} as string), '<null>') as computed,
            '<null>' as expected
        union all
        select
            'amount' as case_name,
            cast({{ to_amount("' 1234.5 '") }} as string) as computed,
            '1234.50' as expected
        union all
        select
            'amount_bad' as case_name,
            coalesce(cast({{ to_amount("'12,50'") }} as string), '<null>') as computed,
            '<null>' as expected
        union all
        select
            'integer' as case_name,
            cast({{ to_integer("' 3 '") }} as string) as computed,
            '3' as expected
        union all
        select
            'integer_not_whole' as case_name,
            coalesce(cast({{ to_integer("'2.5'") }} as string), '<null>') as computed,
            '<null>' as expected
        union all
        select
            'bot' as case_name,
            cast({{ is_bot_user_agent(
                "'Mozilla/5.0 (compatible; Googlebot/2.1)'"
            ) }} as string) as computed,
            'true' as expected
        union all
        select
            'bot_human' as case_name,
            cast({{ is_bot_user_agent("'Mozilla/5.0 Safari/604.1'") }} as string) as computed,
            'false' as expected
        union all
        select
            'bot_null' as case_name,
            cast({{ is_bot_user_agent("null") }} as string) as computed,
            'false' as expected
        union all
        select
            'test_order' as case_name,
            cast({{ is_test_order("'TEST'") }} as string) as computed,
            'true' as expected
        union all
        select
            'test_order_null' as case_name,
            cast({{ is_test_order("null") }} as string) as computed,
            'false' as expected
        union all
        select
            'paid' as case_name,
            cast({{ is_paid_order("' Paid '") }} as string) as computed,
            'true' as expected
        union all
        select
            'paid_null' as case_name,
            cast({{ is_paid_order("null") }} as string) as computed,
            'false' as expected
        union all
        select
            'test_not_paid' as case_name,
            cast({{ is_paid_order("'test'") }} as string) as computed,
            'false' as expected
        union all
        select
            'refunded' as case_name,
            cast({{ is_paid_order("'refunded'") }} as string) as computed,
            'false' as expected
    ) as known
),

failures as (
    select *
    from cases
    where computed is distinct from expected
)

select * from failures
