{#- Cleaning rules shared by every staging model: one place for each rule. Each macro
    takes SQL expressions and returns a SQL expression; see _staging__macros.yml. -#}

{#- Trimmed text; empty becomes null. -#}
{% macro clean_text(column) -%}
    nullif(trim(cast({{ column }} as string)), '')
{%- endmacro %}

{#- The value as sent, as text (for quarantine tables). -#}
{% macro raw_text(column) -%}
    cast({{ column }} as string)
{%- endmacro %}

{#- True when a (non-null) id matches var id_regex and is not a placeholder a tracker
    writes for "no value" ('null', 'undefined', 'none', 'nan'). -#}
{% macro is_valid_id(column) -%}
    (
        {{ regex_full_match('cast(' ~ column ~ ' as string)', checked_var('id_regex')) }}
        and lower(cast({{ column }} as string)) not in ('null', 'undefined', 'none', 'nan')
    )
{%- endmacro %}

{#- A timestamp with an offset (read as that instant) or without one (read as UTC: the
    profile sets TimeZone=UTC) as a UTC timestamp; null when unreadable. Works on text,
    timestamp and timestamptz columns alike, without a detour through text. -#}
{% macro to_utc_timestamp(column) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'shopfunnel')(column)) }}
{%- endmacro %}

{% macro duckdb__to_utc_timestamp(column) -%}
    timezone('UTC', try_cast({{ column }} as timestamptz))
{%- endmacro %}

{#- Spark reads an offset in the text as that instant and a text without one in the session
    time zone (the profile sets UTC); a timestamp column stays as it is. -#}
{% macro spark__to_utc_timestamp(column) -%}
    try_cast({{ column }} as timestamp)
{%- endmacro %}

{#- true/false/t/f/1/0/y/n/yes/no (any case) as a boolean; null otherwise. -#}
{% macro to_boolean(column) -%}
    case
        when lower(trim(cast({{ column }} as string))) in ('true', 't', '1', 'y', 'yes') then true
        when lower(trim(cast({{ column }} as string))) in ('false', 'f', '0', 'n', 'no') then false
    end
{%- endmacro %}

{#- A money amount as decimal(18, 2); null when unreadable. -#}
{% macro to_amount(column) -%}
    try_cast(trim(cast({{ column }} as string)) as decimal(18, 2))
{%- endmacro %}

{#- A whole number; null when unreadable or not whole ('2.5' is not read as 3). -#}
{% macro to_integer(column) -%}
    case
        when {{ regex_full_match('trim(cast(' ~ column ~ ' as string))', '[+-]?[0-9]+') }}
            then try_cast(trim(cast({{ column }} as string)) as integer)
    end
{%- endmacro %}

{#- The value of one query-string parameter of a URL, url-decoded ('+' is a space); null
    when absent or empty. -#}
{% macro url_parameter(url_column, parameter) -%}
    nullif(
        {{ url_decoded(
            "replace(" ~ regex_extract(url_column, '[?&]' ~ parameter ~ '=([^&#]*)', 1) ~ ", '+', ' ')"
        ) }},
        ''
    )
{%- endmacro %}

{#- The host of a URL, lower case (a leading "www." is kept); null when absent. -#}
{% macro url_host(url_column) -%}
    nullif(lower({{ regex_extract(url_column, '^[a-zA-Z][a-zA-Z0-9+.-]*://([^/:?#]+)', 1) }}), '')
{%- endmacro %}

{#- The path of an absolute http(s) URL, lower case, '/' for the root; null when the URL is
    malformed. -#}
{% macro url_path(url_column) -%}
    case
        when {{ regex_full_match(url_column, '^https?://[^\\s/?#]+([/?#]\\S*)?$') }}
            then coalesce(nullif(lower({{ regex_extract(url_column, '^https?://[^/?#]+([^?#]*)', 1) }}), ''), '/')
    end
{%- endmacro %}

{#- True when a user agent matches var bot_user_agent_regex (case-insensitive); false
    when it does not or is null. -#}
{% macro is_bot_user_agent(user_agent_column) -%}
    coalesce({{ regex_search('lower(' ~ user_agent_column ~ ')', checked_var('bot_user_agent_regex')) }}, false)
{%- endmacro %}

{#- True for the shop's test orders (status 'test', any case). -#}
{% macro is_test_order(status_column) -%}
    coalesce(lower(trim(cast({{ status_column }} as string))) = 'test', false)
{%- endmacro %}

{#- The one rule for "this order counts as revenue": status paid and not a test order. -#}
{% macro is_paid_order(status_column) -%}
    (
        coalesce(lower(trim(cast({{ status_column }} as string))) = 'paid', false)
        and not {{ is_test_order(status_column) }}
    )
{%- endmacro %}

{#- The instant this build quarantined a row: the run's start, UTC. -#}
{% macro quarantined_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
{%- endmacro %}

{#- True when a timestamp cannot be real: before var min_plausible_date, or later than
    the start of this run plus var future_tolerance_hours (nothing is loaded from the
    future; allow_future=true skips that bound, e.g. for announced release dates). Such
    rows are quarantined, so an outlier never moves a window. -#}
{% macro is_implausible_timestamp(column, allow_future=false) -%}
    (
        {{ column }} < cast({{ var_date('min_plausible_date') }} as timestamp)
        {%- if not allow_future %}
        {%- set run_start = "cast('" ~ run_started_at.strftime("%Y-%m-%d %H:%M:%S") ~ "' as timestamp)" %}
        or {{ column }} > {{ add_hours(run_start, var_number('future_tolerance_hours')) }}
        {%- endif %}
    )
{%- endmacro %}

{#- True when a load date cannot be real (the same bounds as is_implausible_timestamp): a
    load partition folder named load_date=2099-06-01 or 1970-01-01. Its rows are quarantined
    as `implausible_load_date`, so it moves no window, no as-of date and no first load. -#}
{% macro is_implausible_load_date(column) -%}
    {{ is_implausible_timestamp('cast(' ~ column ~ ' as timestamp)') }}
{%- endmacro %}

{#- True when an event arrived later than var late_event_lookback_days after it happened
    (whole UTC days from the event's date to its load date), in any load but the table's
    first (which holds the history). -#}
{% macro is_too_late(event_at, load_date, first_load_date) -%}
    (
        {{ load_date }} > {{ first_load_date }}
        and {{ dbt.datediff('cast(' ~ event_at ~ ' as date)', load_date, 'day') }}
        > {{ var_integer('late_event_lookback_days') }}
    )
{%- endmacro %}
