-- Raw order rows that broke a rule, with the rule (earlier exports: `duplicate`).
with

checked as (
    select * from {{ ref('base_shop__orders') }}
),

quarantined as (
    select
        quarantine_rule || ':' || row_number() over (
            partition by quarantine_rule
            order by order_id, member_id, order_status, order_total_raw, ordered_at_raw, loaded_at
        ) as quarantine_row_id,
        order_id,
        member_id,
        order_status,
        order_total_raw,
        ordered_at_raw,
        quarantine_rule,
        loaded_at
    from checked
    where quarantine_rule is not null
)

select * from quarantined
