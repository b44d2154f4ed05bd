{#- The shape every incremental base model shares (docs block staging_quarantine): a batch
    of raw rows is typed and checked, joined with the stored rows of the keys it touches,
    and the versions of each key are ranked once. These expression macros are that shape's
    parts; each base model writes its own query with them. -#}

{#- The text of a raw value where cleaning changed it (trimmed, re-cased, emptied), else
    null: with the cleaned value it gives back the value as sent (see sent_text). -#}
{% macro text_if_cleaned(raw_column, cleaned) -%}
    case
        when {{ raw_column }} is not null and {{ cleaned }} is null
            then cast({{ raw_column }} as string)
        when cast({{ raw_column }} as string) <> {{ cleaned }}
            then cast({{ raw_column }} as string)
    end
{%- endmacro %}

{#- The text of a raw value that could not be read (its typed value is null), else null. -#}
{% macro text_if_unreadable(raw_column, typed) -%}
    case when {{ typed }} is null then cast({{ raw_column }} as string) end
{%- endmacro %}

{#- The value as sent, for the quarantine: the kept raw text where there is one, else the
    value as read, as text. -#}
{% macro sent_text(column) -%}
    coalesce({{ column }}_raw, cast({{ column }} as string))
{%- endmacro %}

{#- The rank of a row among the versions of its key: 1 for the kept version, 2, 3, ... for
    the others (rule `duplicate`), null for a row that broke a rule of its own. Ties are
    broken on the whole row (row_hash, then the file), so the same rows give the same
    ranking whatever the files are called or the order they are read in.
    key: SQL list of the key columns; newest_first: true to keep the latest version. -#}
{% macro version_rank(key, order_by) -%}
    case
        when row_rule is null then row_number() over (
            partition by row_rule is null, {{ key }}
            order by {{ order_by }}, row_hash, source_file
        )
    end
{%- endmacro %}

{#- The quarantine's id of a raw row: file, content hash and the row's number among rows
    identical in both (ordered by the raw text kept, so the numbering is stable). -#}
{% macro quarantine_row_id(raw_columns) -%}
    {{ composite_key(['source_file', 'row_hash', 'row_number() over (partition by source_file, row_hash order by ' ~ (raw_columns | join(' nulls first, ')) ~ ' nulls first)']) }}
{%- endmacro %}

{#- pre-hook of every incremental base model: forget the rows an earlier, failed run wrote
    from the files of this run's batch, so reading them again cannot count them twice. -#}
{% macro delete_batch_rows(table) -%}
    {{ return(adapter.dispatch('delete_batch_rows', 'shopfunnel')(table)) }}
{%- endmacro %}

{% macro default__delete_batch_rows(table) -%}
    {%- if is_incremental() -%}
        {%- set files = run_batch_files(table) -%}
        {%- if files -%}
            delete from {{ this }} where source_file in (
                {%- for file in files %}'{{ file | replace("'", "''") }}'{{ ',' if not loop.last }}{% endfor -%}
            )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Spark: the same rows go by rewriting the key-bucket partitions holding them
    (spark_delete_rows); the hook's own SQL is empty. -#}
{% macro spark__delete_batch_rows(table) -%}
    {%- if is_incremental() -%}
        {%- set files = run_batch_files(table) -%}
        {%- if files -%}
            {%- set listed = [] -%}
            {%- for file in files -%}
                {%- do listed.append("'" ~ (file | replace("'", "\\'")) ~ "'") -%}
            {%- endfor -%}
            {%- do spark_delete_rows(this, 'source_file in (' ~ listed | join(', ') ~ ')') -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- A CTE hint: compute this CTE inside each query that reads it (streaming), never store it
    whole. DuckDB stores a CTE read twice; for the wide rows of a base model that costs
    far more than reading the few columns a second reader needs again. Engines without the
    hint ignore it. -#}
{% macro inline_cte() -%}
    {{ return(adapter.dispatch('inline_cte', 'shopfunnel')()) }}
{%- endmacro %}

{% macro duckdb__inline_cte() -%}
    not materialized
{%- endmacro %}

{% macro default__inline_cte() -%}
{%- endmacro %}

{#- A CTE hint: compute this (small) CTE once and keep it for every reader. -#}
{% macro stored_cte() -%}
    {{ return(adapter.dispatch('stored_cte', 'shopfunnel')()) }}
{%- endmacro %}

{% macro duckdb__stored_cte() -%}
    materialized
{%- endmacro %}

{% macro default__stored_cte() -%}
{%- endmacro %}
