{#- Vars are input too (docs block vars_are_input): every var the SQL reads goes through one
    of these typed accessors, which checks its value and returns it as a SQL literal of its
    type (quotes escaped), so no var is ever spliced into SQL as raw text. validate_vars()
    checks them all at the start of a run. -#}

{#- The type of every var the project reads: one place. -#}
{% macro var_types() -%}
    {{ return({
        'raw_path': 'text',
        'raw_format': 'choice:parquet,csv',
        'late_arrival_hours': 'number',
        'future_tolerance_hours': 'number',
        'bot_user_agent_regex': 'regex',
        'id_regex': 'regex',
        'known_event_names': 'text_list',
        'min_plausible_date': 'date',
        'late_event_lookback_days': 'integer',
        'max_data_gap_days': 'integer',
        'bot_max_daily_events': 'integer',
        'max_quarantine_share': 'share',
        'session_timeout_minutes': 'integer',
        'signup_conversion_window_days': 'integer',
        'first_purchase_short_window_days': 'integer',
        'first_purchase_long_window_days': 'integer',
        'first_purchase_coupon_regex': 'regex',
        'loyal_window_days': 'integer',
        'loyal_min_paid_orders': 'integer',
        'loyal_min_spend': 'number',
        'loyal_min_grade_rank': 'integer',
        'analysis_start_date': 'date_or_null',
        'analysis_end_date': 'date_or_null',
        'new_visitor_lookback_days': 'integer',
        'audience_as_of_date': 'date_or_null',
        'metric_time_spine_start_date': 'date',
        'metric_time_spine_end_date': 'date',
        'spark_key_buckets': 'integer',
    }) }}
{%- endmacro %}

{#- Stop the run with a message that names the var, the value and what was expected. -#}
{% macro raise_bad_var(name, value, expected) -%}
    {{ exceptions.raise_compiler_error(
        "var " ~ name ~ " = " ~ (value | string | truncate(80)) ~ " is not " ~ expected
        ~ " (see dbt_project.yml for its meaning and default)"
    ) }}
{%- endmacro %}

{#- The value of a var checked against its type; returns the Python value. -#}
{% macro checked_var(name, kind=none) -%}
    {%- set kind = kind or var_types().get(name) -%}
    {%- if kind is none -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " has no type in macro var_types") }}
    {%- endif -%}
    {%- set value = var(name) -%}
    {%- if kind == 'date_or_null' and (value is none or value == '' or value == 'null') -%}
        {{ return(none) }}
    {%- elif kind in ('date', 'date_or_null') -%}
        {%- set text = value | string -%}
        {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', text) -%}
            {{ raise_bad_var(name, value, 'a date YYYY-MM-DD') }}
        {%- endif -%}
        {%- do modules.datetime.datetime.strptime(text, '%Y-%m-%d') -%}
        {{ return(text) }}
    {%- elif kind == 'integer' -%}
        {%- set text = value | string | trim -%}
        {%- if not modules.re.fullmatch('[0-9]+', text) -%}
            {{ raise_bad_var(name, value, 'a whole number >= 0') }}
        {%- endif -%}
        {{ return(text | int) }}
    {%- elif kind in ('number', 'share') -%}
        {%- set text = value | string | trim -%}
        {%- if not modules.re.fullmatch('[0-9]+(\.[0-9]+)?', text) -%}
            {{ raise_bad_var(name, value, 'a number >= 0') }}
        {%- endif -%}
        {%- if kind == 'share' and (text | float) > 1 -%}
            {{ raise_bad_var(name, value, 'a share between 0 and 1') }}
        {%- endif -%}
        {{ return(text | float if '.' in text else text | int) }}
    {%- elif kind == 'regex' -%}
        {%- set text = value | string -%}
        {#- a pattern Python cannot compile stops here (DuckDB's RE2 accepts a subset) -#}
        {%- do modules.re.compile(text) -%}
        {{ return(text) }}
    {%- elif kind == 'text_list' -%}
        {%- if value is string or value is not iterable -%}
            {{ raise_bad_var(name, value, 'a list of names') }}
        {%- endif -%}
        {%- for item in value -%}
            {%- if not modules.re.fullmatch('[A-Za-z0-9_.:-]+', item | string) -%}
                {{ raise_bad_var(name, item, 'a list of names (letters, digits, _ . : -)') }}
            {%- endif -%}
        {%- endfor -%}
        {{ return(value | list) }}
    {%- elif kind.startswith('choice:') -%}
        {%- if value not in kind[7:].split(',') -%}
            {{ raise_bad_var(name, value, 'one of ' ~ kind[7:]) }}
        {%- endif -%}
        {{ return(value) }}
    {%- else -%}
        {{ return(value | string) }}
    {%- endif -%}
{%- endmacro %}

{#- A text as a quoted SQL literal. -#}
{% macro sql_text(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{#- Typed SQL literals of vars. -#}
{% macro var_integer(name) -%}{{ checked_var(name) }}{%- endmacro %}
{% macro var_number(name) -%}{{ checked_var(name) }}{%- endmacro %}
{% macro var_text(name) -%}{{ sql_text(checked_var(name)) }}{%- endmacro %}
{% macro var_regex(name) -%}{{ sql_text(checked_var(name)) }}{%- endmacro %}
{% macro var_date(name) -%}
    {%- set value = checked_var(name) -%}
    {%- if value is none -%}cast(null as date){%- else -%}cast('{{ value }}' as date){%- endif -%}
{%- endmacro %}
{% macro var_text_list(name) -%}
    {%- for item in checked_var(name) -%}{{ sql_text(item) }}{{ ', ' if not loop.last }}{%- endfor -%}
{%- endmacro %}

{#- on-run-start: check every var before anything is built. -#}
{% macro validate_vars() -%}
    {%- if execute -%}
        {%- for name in var_types() -%}
            {%- do checked_var(name) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
