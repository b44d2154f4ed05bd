{#- Reading the raw files of one run (docs blocks raw_loads and run_manifest). -#}

{#- The source node of a raw table in the graph (its columns carry the contract meta). -#}
{% macro raw_source_node(table) -%}
    {%- if not execute -%}
        {#- at parse time the graph is not there yet; nothing is run then -#}
        {{ return({'columns': {}, 'relation_name': "''"}) }}
    {%- endif -%}
    {%- set node = graph.sources.get('source.' ~ project_name ~ '.shop.' ~ table) -%}
    {%- if node is none -%}
        {{ exceptions.raise_compiler_error("no source shop." ~ table ~ " in _shop__sources.yml") }}
    {%- endif -%}
    {{ return(node) }}
{%- endmacro %}

{#- The whole query of a batch model: the rows of this run's files of one raw table (every
    file with all_files=true), with
    exactly the contract's columns (by name, any case; extra columns are ignored; a missing
    optional column is null; a missing required column stops the run with its name), the
    file each row came from and the file's load date. A table without files is an empty
    relation of the same columns (a shop without that table). -#}
{% macro raw_batch(table, all_files=false) -%}
    {#- trackers: with var event_source snowplow or ga4, a table the tracker's export provides
        is read from its adapter model instead of source('shop', table); the adapter has the
        contract's columns and `filename` (macros/trackers/trackers.sql, README "Tracker
        exports") -#}
    {%- set reader = raw_reader(table) -%}
    {%- if not execute -%}
        select 1 as placeholder
        {{ return('') }}
    {%- endif -%}
    {%- set contract = contract_columns(table) -%}
    {%- if all_files -%}
        {%- set listed = run_query("select file from (" ~ raw_file_listing(table) ~ ") as listed order by file") -%}
        {%- set files = listed.columns[0].values() | list -%}
    {%- else -%}
        {%- set files = run_batch_files(table) -%}
    {%- endif -%}
    {%- set present = {} -%}
    {%- if files -%}
        {%- for row in run_query('describe select * from ' ~ reader) -%}
            {%- do present.update({row[0] | lower: row[0]}) -%}
        {%- endfor -%}
        {%- for column in contract -%}
            {%- if column.meta.get('required') and column.name | lower not in present -%}
                {{ exceptions.raise_compiler_error(
                    "raw table " ~ table ~ " has no column " ~ column.name
                    ~ " (see the raw-data contract in README; columns found: "
                    ~ (present.values() | list | join(', ')) ~ ")"
                ) }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif %}
    select
        {%- for column in contract %}
        {%- if files and column.name | lower in present %}
        {{ adapter.quote(present[column.name | lower]) }} as {{ column.name }},
        {%- elif files and column.meta.get('default') %}
        {{ column.meta.get('default')
            | replace('{load_day_end}', 'cast(' ~ add_days(file_load_date(raw_file_column()), 1) ~ ' as string)')
            | replace('{min_plausible_at}', 'cast(cast(' ~ var_date('min_plausible_date') ~ ' as timestamp) as string)') }} as {{ column.name }},
        {%- else %}
        cast(null as string) as {{ column.name }},
        {%- endif %}
        {%- endfor %}
        {%- if files %}
        {{ raw_file_column() }} as source_file,
        {{ file_load_date(raw_file_column()) }} as load_date
    from {{ reader }}
    where {{ raw_file_column() }} in (
        {%- for file in files %}
        '{{ file | replace("'", "''") }}'{{ ',' if not loop.last }}
        {%- endfor %}
    )
        {%- else %}
        cast(null as string) as source_file,
        cast(null as date) as load_date
    where false
        {%- endif %}
{%- endmacro %}
