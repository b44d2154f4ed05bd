-- Raw order rows that broke a rule, with the rule (earlier exports: `duplicate`).
with

checked as (
    select * from {{ ref('base_shop__orders') }}
),

quarantined as (
    select
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
