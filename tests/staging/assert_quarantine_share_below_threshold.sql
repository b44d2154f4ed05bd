-- A build fails loudly when a rule quarantines a large share of a raw table: per table and
-- rule (`duplicate` aside: re-deliveries are expected), the rows the rule quarantined in this
-- run's batch as a share of the batch's rows, above var max_quarantine_share (0.5). The row
-- names the table and the rule (e.g. every event with an unreadable event_at: events,
-- invalid_event_at, 1.0), and the build's output says so, one line per table and rule.

{%- set shares_sql = quarantine_shares_above_threshold() %}
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
