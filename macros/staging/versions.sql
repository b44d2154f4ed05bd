{#- The shape every incremental base model shares (docs block staging_quarantine): a batch
    of raw rows is typed and checked, joined with the stored rows of the keys it touches,
    and the versions of each key are ranked once. The expression macros below are that
    shape's parts; base_typed_and_hashed and base_ranked_versions write its CTEs around the
    rules each model states (the event model, whose batch streams once, uses the parts). -#}

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

{#- The CTEs `typed` and `hashed` of a base model over `batch` (its import of
    base_shop__<table>_batch): the contract's typed and as-sent columns, the load date (the
    file's partition, else the day the row was loaded) and the row's content hash. The model
    then writes its rules as CTE `ruled` (select *, case ... end as row_rule from hashed). -#}
{% macro base_typed_and_hashed(table) -%}
typed as (
    select
        {{ contract_typed_columns(table) }},
        {{ contract_sent_columns(table) }},
        source_file,
        load_date as file_load_date
    from batch
),

hashed as (
    select
        {{ (contract_staged_names(table) + contract_sent_names(table) + ['source_file'])
            | join(', ') }},
        coalesce(file_load_date, cast(loaded_at as date)) as load_date,
        {{ contract_row_hash(table) }} as row_hash
    from typed
)
{%- endmacro %}

{#- The CTEs from `ruled` to `final` of a base model: the checked rows of the batch, on an
    incremental run joined with the stored rows of the keys the batch touches, the versions
    of each key ranked once (version_rank; the earlier versions are `duplicate`), and the
    stored columns with quarantine_rule and quarantine_row_id.
    table: contract table; key_columns: list of the key's columns; order_by: which version
    of a key is kept first (before the tie-break on the whole row). -#}
{% macro base_ranked_versions(table, key_columns, order_by) -%}
{%- set stored_columns = contract_staged_names(table) + contract_raw_names(table)
    + ['source_file', 'load_date', 'row_hash', 'row_rule'] -%}
checked as (
    select
        {{ contract_staged_names(table) | join(', ') }},
        {{ contract_raw_columns(table) }},
        source_file,
        load_date,
        row_hash,
        row_rule
    from ruled
),

{% if is_incremental() -%}
batch_keys as (
    select distinct {{ key_columns | join(', ') }}
    from checked
),

stored as (
    select
        {%- for column in stored_columns %}
        stored_rows.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ this }} as stored_rows
    inner join batch_keys
        on
        {%- for column in key_columns %}
        {{ 'and ' if not loop.first }}stored_rows.{{ column }} = batch_keys.{{ column }}
        {%- endfor %}
),
{%- endif %}

candidates as (
    select * from checked
    {% if is_incremental() -%}
    union all
    select * from stored
    {%- endif %}
),

ranked as (
    select
        *,
        {{ version_rank(key_columns | join(', '), order_by) }} as version_rank
    from candidates
),

verdicts as (
    select
        {{ stored_columns | join(', ') }},
        coalesce(row_rule, case when version_rank > 1 then 'duplicate' end) as quarantine_rule
    from ranked
),

final as (
    select
        {%- for column in contract_staged_names(table) + contract_raw_names(table) %}
        {{ column }},
        {%- endfor %}
        row_rule,
        quarantine_rule,
        case
            when quarantine_rule is not null
                then {{ quarantine_row_id(contract_raw_names(table)) }}
        end as quarantine_row_id,
        row_hash,
        source_file,
        load_date
    from verdicts
)
{%- endmacro %}
