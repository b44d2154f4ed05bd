-- A build fails loudly when a rule quarantines a large share of a raw table: per table and
-- rule (`duplicate` aside: re-deliveries are expected), the rows the rule quarantined in this
-- run's batch as a share of the batch's rows, above var max_quarantine_share (0.5). The row
-- names the table and the rule (e.g. every event with an unreadable event_at: events,
-- invalid_event_at, 1.0), and the build's output says so, one line per table and rule.
{% set shares_sql %}
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
{% endset %}

{#- dbt prints only the number of failing rows: each one is printed here, at run time -#}
{%- if execute and flags.WHICH in ('build', 'test') %}
    {%- for row in run_query(shares_sql).rows %}
        {%- do log(
            "quarantine share above var max_quarantine_share: raw table " ~ row['raw_table']
            ~ ", rule " ~ row['quarantine_rule'] ~ ": " ~ row['rule_rows'] ~ " of the batch's "
            ~ row['batch_rows'] ~ " rows (" ~ ((row['quarantined_share'] * 100) | round(1))
            ~ "%); see the quarantine model stg_shop__" ~ row['raw_table'] ~ "_quarantine",
            info=true
        ) %}
    {%- endfor %}
{%- endif %}

{{ shares_sql }}
