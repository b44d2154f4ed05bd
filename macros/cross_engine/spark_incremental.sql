{#- Incremental tables on Apache Spark without Delta (README "Running on
    Spark"). DuckDB deletes the rows of the keys a run touches and inserts their
    recomputed rows (delete+insert, or a delete pre-hook and append). Plain Parquet tables on
    Spark cannot DELETE (and MERGE needs Delta's jars), so on Spark every incremental table is
    partitioned by a bucket of its key (config spark_partition_key; column key_bucket, the
    last column; var spark_key_buckets buckets) and a delete is an insert_overwrite of the
    partitions that hold the touched keys, with the rows of the untouched keys written back
    (spark_delete_rows). The recomputed rows are then inserted, so a table holds exactly what
    DuckDB's delete+insert leaves: the same rows as a full refresh. Only these spark__ and
    Spark-only macros know about key_bucket; models never name it. -#}

{#- The partition of a key: a stable bucket of its text (0 .. var spark_key_buckets - 1). -#}
{% macro spark_key_bucket(key_expression) -%}
    pmod(xxhash64(cast({{ key_expression }} as string)), {{ var_integer('spark_key_buckets') }})
{%- endmacro %}

{#- Delete the rows of a key-bucket-partitioned Spark table matching a predicate: rewrite
    (insert_overwrite, dynamic partitions) every partition holding such a row with its other
    rows, and drop the partitions left empty. -#}
{% macro spark_delete_rows(relation, predicate) -%}
    {%- set matched = run_query(
        'select distinct key_bucket from ' ~ relation ~ ' where ' ~ predicate
    ).columns[0].values() | list -%}
    {%- if matched -%}
        {%- set keep = relation.incorporate(path={'identifier': relation.identifier ~ '__dbt_keep'}) -%}
        {%- set buckets = matched | join(', ') -%}
        {%- do run_query('drop table if exists ' ~ keep) -%}
        {%- do run_query(
            'create table ' ~ keep ~ ' using parquet as select * from ' ~ relation
            ~ ' where key_bucket in (' ~ buckets ~ ') and not coalesce(' ~ predicate ~ ', false)'
        ) -%}
        {%- do run_query('insert overwrite table ' ~ relation ~ ' partition (key_bucket) select * from ' ~ keep) -%}
        {%- set kept = run_query('select distinct key_bucket from ' ~ keep).columns[0].values() | list -%}
        {%- for bucket in matched if bucket not in kept -%}
            {%- do run_query('alter table ' ~ relation ~ ' drop if exists partition (key_bucket = ' ~ bucket ~ ')') -%}
        {%- endfor -%}
        {%- do run_query('drop table if exists ' ~ keep) -%}
    {%- endif -%}
{%- endmacro %}

{#- dbt-spark's create_table_as, plus the key_bucket partition column of the models with
    config spark_partition_key (the contract is checked on the model's own columns). -#}
{%- macro spark__create_table_as(temporary, relation, compiled_code, language='sql') -%}
  {%- set partition_key = config.get('spark_partition_key') if model.resource_type == 'model' else none -%}
  {%- if language != 'sql' or not partition_key -%}
    {{ dbt.spark__create_table_as(temporary, relation, compiled_code, language) }}
  {%- elif temporary -%}
    {#- the new rows of an incremental run: with their key_bucket, as the table has it -#}
    {%- set with_bucket -%}
    select
        model_rows.*,
        {{ spark_key_bucket('model_rows.' ~ partition_key) }} as key_bucket
    from (
        {{ compiled_code }}
    ) as model_rows
    {%- endset -%}
    {{ dbt.spark__create_table_as(temporary, relation, with_bucket, language) }}
  {%- else -%}
    create table {{ relation }}
    {%- set contract_config = config.get('contract') -%}
    {%- if contract_config.enforced -%}
      {{ get_assert_columns_equivalent(compiled_code) }}
      {%- set compiled_code = get_select_subquery(compiled_code) %}
    {% endif %}
    {{ file_format_clause() }}
    {{ options_clause() }}
    {{ tblproperties_clause() }}
    partitioned by (key_bucket)
    {{ location_clause() }}
    {{ comment_clause() }}
    as
    select
        model_rows.*,
        {{ spark_key_bucket('model_rows.' ~ partition_key) }} as key_bucket
    from (
        {{ compiled_code }}
    ) as model_rows
  {%- endif -%}
{%- endmacro -%}

{#- dbt-spark's append: the target's columns (key_bucket included) from the new rows. -#}
{% macro spark_insert_into_sql(source_relation, target_relation) %}
    {%- set dest_columns = adapter.get_columns_in_relation(target_relation) -%}
    insert into table {{ target_relation }}
    select {{ dest_columns | map(attribute='quoted') | join(', ') }}
    from {{ source_relation }}
{% endmacro %}

{#- dbt-spark accepts append, merge, insert_overwrite and microbatch; the base models' key
    replacement (delete+insert) is added for Parquet tables partitioned by key bucket. -#}
{% macro dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format) %}
  {%- if raw_strategy == 'delete+insert' -%}
    {%- if not config.get('spark_partition_key') -%}
      {% do exceptions.raise_compiler_error(
        "incremental_strategy delete+insert on Spark needs config spark_partition_key (" ~ this ~ ")"
      ) %}
    {%- endif -%}
    {% do return(raw_strategy) %}
  {%- endif -%}
  {% do return(dbt.dbt_spark_validate_get_incremental_strategy(raw_strategy, file_format)) %}
{% endmacro %}

{#- delete+insert on Spark: the new rows are written to a staging table first (they are
    computed from the target's stored rows), the stored rows of their keys deleted
    (spark_delete_rows), the new rows inserted; the statement left is the staging table's drop. -#}
{% macro dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) %}
  {%- if strategy == 'delete+insert' -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set staged = target.incorporate(path={'identifier': target.identifier ~ '__dbt_new'}) -%}
    {%- do run_query('drop table if exists ' ~ staged) -%}
    {%- do run_query('create table ' ~ staged ~ ' using parquet as select * from ' ~ source) -%}
    {%- do spark_delete_rows(
        target,
        '(' ~ (keys | join(', ')) ~ ') in (select ' ~ (keys | join(', ')) ~ ' from ' ~ staged ~ ')'
    ) -%}
    {%- do run_query(spark_insert_into_sql(staged, target)) -%}
    drop table if exists {{ staged }}
  {%- elif strategy == 'append' and config.get('spark_partition_key') -%}
    {{ spark_insert_into_sql(source, target) }}
  {%- else -%}
    {{ dbt.dbt_spark_get_incremental_sql(strategy, source, target, existing, unique_key, incremental_predicates) }}
  {%- endif -%}
{% endmacro %}

{#- Seeds on Spark: dbt-spark's session method splices the values into its INSERT without
    escaping quotes or backslashes (seed channel_rules holds both); here every value is a
    literal quoted for Spark, then cast to the column's type. -#}
{% macro spark__load_csv_rows(model, agate_table) %}
  {%- set column_override = model['config'].get('column_types', {}) -%}
  {%- set statements = [] -%}
  {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
    {%- set sql -%}
      insert into {{ this.render() }} values
      {%- for row in chunk %}
      ({%- for col_name in agate_table.column_names -%}
        {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
        {%- set value = row[loop.index0] -%}
        {%- if value is none -%}
          cast(null as {{ type }})
        {%- else -%}
          cast('{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}' as {{ type }})
        {%- endif -%}
        {{ ', ' if not loop.last }}
      {%- endfor -%}){{ ',' if not loop.last }}
      {%- endfor %}
    {%- endset -%}
    {%- do run_query(sql) -%}
    {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
  {%- endfor -%}
  {{ return(statements[0] if statements else '') }}
{% endmacro %}
