-- Known answers for the engine-specific macros (macros/cross_engine/, and first_by/last_by,
-- to_utc_timestamp, sha256_hex): the same cases and the same answers on DuckDB and on Spark.
-- Any row returned is a failure.
with

cases as (
    select
        'full_match' as case_name,
        cast({{ regex_full_match("'ab_12'", '[a-z]+_[0-9]+') }} as string) as computed,
        'true' as expected
    union all
    select
        'full_match_needs_whole_text' as case_name,
        cast({{ regex_full_match("'ab_12x'", '[a-z]+_[0-9]+') }} as string) as computed,
        'false' as expected
    union all
    select
        'full_match_not_before_line_break' as case_name,
        cast({{ regex_full_match("'ab' || chr(10)", 'ab') }} as string) as computed,
        'false' as expected
    union all
    select
        'full_match_backslash_class' as case_name,
        cast({{ regex_full_match("'a b'", 'a\\sb') }} as string) as computed,
        'true' as expected
    union all
    select
        'sql_text_quote_and_backslash' as case_name,
        cast(length({{ sql_text("it's a \\ b") }}) as string)
        || ':' || cast(instr({{ sql_text("it's a \\ b") }}, chr(39)) as string)
        || ':' || cast(instr({{ sql_text("it's a \\ b") }}, chr(92)) as string) as computed,
        '10:3:8' as expected
    union all
    select
        'search' as case_name,
        cast({{ regex_search("'Mozilla Googlebot/2.1'", '(bot|crawl)') }} as string) as computed,
        'true' as expected
    union all
    select
        'search_null' as case_name,
        coalesce(cast({{ regex_search('cast(null as string)', 'a') }} as string), '<null>')
            as computed,
        '<null>' as expected
    union all
    select
        'extract_group' as case_name,
        {{ regex_extract("'x?utm_source=naver&y=1'", '[?&]utm_source=([^&#]*)', 1) }} as computed,
        'naver' as expected
    union all
    select
        'extract_no_match_is_empty' as case_name,
        {{ regex_extract("'abc'", 'z(.)', 1) }} as computed,
        '' as expected
    union all
    select
        'replace_every_match' as case_name,
        {{ regex_replace_all("'010-1234-5678'", '[^0-9]', '') }} as computed,
        '01012345678' as expected
    union all
    select
        'quote_in_pattern' as case_name,
        cast({{ regex_search("'it' || chr(39) || 's'", "'") }} as string) as computed,
        'true' as expected
    union all
    select
        'add_hours' as case_name,
        cast({{ add_hours("timestamp '2026-01-01 23:00:00'", 2) }} as string) as computed,
        '2026-01-02 01:00:00' as expected
    union all
    select
        'add_days_to_date_is_timestamp' as case_name,
        cast({{ add_days("date '2026-01-31'", 30) }} as string) as computed,
        '2026-03-02 00:00:00' as expected
    union all
    select
        'subtract_days' as case_name,
        cast({{ subtract_days("date '2026-03-01'", 1) }} as string) as computed,
        '2026-02-28 00:00:00' as expected
    union all
    select
        'hex_to_bigint' as case_name,
        cast({{ hex_to_bigint("'fffffffffffff'") }} as string) as computed,
        '4503599627370495' as expected
    union all
    select
        'url_decoded' as case_name,
        {{ url_decoded("'running%20shoes'") }} as computed,
        'running shoes' as expected
    union all
    select
        'url_decoded_malformed_kept' as case_name,
        {{ url_decoded("'100%zz'") }} as computed,
        '100%zz' as expected
    union all
    select
        'json_text_array' as case_name,
        cast({{ json_text_array(["'a'", 'cast(null as string)', "'b'"]) }} as string) as computed,
        '["a",null,"b"]' as expected
    union all
    select
        'json_object_text' as case_name,
        cast({{ json_object_text([('events', '3'), ('orders', '0')]) }} as string) as computed,
        '{"events":3,"orders":0}' as expected
    union all
    select
        'to_utc_timestamp_offset' as case_name,
        cast({{ to_utc_timestamp("'2026-01-05T10:00:00+09:00'") }} as string) as computed,
        '2026-01-05 01:00:00' as expected
    union all
    select
        'sha256_hex' as case_name,
        {{ sha256_hex("'a'") }} as computed,
        'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb' as expected
),

ordered_rows as (
    select
        'b' as value_text,
        2 as order_value,
        1 as tie_value
    union all
    select
        cast(null as string) as value_text,
        1 as order_value,
        1 as tie_value
    union all
    select
        'a' as value_text,
        2 as order_value,
        0 as tie_value
    union all
    select
        'z' as value_text,
        cast(null as integer) as order_value,
        0 as tie_value
    union all
    select
        'c' as value_text,
        3 as order_value,
        0 as tie_value
),

picked as (
    select
        -- a null value is skipped; ties on order_value go to the lower tie_value
        {{ first_by('value_text', 'order_value', 'tie_value') }} as first_value,
        -- a null order sorts last, as in DuckDB
        {{ last_by('value_text', 'order_value', 'tie_value') }} as last_value,
        {{ first_by('value_text', 'order_value', 'tie_value', "value_text <> 'a'") }}
            as first_value_filtered
    from ordered_rows
),

picked_cases as (
    select
        'first_by' as case_name,
        first_value as computed,
        'a' as expected
    from picked
    union all
    select
        'last_by_null_order_last' as case_name,
        last_value as computed,
        'z' as expected
    from picked
    union all
    select
        'first_by_filtered' as case_name,
        first_value_filtered as computed,
        'b' as expected
    from picked
),

integers as (
    {{ integer_series(1, 5, 'integer_value') }}
),

days as (
    {{ date_series("date '2026-02-27'", "date '2026-03-02'", 'calendar_date') }}
),

months as (
    {{ month_series("date '2026-01-15'", "date '2026-03-01'", 'month_start') }}
),

series_cases as (
    select
        'integer_series' as case_name,
        cast(count(*) as string) || '|' || cast(sum(integer_value) as string) as computed,
        '5|15' as expected
    from integers
    union all
    select
        'date_series' as case_name,
        cast(count(*) as string) || '|' || cast(max(calendar_date) as string) as computed,
        '4|2026-03-02' as expected
    from days
    union all
    select
        'month_series' as case_name,
        cast(count(*) as string) || '|' || cast(min(cast(month_start as date)) as string)
        || '|' || cast(max(cast(month_start as date)) as string) as computed,
        '3|2026-01-01|2026-03-01' as expected
    from months
),

hashed as (
    select
        {{ row_hash(["'a'", '1']) }} as first_hash,
        {{ row_hash(["'a'", '1']) }} as same_hash,
        {{ row_hash(["'a'", '2']) }} as other_hash
),

hash_cases as (
    select
        'row_hash_stable_and_distinct' as case_name,
        cast(first_hash = same_hash and first_hash <> other_hash as string) as computed,
        'true' as expected
    from hashed
    union all
    select
        'hash_sum_no_overflow' as case_name,
        cast({{ hash_sum('big_value') }} > 0 as string) as computed,
        'true' as expected
    from (
        select cast(9223372036854775807 as bigint) as big_value
        union all
        select cast(9223372036854775807 as bigint) as big_value
    ) as big_values
),

failures as (
    select * from cases
    where computed is null or computed <> expected
    union all
    select * from picked_cases
    where computed is null or computed <> expected
    union all
    select * from series_cases
    where computed is null or computed <> expected
    union all
    select * from hash_cases
    where computed is null or computed <> expected
)

select * from failures
