-- Raw order lines that broke a rule, as sent (text), with the rule.
with

order_items as (
    select * from {{ ref('base_shop__order_items') }}
),

rejected as (
    select
        {{ raw_text('order_id_raw') }} as order_id,
        {{ raw_text('line_number_raw') }} as line_number,
        {{ raw_text('product_id_raw') }} as product_id,
        {{ raw_text('quantity_raw') }} as quantity,
        {{ raw_text('unit_price_raw') }} as unit_price,
        {{ raw_text('loaded_at_raw') }} as loaded_at,
        quarantine_rule
    from order_items
    where quarantine_rule is not null
),

identified as (
    select
        {{ raw_row_id([
            'order_id', 'line_number', 'product_id', 'quantity', 'unit_price', 'loaded_at',
        ]) }} as quarantine_row_id,
        *,
        {{ quarantined_at() }} as quarantined_at
    from rejected
)

select * from identified
