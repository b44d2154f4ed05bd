{#- The run manifest: which raw files each run reads, kept in schema `ops` (docs block
    run_manifest). on-run-start freezes the run's batch of files (start_run); the batch models
    read exactly that list (run_batch_files); on-run-end records the files as processed when
    every model of the run succeeded (finish_run), so a failed run's files are read again by
    the next run. -#}

{#- The tables of the raw-data contract, in the order runs record them. -#}
{% macro raw_tables() -%}
    {{ return(['events', 'members', 'member_grade_history', 'orders', 'order_items', 'products']) }}
{%- endmacro %}

{#- The file pattern of a raw table. trackers: a table a tracker's export provides (var
    event_source snowplow or ga4) is listed by the export's files, which its adapter model
    reads (macros/trackers/trackers.sql); every other table by the shop's folder. -#}
{% macro raw_file_pattern(table) -%}
    {%- set tracker_pattern = tracker_file_pattern(table) -%}
    {%- if tracker_pattern -%}
        {{ return(tracker_pattern) }}
    {%- endif -%}
    {{ return(shop_file_pattern(table)) }}
{%- endmacro %}

{#- The file pattern of the shop's own folder of a raw table, taken from the source's one
    reader (its first quoted literal), so the run manifest and the source can never disagree. -#}
{% macro shop_file_pattern(table) -%}
    {{ return(adapter.dispatch('shop_file_pattern', 'shopfunnel')(table)) }}
{%- endmacro %}

{% macro default__shop_file_pattern(table) -%}
    {%- set reader = raw_source_node(table).relation_name -%}
    {%- set found = modules.re.search("'((?:[^']|'')*)'", reader) -%}
    {%- if not found -%}
        {{ exceptions.raise_compiler_error("raw_file_pattern: no file pattern in the reader of source shop." ~ table ~ ": " ~ reader) }}
    {%- endif -%}
    {{ return(found.group(1)) }}
{%- endmacro %}

{#- Spark reads the raw tables through tables over their folders (prepare_raw_sources): the
    pattern, for messages, is the one DuckDB's reader uses. -#}
{% macro spark__shop_file_pattern(table) -%}
    {{ return(checked_var('raw_path') ~ '/' ~ table ~ '/**/*.' ~ raw_extension()) }}
{%- endmacro %}

{#- The load date of a file from its path: the `load_date=YYYY-MM-DD` folder of a load
    partition, null for a file of the flat layout. -#}
{% macro file_load_date(path_column) -%}
    try_cast({{ regex_extract(path_column, 'load_date=([0-9]{4}-[0-9]{2}-[0-9]{2})', 1) }} as date)
{%- endmacro %}

{#- True when this dbt invocation builds models (run or build); hooks do nothing for
    compile, docs, test, show. -#}
{% macro run_builds_models() -%}
    {{ return(execute and flags.WHICH in ('run', 'build')) }}
{%- endmacro %}

{#- The relation of a base model, or none when it has not been built yet. -#}
{% macro built_base_relation(table) -%}
    {%- set node = graph.nodes.get('model.' ~ project_name ~ '.base_shop__' ~ table) -%}
    {{ return(adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias)) }}
{%- endmacro %}

{#- on-run-start: create the ops tables and freeze this run's batch: per raw table, every
    file on a full refresh or when the table's base model does not exist yet, otherwise the
    files no successful run has processed. -#}
{% macro start_run() -%}
    {%- if run_builds_models() -%}
        {%- do prepare_raw_sources() -%}
        {%- set statements = [
            'create schema if not exists ops',
            create_ops_table('ops.processed_raw_files', [
                ('table_name', 'string'),
                ('file_path', 'string'),
                ('load_date', 'date'),
                ('run_id', 'string'),
                ('processed_at', 'timestamp'),
                ('file_size', 'bigint'),
                ('file_modified_at', 'timestamp'),
            ]),
            create_ops_table('ops.pipeline_runs', [
                ('run_id', 'string'),
                ('started_at', 'timestamp'),
                ('finished_at', 'timestamp'),
                ('is_full_refresh', 'boolean'),
                ('status', 'string'),
                ('files_read', 'bigint'),
                ('first_load_date', 'date'),
                ('last_load_date', 'date'),
                ('rows_read', json_type()),
                ('rows_quarantined', json_type()),
                ('too_late_events', 'bigint'),
                ('first_event_at', 'timestamp'),
                ('last_event_at', 'timestamp'),
                ('message', 'string'),
            ]),
        ] + add_ops_columns('ops.processed_raw_files', [
            ('file_size', 'bigint'), ('file_modified_at', 'timestamp'),
        ]) -%}
        {#- every raw file with its size and modification time, as this run finds them -#}
        {%- set seen -%}
            {%- for table in raw_tables() %}
            select
                '{{ table }}' as table_name,
                file as file_path,
                file_size,
                file_modified_at
            from ({{ raw_file_listing(table) }}) as listed
            {{ 'union all' if not loop.last }}
            {%- endfor %}
        {%- endset -%}
        {%- set pending -%}
            {%- for table in raw_tables() %}
            {%- set rebuild = flags.FULL_REFRESH or built_base_relation(table) is none %}
            select
                table_name,
                file_path,
                {{ file_load_date('file_path') }} as load_date,
                file_size,
                file_modified_at,
                {{ rebuild }} as is_rebuild
            from ops.raw_files_seen
            where
                table_name = '{{ table }}'
                {%- if not rebuild %}
                and file_path not in (
                    select file_path from ops.processed_raw_files where table_name = '{{ table }}'
                )
                {%- endif %}
            {{ 'union all' if not loop.last }}
            {%- endfor %}
        {%- endset -%}
        {%- set current -%}
            select
                '{{ invocation_id }}' as run_id,
                cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as started_at,
                {{ flags.FULL_REFRESH | string | lower }} as is_full_refresh
        {%- endset -%}
        {%- set statements = statements + replace_table_as('ops.raw_files_seen', seen)
            + replace_table_as('ops.run_pending_files', pending)
            + replace_table_as('ops.current_run', current) -%}
        {%- do run_statements(statements) -%}
        {%- if flags.FULL_REFRESH -%}
            {%- do run_query(delete_all_rows('ops.processed_raw_files')) -%}
        {%- else -%}
            {%- do check_processed_files_unchanged() -%}
        {%- endif -%}
        {%- do warn_missing_tables() -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- An incremental run stops when a file an earlier run processed is gone from var raw_path
    or was rewritten in place (another size): the warehouse holds rows no raw file backs, or
    misses the new ones, and only a full refresh can say which. The raw files are the record:
    corrections come as new loads (README, The raw-data contract). A new modification time
    alone is no change (copying and syncing tools reset it); it is kept for the audit. -#}
{% macro check_processed_files_unchanged() -%}
    {%- set problems = run_query("""
        select table_name, file_path, processed_size, seen_size, problem_count
        from (
            select
                processed.table_name,
                processed.file_path,
                processed.file_size as processed_size,
                seen.file_size as seen_size,
                row_number() over (
                    partition by processed.table_name, processed.file_path
                    order by processed.processed_at desc
                ) as newest,
                count(*) over () as problem_count
            from ops.processed_raw_files as processed
            left join ops.raw_files_seen as seen
                on processed.table_name = seen.table_name and processed.file_path = seen.file_path
            where seen.file_path is null or processed.file_size <> seen.file_size
        ) as problems
        where newest = 1
        order by table_name, file_path
        limit 3
    """) -%}
    {%- if problems.rows | length > 0 -%}
        {%- set examples = [] -%}
        {%- for row in problems.rows -%}
            {%- if row['seen_size'] is none -%}
                {%- do examples.append("raw table " ~ row['table_name'] ~ ": " ~ row['file_path'] ~ " is gone") -%}
            {%- else -%}
                {%- do examples.append(
                    "raw table " ~ row['table_name'] ~ ": " ~ row['file_path']
                    ~ " changed since it was processed (size " ~ row['processed_size'] ~ " -> "
                    ~ row['seen_size'] ~ " bytes)"
                ) -%}
            {%- endif -%}
        {%- endfor -%}
        {{ exceptions.raise_compiler_error(
            problems.rows[0]['problem_count'] ~ " raw file(s) processed by earlier runs are gone from var raw_path ("
            ~ checked_var('raw_path') ~ ") or were rewritten in place, e.g. " ~ (examples | join('; '))
            ~ ". The warehouse no longer matches its raw files: rebuild it with `dbt build --full-refresh`"
            ~ " (or point DUCKDB_PATH at another warehouse); deliver corrections as new loads"
            ~ " (README, The raw-data contract)."
        ) }}
    {%- endif -%}
{%- endmacro %}

{#- A warning per raw table without any file: a shop without that table (an events-only site,
    an orders-only shop) builds, with the marts that need the table empty. -#}
{% macro warn_missing_tables() -%}
    {%- set missing = [] -%}
    {%- for table in raw_tables() -%}
        {%- set found = run_query("select count(*) from (" ~ raw_file_listing(table) ~ ") as listed") -%}
        {%- if found.columns[0].values()[0] == 0 -%}
            {%- do missing.append(table) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if 'events' in missing and 'orders' in missing -%}
        {{ exceptions.raise_compiler_error(
            "raw tables events and orders are both missing under var raw_path ("
            ~ checked_var('raw_path') ~ "): nothing to build (see the raw-data contract in README)"
        ) }}
    {%- endif -%}
    {%- for table in missing -%}
        {%- do exceptions.warn(
            "raw table " ~ table ~ " not provided (no file matches " ~ raw_file_pattern(table)
            ~ "): the marts that need it are empty"
        ) -%}
    {%- endfor -%}
{%- endmacro %}

{#- True when this warehouse holds the run manifest (a compile or lint outside a run may
    meet a warehouse without it: the batch is then empty). -#}
{% macro run_manifest_exists() -%}
    {{ return(adapter.get_relation(
        database=target.database, schema='ops', identifier='run_pending_files'
    ) is not none) }}
{%- endmacro %}

{#- The files of this run's batch for one raw table (a list of paths; empty at parse time). -#}
{% macro run_batch_files(table) -%}
    {%- if not execute or not run_manifest_exists() -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set rows = run_query(
        "select file_path from ops.run_pending_files where table_name = '" ~ table ~ "' order by file_path"
    ) -%}
    {{ return(rows.columns[0].values() | list) }}
{%- endmacro %}

{#- on-run-end: when every model of the whole project ran and succeeded, record the batch as
    processed; in every case write the run's row of ops.pipeline_runs (what it read, how
    much was quarantined, its time window, its status). -#}
{% macro finish_run(results) -%}
    {%- if run_builds_models() -%}
        {%- set failed = [] -%}
        {%- set ran = [] -%}
        {%- for result in results -%}
            {%- if result.node.resource_type == 'model' -%}
                {%- do ran.append(result.node.unique_id) -%}
                {%- if result.status not in ('success', 'pass') -%}
                    {%- do failed.append(result.node.name ~ ' (' ~ result.status ~ ')') -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set missing = [] -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model' and node.config.materialized == 'incremental'
                and node.config.enabled and node.unique_id not in ran -%}
                {%- do missing.append(node.name) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if failed -%}
            {%- set status = 'failed' -%}
            {%- set message = 'models failed: ' ~ (failed | join(', ')) -%}
        {%- elif missing -%}
            {%- set status = 'partial' -%}
            {%- set message = 'not every incremental model was selected, the batch stays pending: ' ~ (missing | join(', ')) -%}
        {%- else -%}
            {%- set status = 'success' -%}
            {%- set message = '' -%}
        {%- endif -%}
        {%- set statements = [] -%}
        {%- if status == 'success' -%}
            {%- set processed -%}
            insert into ops.processed_raw_files
            select
                table_name,
                file_path,
                load_date,
                '{{ invocation_id }}',
                cast(current_timestamp as timestamp),
                file_size,
                file_modified_at
            from ops.run_pending_files
            {%- endset -%}
            {%- do statements.append(processed) -%}
        {%- endif -%}
        {%- set recorded -%}
            insert into ops.pipeline_runs
            select
                '{{ invocation_id }}',
                cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp),
                cast(current_timestamp as timestamp),
                {{ flags.FULL_REFRESH | string | lower }},
                '{{ status }}',
                (select count(*) from ops.run_pending_files),
                (select min(load_date) from ops.run_pending_files),
                (select max(load_date) from ops.run_pending_files),
                {{ run_batch_counts(false) }},
                {{ run_batch_counts(true) }},
                {{ run_batch_events_summary('count(*) filter (where quarantine_rule = \'too_late\')') }},
                {{ run_batch_events_summary('min(event_at) filter (where quarantine_rule is null)') }},
                {{ run_batch_events_summary('max(event_at) filter (where quarantine_rule is null)') }},
                {{ sql_text(message) }}
        {%- endset -%}
        {%- do statements.append(recorded) -%}
        {%- do run_statements(statements) -%}
        {%- if status != 'success' -%}
            {{ log('shopfunnel: run ' ~ status ~ ': ' ~ message, info=true) }}
        {%- endif -%}
        {%- do warn_empty_tables() -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- A warning per raw table whose files hold no row (an export with a header and nothing
    else): the same words as the raw gate's, and the marts that need the table are empty.
    A table without any file is warned about at the run's start (warn_missing_tables). -#}
{% macro warn_empty_tables() -%}
    {%- set counts = [] -%}
    {%- for table in raw_tables() -%}
        {%- set relation = built_base_relation(table) -%}
        {%- if relation is not none -%}
            {%- do counts.append(
                "select '" ~ table ~ "' as table_name, (select count(*) from " ~ relation
                ~ ") as row_count, (select count(*) from ops.raw_files_seen where table_name = '"
                ~ table ~ "') as file_count"
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if counts -%}
        {%- for row in run_query(counts | join(' union all ')).rows -%}
            {%- if row['file_count'] > 0 and row['row_count'] == 0 -%}
                {%- do exceptions.warn(
                    "raw table " ~ row['table_name'] ~ " has no rows (its " ~ row['file_count']
                    ~ " file(s) hold none): the marts that need it are empty"
                ) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- A JSON object {table: rows} of the rows this run's batch brought into each base model
    (quarantined: only those with a quarantine rule). -#}
{% macro run_batch_counts(quarantined_only) -%}
    {%- set pairs = [] -%}
    {%- for table in raw_tables() -%}
        {%- set relation = built_base_relation(table) -%}
        {%- if relation is none -%}
            {%- do pairs.append((table, '0')) -%}
        {%- else -%}
            {%- set counted -%}
        (
            select count(*) from {{ relation }}
            where source_file in (
                select file_path from ops.run_pending_files where table_name = '{{ table }}'
            )
            {%- if quarantined_only %} and quarantine_rule is not null{% endif %}
        )
            {%- endset -%}
            {%- do pairs.append((table, counted)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ json_object_text(pairs) }}
{%- endmacro %}

{#- One aggregate over the events this run's batch brought in (null when events were not built). -#}
{% macro run_batch_events_summary(aggregate) -%}
    {%- set relation = built_base_relation('events') -%}
    {%- if relation is none -%}
        null
    {%- else -%}
        (
            select {{ aggregate }} from {{ relation }}
            where source_file in (
                select file_path from ops.run_pending_files where table_name = 'events'
            )
        )
    {%- endif -%}
{%- endmacro %}

{#- pre-hook of the models that recompute what a run touched (docs block incremental_runs):
    on an incremental run, delete the rows of every touched key; the model then inserts the
    recomputed rows (strategy append), so a key that no longer exists disappears too. -#}
{% macro delete_touched(key, touched_model) -%}
    {{ return(adapter.dispatch('delete_touched', 'shopfunnel')(key, touched_model)) }}
{%- endmacro %}

{% macro default__delete_touched(key, touched_model) -%}
    {%- if is_incremental() and run_is_rebuild() -%}
        delete from {{ this }}
    {%- elif is_incremental() -%}
        delete from {{ this }}
        where {{ key }} in (select touched.{{ key }} from {{ ref(touched_model) }} as touched)
    {%- endif -%}
{%- endmacro %}

{#- Spark (no DELETE on Parquet tables): the same rows go, by rewriting the key-bucket
    partitions that hold them (spark_delete_rows); the hook's own SQL is empty. -#}
{% macro spark__delete_touched(key, touched_model) -%}
    {%- if is_incremental() and run_is_rebuild() -%}
        {%- do run_query('truncate table ' ~ this) -%}
    {%- elif is_incremental() -%}
        {%- do spark_delete_rows(
            this, key ~ ' in (select touched.' ~ key ~ ' from ' ~ ref(touched_model) ~ ' as touched)'
        ) -%}
    {%- endif -%}
{%- endmacro %}

{#- True when a raw table is read whole in this run (a full refresh, or a base model that did
    not exist): the models downstream then rebuild everything rather than a touched set. -#}
{% macro run_is_rebuild() -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if flags.FULL_REFRESH or not run_manifest_exists() -%}
        {{ return(true) }}
    {%- endif -%}
    {%- set rows = run_query('select coalesce(bool_or(is_rebuild), false) from ops.run_pending_files') -%}
    {{ return(rows.columns[0].values()[0]) }}
{%- endmacro %}

{#- True when a model recomputes only what the run touched: it exists and the run is not a
    rebuild (docs block incremental_runs). -#}
{% macro reads_touched_only() -%}
    {{ return(is_incremental() and not run_is_rebuild()) }}
{%- endmacro %}
