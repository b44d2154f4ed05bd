{#- Engine-specific SQL, one macro per construct, one implementation per engine (README "Running on
    Spark"): models and the topic macros call these, so
    they read the same on DuckDB and on Apache Spark. duckdb__ keeps exactly the SQL the
    project ran before it ran on Spark; spark__ is checked against it by the known-value tests
    in tests/macros/assert_cross_engine_macros_known_values.sql, on both engines. -#}

{#- A regular expression as a SQL string literal. Spark unescapes backslashes in string
    literals ('\s' reads as 's'), DuckDB does not: the pattern is written once, as Python
    sees it, and quoted for the engine. -#}
{% macro regex_literal(pattern) -%}
    {{ return(adapter.dispatch('regex_literal', 'shopfunnel')(pattern)) }}
{%- endmacro %}

{% macro default__regex_literal(pattern) -%}
    '{{ pattern | string | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__regex_literal(pattern) -%}
    '{{ pattern | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{#- True when the whole text matches the pattern (null for null). -#}
{% macro regex_full_match(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_full_match', 'shopfunnel')(expression, pattern)) }}
{%- endmacro %}

{% macro duckdb__regex_full_match(expression, pattern) -%}
    regexp_full_match({{ expression }}, {{ regex_literal(pattern) }})
{%- endmacro %}

{#- Java's $ also matches before a final line break: \z is the very end, as in RE2's full
    match. -#}
{% macro spark__regex_full_match(expression, pattern) -%}
    regexp_like({{ expression }}, {{ regex_literal('^(?:' ~ pattern ~ ')\\z') }})
{%- endmacro %}

{#- True when the pattern matches somewhere in the text (null for null). -#}
{% macro regex_search(expression, pattern) -%}
    {{ return(adapter.dispatch('regex_search', 'shopfunnel')(expression, pattern)) }}
{%- endmacro %}

{% macro duckdb__regex_search(expression, pattern) -%}
    regexp_matches({{ expression }}, {{ regex_literal(pattern) }})
{%- endmacro %}

{% macro spark__regex_search(expression, pattern) -%}
    regexp_like({{ expression }}, {{ regex_literal(pattern) }})
{%- endmacro %}

{#- The text of one capture group of the first match ('' when there is no match; null for
    null). The group is always named: DuckDB's default is 0, Spark's 1. -#}
{% macro regex_extract(expression, pattern, group) -%}
    {{ return(adapter.dispatch('regex_extract', 'shopfunnel')(expression, pattern, group)) }}
{%- endmacro %}

{% macro duckdb__regex_extract(expression, pattern, group) -%}
    regexp_extract({{ expression }}, {{ regex_literal(pattern) }}, {{ group }})
{%- endmacro %}

{% macro spark__regex_extract(expression, pattern, group) -%}
    regexp_extract({{ expression }}, {{ regex_literal(pattern) }}, {{ group }})
{%- endmacro %}

{#- Every match replaced (DuckDB replaces the first unless told 'g'; Spark always every). The
    replacement is a plain text without group references. -#}
{% macro regex_replace_all(expression, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all', 'shopfunnel')(expression, pattern, replacement)) }}
{%- endmacro %}

{% macro duckdb__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, {{ regex_literal(pattern) }}, {{ sql_text(replacement) }}, 'g')
{%- endmacro %}

{% macro spark__regex_replace_all(expression, pattern, replacement) -%}
    regexp_replace({{ expression }}, {{ regex_literal(pattern) }}, {{ sql_text(replacement) }})
{%- endmacro %}

{#- A timestamp (or a date, read as its midnight) plus a whole number of hours:
    a timestamp. -#}
{% macro add_hours(timestamp_expression, hours) -%}
    {{ return(adapter.dispatch('add_hours', 'shopfunnel')(timestamp_expression, hours)) }}
{%- endmacro %}

{% macro duckdb__add_hours(timestamp_expression, hours) -%}
    {{ timestamp_expression }} + to_hours({{ hours }})
{%- endmacro %}

{% macro spark__add_hours(timestamp_expression, hours) -%}
    (cast({{ timestamp_expression }} as timestamp) + make_dt_interval(0, 0, 0, cast(({{ hours }}) * 3600 as decimal(18, 6))))
{%- endmacro %}

{#- A timestamp (or a date, read as its midnight) plus a whole number of days: a timestamp
    (DuckDB's date + interval is a timestamp; Spark's would be a date). -#}
{% macro add_days(timestamp_expression, days) -%}
    {{ return(adapter.dispatch('add_days', 'shopfunnel')(timestamp_expression, days)) }}
{%- endmacro %}

{% macro duckdb__add_days(timestamp_expression, days) -%}
    {{ timestamp_expression }} + to_days({{ days }})
{%- endmacro %}

{% macro spark__add_days(timestamp_expression, days) -%}
    (cast({{ timestamp_expression }} as timestamp) + make_dt_interval({{ days }}))
{%- endmacro %}

{#- A timestamp (or a date) minus a whole number of days: a timestamp. -#}
{% macro subtract_days(timestamp_expression, days) -%}
    {{ return(adapter.dispatch('subtract_days', 'shopfunnel')(timestamp_expression, days)) }}
{%- endmacro %}

{% macro duckdb__subtract_days(timestamp_expression, days) -%}
    {{ timestamp_expression }} - to_days({{ days }})
{%- endmacro %}

{% macro spark__subtract_days(timestamp_expression, days) -%}
    (cast({{ timestamp_expression }} as timestamp) - make_dt_interval({{ days }}))
{%- endmacro %}

{#- A 64-bit hash of several values: the engine's own fast hash. The values differ between
    engines (DuckDB's hash, Spark's xxhash64); only equality and order within one build use
    it (a tie-breaker, a content fingerprint), never a mart column. -#}
{% macro row_hash(expressions) -%}
    {{ return(adapter.dispatch('row_hash', 'shopfunnel')(expressions)) }}
{%- endmacro %}

{% macro duckdb__row_hash(expressions) -%}
    hash({{ expressions | join(', ') }})
{%- endmacro %}

{% macro spark__row_hash(expressions) -%}
    xxhash64({{ expressions | join(', ') }})
{%- endmacro %}

{#- A sum of row hashes that cannot overflow (DuckDB's hash is unsigned 64-bit, its sum a
    128-bit integer; Spark's is signed, summed as a 38-digit decimal). -#}
{% macro hash_sum(expression) -%}
    {{ return(adapter.dispatch('hash_sum', 'shopfunnel')(expression)) }}
{%- endmacro %}

{% macro duckdb__hash_sum(expression) -%}
    sum({{ expression }})
{%- endmacro %}

{% macro spark__hash_sum(expression) -%}
    sum(cast({{ expression }} as decimal(38, 0)))
{%- endmacro %}

{#- A hexadecimal text (up to 15 digits) as a bigint. -#}
{% macro hex_to_bigint(expression) -%}
    {{ return(adapter.dispatch('hex_to_bigint', 'shopfunnel')(expression)) }}
{%- endmacro %}

{% macro duckdb__hex_to_bigint(expression) -%}
    cast(('0x' || {{ expression }}) as bigint)
{%- endmacro %}

{% macro spark__hex_to_bigint(expression) -%}
    cast(conv({{ expression }}, 16, 10) as bigint)
{%- endmacro %}

{#- A url-encoded text decoded ('%20' is a space; '+' is left as it is by DuckDB, so callers
    replace it first); a malformed escape leaves the text as it is. -#}
{% macro url_decoded(expression) -%}
    {{ return(adapter.dispatch('url_decoded', 'shopfunnel')(expression)) }}
{%- endmacro %}

{% macro duckdb__url_decoded(expression) -%}
    url_decode({{ expression }})
{%- endmacro %}

{% macro spark__url_decoded(expression) -%}
    coalesce(try_url_decode({{ expression }}), {{ expression }})
{%- endmacro %}

{#- The JSON array text of a list of values, each as text: '["a",null]'. -#}
{% macro json_text_array(expressions) -%}
    {{ return(adapter.dispatch('json_text_array', 'shopfunnel')(expressions)) }}
{%- endmacro %}

{% macro duckdb__json_text_array(expressions) -%}
    to_json([{{ expressions | join(', ') }}]::varchar[])
{%- endmacro %}

{% macro spark__json_text_array(expressions) -%}
    to_json(array(
    {%- for expression in expressions -%}
        cast({{ expression }} as string){{ ', ' if not loop.last }}
    {%- endfor -%}
    ))
{%- endmacro %}

{#- A JSON object text from pairs [(key, SQL expression), ...]: '{"a":1}'. -#}
{% macro json_object_text(pairs) -%}
    {{ return(adapter.dispatch('json_object_text', 'shopfunnel')(pairs)) }}
{%- endmacro %}

{% macro duckdb__json_object_text(pairs) -%}
    json_object(
    {%- for key, value in pairs -%}
        '{{ key }}', {{ value }}{{ ', ' if not loop.last }}
    {%- endfor -%}
    )
{%- endmacro %}

{% macro spark__json_object_text(pairs) -%}
    to_json(named_struct(
    {%- for key, value in pairs -%}
        '{{ key }}', {{ value }}{{ ', ' if not loop.last }}
    {%- endfor -%}
    ))
{%- endmacro %}

{#- A whole query: one row per whole number from start to stop (both included), in a column
    of the given name. start/stop: SQL integer expressions (from may be a cross join). -#}
{% macro integer_series(start, stop, column_name, from_relation=none) -%}
    {{ return(adapter.dispatch('integer_series', 'shopfunnel')(start, stop, column_name, from_relation)) }}
{%- endmacro %}

{% macro duckdb__integer_series(start, stop, column_name, from_relation) -%}
    select series.range as {{ column_name }}
    from {% if from_relation %}{{ from_relation }}, {% endif %}range({{ start }}, ({{ stop }}) + 1) as series
{%- endmacro %}

{% macro spark__integer_series(start, stop, column_name, from_relation) -%}
    select explode(sequence({{ start }}, {{ stop }})) as {{ column_name }}
    {% if from_relation %}from {{ from_relation }}{% endif %}
{%- endmacro %}

{#- A whole query: one row per day from start_date to end_date (both included), as a date
    column of the given name. -#}
{% macro date_series(start_date, end_date, column_name, from_relation=none) -%}
    {{ return(adapter.dispatch('date_series', 'shopfunnel')(start_date, end_date, column_name, from_relation)) }}
{%- endmacro %}

{% macro duckdb__date_series(start_date, end_date, column_name, from_relation) -%}
    select cast(series.range as date) as {{ column_name }}
    from {% if from_relation %}{{ from_relation }}, {% endif %}range({{ start_date }}, ({{ end_date }}) + interval 1 day, interval 1 day) as series
{%- endmacro %}

{% macro spark__date_series(start_date, end_date, column_name, from_relation) -%}
    select explode(sequence(cast({{ start_date }} as date), cast({{ end_date }} as date))) as {{ column_name }}
    {% if from_relation %}from {{ from_relation }}{% endif %}
{%- endmacro %}

{#- A whole query: the first day of every month from the month of start_date to end_date, as
    a column of the given name (a timestamp in DuckDB, a date in Spark: cast it). -#}
{% macro month_series(start_date, end_date, column_name, from_relation=none) -%}
    {{ return(adapter.dispatch('month_series', 'shopfunnel')(start_date, end_date, column_name, from_relation)) }}
{%- endmacro %}

{% macro duckdb__month_series(start_date, end_date, column_name, from_relation) -%}
    select series.range as {{ column_name }}
    from {% if from_relation %}{{ from_relation }}, {% endif %}range(date_trunc('month', {{ start_date }}), ({{ end_date }}) + interval 1 day, interval 1 month) as series
{%- endmacro %}

{% macro spark__month_series(start_date, end_date, column_name, from_relation) -%}
    select explode(sequence(trunc(cast({{ start_date }} as date), 'MM'), cast({{ end_date }} as date), interval 1 month)) as {{ column_name }}
    {% if from_relation %}from {{ from_relation }}{% endif %}
{%- endmacro %}

{#- True when a pattern held in a column (a seed's rule) matches somewhere in the text; the
    pattern is data, not a literal of the SQL, so it needs no quoting. -#}
{% macro regex_search_column(expression, pattern_expression) -%}
    {{ return(adapter.dispatch('regex_search_column', 'shopfunnel')(expression, pattern_expression)) }}
{%- endmacro %}

{% macro duckdb__regex_search_column(expression, pattern_expression) -%}
    regexp_matches({{ expression }}, {{ pattern_expression }})
{%- endmacro %}

{% macro spark__regex_search_column(expression, pattern_expression) -%}
    regexp_like({{ expression }}, {{ pattern_expression }})
{%- endmacro %}

{#- The window function "last non-null value so far": write `over (...)` after it. -#}
{% macro last_value_ignore_nulls(expression) -%}
    {{ return(adapter.dispatch('last_value_ignore_nulls', 'shopfunnel')(expression)) }}
{%- endmacro %}

{% macro duckdb__last_value_ignore_nulls(expression) -%}
    last_value({{ expression }} ignore nulls)
{%- endmacro %}

{% macro spark__last_value_ignore_nulls(expression) -%}
    last_value({{ expression }}, true)
{%- endmacro %}

{#- An expression that stops the query with a message when it is evaluated (use it in a
    coalesce or a case branch). message: a Python string. -#}
{% macro raise_error(message) -%}
    {{ return(adapter.dispatch('raise_error', 'shopfunnel')(message)) }}
{%- endmacro %}

{% macro duckdb__raise_error(message) -%}
    error({{ sql_text(message) }})
{%- endmacro %}

{% macro spark__raise_error(message) -%}
    raise_error({{ sql_text(message) }})
{%- endmacro %}
