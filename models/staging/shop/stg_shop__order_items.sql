-- Order lines: one row per order and line number (latest clean load). Lines whose order
-- is missing or quarantined are kept here; the marts decide (fct_order_items).
with

order_items as (
    select * from {{ ref('base_shop__order_items') }}
),

final as (
    select
        {{ composite_key(['order_id', 'line_number']) }} as order_item_id,
        order_id,
        line_number,
        product_id,
        quantity,
        unit_price,
        cast(unit_price * quantity as decimal(18, 2)) as line_total,
        source_file,
        load_date,
        loaded_at
    from order_items
    where quarantine_rule is null
)

select * from final
