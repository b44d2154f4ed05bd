{#- The rows of test assert_quarantine_share_below_threshold: per raw table and rule
    (`duplicate` aside), the rows the rule quarantined in this run's batch as a share of the
    batch's rows, where the share is above var max_quarantine_share. A macro, so the test
    can both print each row and return them. -#}
{% macro quarantine_shares_above_threshold() -%}
with

batch_files as (
    select * from {{ ref('stg_ops__batch_files') }}
),

{%- for table in raw_tables() %}

{{ table }}_rules as (
    select
        '{{ table }}' as raw_table,
        base_rows.quarantine_rule,
        count(*) as rule_rows,
        sum(count(*)) over () as batch_rows
    from {{ ref('base_shop__' ~ table) }} as base_rows
    inner join batch_files
        on
            batch_files.table_name = '{{ table }}'
            and base_rows.source_file = batch_files.file_path
    group by base_rows.quarantine_rule
),
{%- endfor %}

rule_shares as (
    {%- for table in raw_tables() %}
    select * from {{ table }}_rules
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

too_large as (
    select
        raw_table,
        quarantine_rule,
        rule_rows,
        batch_rows,
        rule_rows * 1.0 / batch_rows as quarantined_share
    from rule_shares
    where
        quarantine_rule is not null
        and quarantine_rule <> 'duplicate'
        and rule_rows * 1.0 / batch_rows > {{ var_number('max_quarantine_share') }}
)

select * from too_large
{%- endmacro %}
