{#- The engine-specific parts of the run manifest and of the raw reader (docs block
    run_manifest, README "Running on Spark"): listing the raw files, the raw tables Spark reads them
    through, and the DDL of the ops tables. -#}

{#- Run several statements in order (DuckDB: one call, as one script; Spark: one call each,
    its SQL API takes one statement at a time). -#}
{% macro run_statements(statements) -%}
    {{ return(adapter.dispatch('run_statements', 'shopfunnel')(statements)) }}
{%- endmacro %}

{% macro default__run_statements(statements) -%}
    {%- do run_query(statements | join(';\n') ~ ';') -%}
{%- endmacro %}

{% macro spark__run_statements(statements) -%}
    {%- for statement in statements -%}
        {%- do run_query(statement) -%}
    {%- endfor -%}
{%- endmacro %}

{#- The statements that replace a table by the result of a query. -#}
{% macro replace_table_as(relation_name, query) -%}
    {{ return(adapter.dispatch('replace_table_as', 'shopfunnel')(relation_name, query)) }}
{%- endmacro %}

{% macro default__replace_table_as(relation_name, query) -%}
    {{ return(['create or replace table ' ~ relation_name ~ ' as ' ~ query]) }}
{%- endmacro %}

{#- Spark replaces only Delta (v2) tables: drop, then create as Parquet. -#}
{% macro spark__replace_table_as(relation_name, query) -%}
    {{ return([
        'drop table if exists ' ~ relation_name,
        'create table ' ~ relation_name ~ ' using parquet as ' ~ query,
    ]) }}
{%- endmacro %}

{#- The statement creating an ops table when it does not exist. columns: [(name, type)]. -#}
{% macro create_ops_table(relation_name, columns) -%}
    {%- set ddl -%}
        create table if not exists {{ relation_name }} (
        {%- for name, type in columns %}
            {{ name }} {{ type }}{{ ',' if not loop.last }}
        {%- endfor %}
        ){{ ' using parquet' if target.type == 'spark' }}
    {%- endset -%}
    {{ return(ddl) }}
{%- endmacro %}

{#- The type of a column holding a JSON text. -#}
{% macro json_type() -%}
    {{ return(adapter.dispatch('json_type', 'shopfunnel')()) }}
{%- endmacro %}

{% macro default__json_type() -%}
    {{ return('json') }}
{%- endmacro %}

{% macro spark__json_type() -%}
    {{ return('string') }}
{%- endmacro %}

{#- The statement removing every row of a table. -#}
{% macro delete_all_rows(relation_name) -%}
    {{ return(adapter.dispatch('delete_all_rows', 'shopfunnel')(relation_name)) }}
{%- endmacro %}

{% macro default__delete_all_rows(relation_name) -%}
    {{ return('delete from ' ~ relation_name) }}
{%- endmacro %}

{% macro spark__delete_all_rows(relation_name) -%}
    {{ return('truncate table ' ~ relation_name) }}
{%- endmacro %}

{#- The file extension of the raw files. -#}
{% macro raw_extension() -%}
    {{ return('csv' if checked_var('raw_format') == 'csv' else 'parquet') }}
{%- endmacro %}

{#- A query listing every file of a raw table, in one column `file`, named exactly as the
    reader's file column (raw_file_column) names it. -#}
{% macro raw_file_listing(table) -%}
    {{ return(adapter.dispatch('raw_file_listing', 'shopfunnel')(table)) }}
{%- endmacro %}

{% macro duckdb__raw_file_listing(table) -%}
    select
        filename as file,
        size as file_size,
        cast(last_modified at time zone 'UTC' as timestamp) as file_modified_at
    from read_blob('{{ raw_file_pattern(table) }}')
{%- endmacro %}

{#- Spark: the listing made at the run's start (prepare_raw_sources). -#}
{% macro spark__raw_file_listing(table) -%}
    select file, file_size, file_modified_at
    from shopfunnel_raw_files where table_name = '{{ table }}'
{%- endmacro %}

{#- The statements adding columns to an ops table a warehouse created before they existed
    (DuckDB: `add column if not exists`; Spark warehouses have them from their first run). -#}
{% macro add_ops_columns(relation_name, columns) -%}
    {{ return(adapter.dispatch('add_ops_columns', 'shopfunnel')(relation_name, columns)) }}
{%- endmacro %}

{% macro duckdb__add_ops_columns(relation_name, columns) -%}
    {%- set statements = [] -%}
    {%- for name, type in columns -%}
        {%- do statements.append(
            'alter table ' ~ relation_name ~ ' add column if not exists ' ~ name ~ ' ' ~ type
        ) -%}
    {%- endfor -%}
    {{ return(statements) }}
{%- endmacro %}

{% macro default__add_ops_columns(relation_name, columns) -%}
    {{ return([]) }}
{%- endmacro %}

{#- The column of the raw reader naming the file a row came from. -#}
{% macro raw_file_column() -%}
    {{ return(adapter.dispatch('raw_file_column', 'shopfunnel')()) }}
{%- endmacro %}

{% macro default__raw_file_column() -%}
    {{ return('filename') }}
{%- endmacro %}

{% macro spark__raw_file_column() -%}
    {{ return('_metadata.file_path') }}
{%- endmacro %}

{#- on-run-start, before the batch is frozen: make the raw files readable. DuckDB reads them
    straight through the source's external_location: nothing to do. -#}
{% macro prepare_raw_sources() -%}
    {{ return(adapter.dispatch('prepare_raw_sources', 'shopfunnel')()) }}
{%- endmacro %}

{% macro default__prepare_raw_sources() -%}
{%- endmacro %}

{#- Spark: list every raw file under var raw_path once (the binaryFile reader lists without
    reading; a file's table is its folder, or the folder above its load_date= folder), and
    create each raw table that has files as an external table over its folder, read
    recursively without partition discovery (the load_date folder is taken from the path,
    as on DuckDB), Parquet with merged schemas or CSV with a header and every column text.
    Recreated by every run, so new loads are seen. -#}
{% macro spark__prepare_raw_sources() -%}
    {%- set root = checked_var('raw_path') | replace("'", "\\'") -%}
    {%- set extension = raw_extension() -%}
    {%- set schema = raw_source_node('events').schema -%}
    {%- do run_query(
        "create or replace temporary view shopfunnel_raw_file_paths using binaryFile options ("
        ~ "path '" ~ root ~ "', recursiveFileLookup 'true', pathGlobFilter '*." ~ extension ~ "')"
    ) -%}
    {%- do run_query('uncache table if exists shopfunnel_raw_files') -%}
    {%- do run_query('drop view if exists shopfunnel_raw_files') -%}
    {%- do run_query(
        "cache table shopfunnel_raw_files as select path as file, length as file_size, "
        ~ "cast(modificationTime as timestamp) as file_modified_at, "
        ~ regex_extract('path', '/([^/]+)/(?:load_date=[^/]*/)?[^/]+$', 1)
        ~ " as table_name from shopfunnel_raw_file_paths"
    ) -%}
    {%- set present = run_query('select distinct table_name from shopfunnel_raw_files').columns[0].values() | list -%}
    {%- do run_query('create database if not exists ' ~ schema) -%}
    {%- for table in raw_tables() -%}
        {%- do run_query('drop table if exists ' ~ schema ~ '.' ~ table) -%}
        {%- if table in present -%}
            {%- set options = ["path '" ~ root ~ "/" ~ table ~ "'", "recursiveFileLookup 'true'", "pathGlobFilter '*." ~ extension ~ "'"] -%}
            {%- if extension == 'csv' -%}
                {%- do options.extend(["header 'true'", "inferSchema 'false'", "mode 'PERMISSIVE'"]) -%}
            {%- else -%}
                {%- do options.append("mergeSchema 'true'") -%}
            {%- endif -%}
            {%- do run_query(
                'create table ' ~ schema ~ '.' ~ table ~ ' using ' ~ extension
                ~ ' options (' ~ options | join(', ') ~ ')'
            ) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endmacro %}
