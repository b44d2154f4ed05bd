-- Raw product rows that broke a rule, with the rule.
with

checked as (
    select * from {{ ref('base_shop__products') }}
),

quarantined as (
    select
        quarantine_rule || ':' || row_number() over (
            partition by quarantine_rule
            order by product_id, product_name, list_price_raw, released_at_raw, loaded_at
        ) as quarantine_row_id,
        product_id,
        product_name,
        list_price_raw,
        released_at_raw,
        quarantine_rule,
        loaded_at
    from checked
    where quarantine_rule is not null
)

select * from quarantined
