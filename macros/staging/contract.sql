{#- The raw-data contract (var raw_contract in dbt_project.yml) drives the reading and typing
    of every raw table: each column's entry says its type (id, text, timestamp, boolean,
    amount, integer), whether it is required, its default, whether it is trimmed, its case and
    the name it is staged as. One home: the batch reader, the base models, the reconciliation
    test and the validation gate all read it. -#}

{#- The contract's columns of a raw table, in order: a list of {name, meta}. -#}
{% macro contract_columns(table) -%}
    {%- set contract = checked_var('raw_contract') -%}
    {%- if table not in contract -%}
        {{ exceptions.raise_compiler_error("var raw_contract has no table " ~ table) }}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for name, meta in contract[table].items() -%}
        {%- do columns.append({'name': name, 'meta': meta}) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{#- The name a contract column is staged as. -#}
{% macro staged_name(column) -%}
    {{ return(column.meta.get('staged_as') or column.name) }}
{%- endmacro %}

{#- The typed value of a raw contract column (an unreadable value becomes null).
    prefix: what the raw column is called in the query, before its name (e.g. 'sent_'). -#}
{% macro typed_value(column, prefix='') -%}
    {%- set raw = prefix ~ column.name -%}
    {%- set kind = column.meta.get('type', 'text') -%}
    {%- if kind in ('id', 'text') -%}
        {%- set value = clean_text(raw) if column.meta.get('trim', true) else raw_text(raw) -%}
        {%- if column.meta.get('case') == 'lower' -%}lower({{ value }})
        {%- elif column.meta.get('case') == 'upper' -%}upper({{ value }})
        {%- else -%}{{ value }}{%- endif -%}
    {%- elif kind == 'timestamp' -%}{{ to_utc_timestamp(raw) }}
    {%- elif kind == 'boolean' -%}{{ to_boolean(raw) }}
    {%- elif kind == 'amount' -%}{{ to_amount(raw) }}
    {%- elif kind == 'integer' -%}{{ to_integer(raw) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error("contract column " ~ column.name ~ ": unknown type " ~ kind) }}
    {%- endif -%}
{%- endmacro %}

{#- The select list typing every contract column of a raw table: `<typed> as <staged name>`. -#}
{% macro contract_typed_columns(table, prefix='') -%}
    {%- for column in contract_columns(table) %}
        {{ typed_value(column, prefix) }} as {{ staged_name(column) }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The select list keeping each raw value under a prefix (the typed value takes its name). -#}
{% macro contract_sent_columns(table, prefix='sent_') -%}
    {%- for column in contract_columns(table) %}
        {{ column.name }} as {{ prefix ~ column.name }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- The select list of the raw text kept for the quarantine, `<staged name>_raw`: the value as
    sent, as text, where it differs from the value as read (cleaned, re-cased, converted to
    UTC, re-formatted, or unreadable); null otherwise, and for every row not matching
    `condition` when given (events keep it only for the rows that break a rule). The raw values
    are read under `prefix`, the typed values under their staged names. -#}
{% macro contract_raw_columns(table, prefix='sent_', condition=none) -%}
    {%- set items = [] -%}
    {%- for column in contract_columns(table) -%}
        {%- set kept = text_if_cleaned(
            prefix ~ column.name, 'cast(' ~ staged_name(column) ~ ' as string)'
        ) -%}
        {%- if condition -%}
            {%- set kept = 'case when ' ~ condition ~ ' then ' ~ kept ~ ' end' -%}
        {%- endif -%}
        {%- do items.append(kept ~ ' as ' ~ staged_name(column) ~ '_raw') -%}
    {%- endfor -%}
    {{ items | join(',\n        ') }}
{%- endmacro %}

{#- The names of the raw text columns kept for the quarantine. -#}
{% macro contract_raw_names(table) -%}
    {%- set names = [] -%}
    {%- for column in contract_columns(table) -%}
        {%- do names.append(staged_name(column) ~ '_raw') -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{#- The hash of a row's typed values, in contract order: the last tie-breaker between
    versions of a key, and the content fingerprint of the reconciliation test. -#}
{% macro contract_row_hash(table) -%}
    {{- row_hash(contract_staged_names(table)) -}}
{%- endmacro %}

{#- The staged names of a raw table's contract columns, in order. -#}
{% macro contract_staged_names(table) -%}
    {%- set names = [] -%}
    {%- for column in contract_columns(table) -%}
        {%- do names.append(staged_name(column)) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}

{#- The names the raw values are kept under while a row is typed (prefix + column name). -#}
{% macro contract_sent_names(table, prefix='sent_') -%}
    {%- set names = [] -%}
    {%- for column in contract_columns(table) -%}
        {%- do names.append(prefix ~ column.name) -%}
    {%- endfor -%}
    {{ return(names) }}
{%- endmacro %}
