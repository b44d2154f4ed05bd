{#- Tracker exports as the shop's raw tables (docs block tracker_exports). With var
    event_source `snowplow` or `ga4`, the raw tables a tracker's export can give are read
    from its adapter model (models/staging/<tracker>/base_<tracker>__<table>) instead of the
    shop's folder:

    * `events`: always from the export (<raw_path>/events/);
    * `orders`, `order_items`, `products`: from the shop's own folder when it has files (the
      shop's order system knows cancellations, refunds, test and off-line orders a tracker
      never sees), else from the tracker's ecommerce data;
    * `members`, `member_grade_history`: always the shop's (a tracker has no member table).

    The adapter has the contract's columns and `filename` (the export file of each row's
    event), so the batch views (macro raw_batch) and the run manifest (macro
    raw_file_pattern) work on it as on the shop's files. -#}

{#- The var event_source, checked. The adapters list and describe the export's files with
    DuckDB's glob and readers: on another engine only `shop` is accepted (README "Running on
    Spark"). -#}
{% macro event_source() -%}
    {%- set chosen = checked_var('event_source') -%}
    {%- if chosen != 'shop' and target.type != 'duckdb' -%}
        {{ exceptions.raise_compiler_error(
            "var event_source = " ~ chosen ~ ": the tracker adapters run on DuckDB only; on "
            ~ target.type ~ " build the shop's own raw tables (event_source: shop), see README "
            ~ "\"Running on Spark\""
        ) }}
    {%- endif -%}
    {{ return(chosen) }}
{%- endmacro %}

{#- The raw tables the selected tracker's export can provide (none for `shop`). -#}
{% macro tracker_tables() -%}
    {%- if event_source() == 'shop' -%}
        {{ return([]) }}
    {%- endif -%}
    {{ return(['events', 'orders', 'order_items', 'products']) }}
{%- endmacro %}

{#- The adapter model of a raw table for the selected tracker, or none. -#}
{% macro tracker_model(table) -%}
    {%- if table not in tracker_tables() -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return('base_' ~ event_source() ~ '__' ~ table) }}
{%- endmacro %}

{#- The file pattern of the tracker's export: every file under <raw_path>/events/ (flat or
    in load partitions). GA4's export is Parquet only: its nested event_params and items
    have no CSV form. -#}
{% macro tracker_export_pattern() -%}
    {%- set extension = checked_var('raw_format') -%}
    {%- if event_source() == 'ga4' and extension != 'parquet' -%}
        {{ exceptions.raise_compiler_error(
            "event_source ga4 reads the GA4 export as Parquet (its nested event_params and "
            ~ "items have no CSV form): set var raw_format to parquet"
        ) }}
    {%- endif -%}
    {{ return((checked_var('raw_path') ~ '/events/**/*.' ~ extension) | replace("'", "''")) }}
{%- endmacro %}

{#- True when the shop's own folder of a raw table has files (run time only). -#}
{% macro shop_table_has_files(table) -%}
    {%- set found = run_query("select count(*) from glob('" ~ shop_file_pattern(table) ~ "')") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}

{#- True when the selected tracker's export provides a raw table in this run: `events`
    always, the ecommerce tables when the shop has no folder of its own for them. At parse
    time (nothing is read then) every table the tracker can provide. -#}
{% macro tracker_provides(table) -%}
    {%- if table not in tracker_tables() -%}
        {{ return(false) }}
    {%- endif -%}
    {%- if table == 'events' or not execute -%}
        {{ return(true) }}
    {%- endif -%}
    {{ return(not shop_table_has_files(table)) }}
{%- endmacro %}

{#- The relation the batch view of a raw table reads (macro raw_batch): the tracker's adapter
    model when the tracker provides the table, else source('shop', table). At parse time
    both are named, so the graph holds whichever the run picks. -#}
{% macro raw_reader(table) -%}
    {%- set model = tracker_model(table) -%}
    {%- if model is none -%}
        {{ return(source('shop', table)) }}
    {%- endif -%}
    {%- set tracker = ref(model) -%}
    {%- if table == 'events' -%}
        {{ return(tracker) }}
    {%- endif -%}
    {%- set shop = source('shop', table) -%}
    {{ return(tracker if tracker_provides(table) else shop) }}
{%- endmacro %}

{#- The file pattern the run manifest lists for a raw table the tracker provides (the
    export's files: every row of the adapter names the export file of its event), else
    none (macro raw_file_pattern then takes the shop's folder). -#}
{% macro tracker_file_pattern(table) -%}
    {%- if not tracker_provides(table) -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(tracker_export_pattern()) }}
{%- endmacro %}

{#- The columns of a relation as {lower-case name: name as found}; empty when the relation
    reads no file (run time only: empty at parse time). -#}
{% macro relation_columns(relation) -%}
    {%- set found = {} -%}
    {%- if execute -%}
        {%- for row in run_query('describe select * from ' ~ relation) -%}
            {%- do found.update({row[0] | lower: row[0]}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}

{#- True when a file pattern matches at least one file (run time only). -#}
{% macro files_exist(pattern) -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set found = run_query("select count(*) from glob('" ~ pattern ~ "')") -%}
    {{ return(found.columns[0].values()[0] > 0) }}
{%- endmacro %}
