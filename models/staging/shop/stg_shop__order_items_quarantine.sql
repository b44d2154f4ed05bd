-- Raw order lines that broke a rule, with the rule.
with

checked as (
    select * from {{ ref('base_shop__order_items') }}
),

quarantined as (
    select
        quarantine_rule || ':' || row_number() over (
            partition by quarantine_rule
            order by order_id, line_number_raw, product_id, quantity_raw, unit_price_raw, loaded_at
        ) as quarantine_row_id,
        order_id,
        line_number_raw,
        product_id,
        quantity_raw,
        unit_price_raw,
        quarantine_rule,
        loaded_at
    from checked
    where quarantine_rule is not null
)

select * from quarantined
