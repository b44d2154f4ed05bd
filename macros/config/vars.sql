{#- Vars are input too (docs block vars_are_input): every var the SQL reads goes through one
    of these typed accessors, which checks its value and returns it as a SQL literal of its
    type (quotes escaped), so no var is ever spliced into SQL as raw text. validate_vars()
    checks them all at the start of a run. -#}

{#- The type of every var the project reads: one place. -#}
{% macro var_types() -%}
    {{ return({
        'raw_path': 'text',
        'raw_format': 'choice:parquet,csv',
        'event_source': 'choice:shop,snowplow,ga4',
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
        'new_release_days': 'integer',
        'price_tier_count': 'integer',
        'customer_score_tiers': 'integer',
        'retargeting_recency_days': 'integer',
        'coupon_signup_recency_days': 'integer',
        'first_purchase_coupon_code': 'text',
        'vip_sms_category': 'text_or_null',
        'vip_sms_release_product_id': 'text_or_null',
        'holdout_share': 'share',
        'holdout_seed': 'integer',
        'lift_window_days': 'integer',
        'raw_contract': 'raw_contract',
        'funnel_max_steps': 'integer',
        'funnel_max_window_periods': 'integer',
        'funnel_max_event_names': 'integer',
    }) }}
{%- endmacro %}

{#- The message of a bad var: its name, its value and what was expected. -#}
{% macro bad_var_message(name, value, expected) -%}
    {{ return(
        "var " ~ name ~ " = " ~ (value | string | truncate(80)) ~ " is not " ~ expected
        ~ " (see dbt_project.yml for its meaning and default)"
    ) }}
{%- endmacro %}

{#- Stop the run with a message that names the var, the value and what was expected. -#}
{% macro raise_bad_var(name, value, expected) -%}
    {{ exceptions.raise_compiler_error(bad_var_message(name, value, expected)) }}
{%- endmacro %}

{#- The raw-data contract's shape (var raw_contract): table and column names are SQL
    identifiers, every column has a known type, flags are booleans. Its `default`s are SQL
    expressions by design (the project's own configuration, not run input). -#}
{% macro check_raw_contract(name, value) -%}
    {%- set identifier = '[a-z_][a-z0-9_]*' -%}
    {%- set keys = ['required', 'type', 'default', 'trim', 'case', 'staged_as'] -%}
    {%- if value is not mapping -%}
        {{ raise_bad_var(name, value, 'a mapping of raw tables') }}
    {%- endif -%}
    {%- for table, columns in value.items() -%}
        {%- if not modules.re.fullmatch(identifier, table | string) or columns is not mapping -%}
            {{ raise_bad_var(name, table, 'a raw table name with a mapping of its columns') }}
        {%- endif -%}
        {%- for column, meta in columns.items() -%}
            {%- set where = table ~ '.' ~ column -%}
            {%- if not modules.re.fullmatch(identifier, column | string) or meta is not mapping -%}
                {{ raise_bad_var(name, where, 'a column name (lower case, digits, _) with its contract') }}
            {%- endif -%}
            {%- for key in meta -%}
                {%- if key not in keys -%}
                    {{ raise_bad_var(name, where ~ '.' ~ key, 'one of ' ~ keys | join(', ')) }}
                {%- endif -%}
            {%- endfor -%}
            {%- if meta.get('type') not in ('id', 'text', 'timestamp', 'boolean', 'amount', 'integer') -%}
                {{ raise_bad_var(name, where ~ '.type', 'id, text, timestamp, boolean, amount or integer') }}
            {%- endif -%}
            {%- if meta.get('required', false) not in (true, false) or meta.get('trim', true) not in (true, false) -%}
                {{ raise_bad_var(name, where, 'a contract whose required and trim are true or false') }}
            {%- endif -%}
            {%- if meta.get('case') not in (none, 'lower', 'upper') -%}
                {{ raise_bad_var(name, where ~ '.case', 'lower or upper') }}
            {%- endif -%}
            {%- if meta.get('staged_as') is not none and not modules.re.fullmatch(identifier, meta.get('staged_as') | string) -%}
                {{ raise_bad_var(name, where ~ '.staged_as', 'a column name (lower case, digits, _)') }}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
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
        {#- a day that does not exist (2026-02-30) stops here, naming the var -#}
        {%- do try_or_compiler_error(
            bad_var_message(name, value, 'a date YYYY-MM-DD (a day that exists)'),
            modules.datetime.datetime.strptime, text, '%Y-%m-%d'
        ) -%}
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
        {#- a pattern Python cannot compile stops here, naming the var (DuckDB's RE2
            accepts a subset) -#}
        {%- do try_or_compiler_error(
            bad_var_message(name, value, 'a regular expression that compiles'),
            modules.re.compile, text
        ) -%}
        {#- what Python compiles but RE2 refuses (lookaround, backreferences) would fail
            later, inside a model, with the engine's message: stop here instead -#}
        {%- if modules.re.search('[(][?]<?[=!]|[\\\\][1-9]', text) -%}
            {{ raise_bad_var(name, value, 'a regular expression the engine accepts (RE2: no lookahead, lookbehind or backreference)') }}
        {%- endif -%}
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
    {%- elif kind == 'text_or_null' -%}
        {{ return(none if value is none or value == '' else value | string) }}
    {%- elif kind == 'raw_contract' -%}
        {%- do check_raw_contract(name, value) -%}
        {{ return(value) }}
    {%- elif kind.startswith('choice:') -%}
        {%- if value not in kind[7:].split(',') -%}
            {{ raise_bad_var(name, value, 'one of ' ~ kind[7:]) }}
        {%- endif -%}
        {{ return(value) }}
    {%- else -%}
        {{ return(value | string) }}
    {%- endif -%}
{%- endmacro %}

{#- A text as a quoted SQL literal (README "Running on Spark": Spark reads a backslash in a
    literal as an escape and '' as two adjacent literals, so its quotes are escaped with a
    backslash). -#}
{% macro sql_text(value) -%}
    {{ return(adapter.dispatch('sql_text', 'shopfunnel')(value)) }}
{%- endmacro %}

{% macro default__sql_text(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{% macro spark__sql_text(value) -%}
    '{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}'
{%- endmacro %}

{#- Typed SQL literals of vars. -#}
{% macro var_integer(name) -%}{{ checked_var(name) }}{%- endmacro %}
{% macro var_number(name) -%}{{ checked_var(name) }}{%- endmacro %}
{% macro var_text(name) -%}
    {%- set value = checked_var(name) -%}
    {%- if value is none -%}cast(null as string){%- else -%}{{ sql_text(value) }}{%- endif -%}
{%- endmacro %}
{% macro var_regex(name) -%}{{ regex_literal(checked_var(name)) }}{%- endmacro %}
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
