-- Order lines: one row per order and line number.
with

order_items as (
    select * from {{ ref('base_shop__order_items') }}
    where quarantine_rule is null
),

final as (
    select
        order_id || '-' || line_number as order_item_id,
        order_id,
        line_number,
        product_id,
        quantity,
        unit_price,
        unit_price * quantity as line_total
    from order_items
)

select * from final
