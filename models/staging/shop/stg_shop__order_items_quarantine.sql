-- Raw order lines that broke a rule, with the rule: the values as sent where they could not
-- be read or cleaning changed them, else as read (text). A view over base_shop__order_items.
with

order_items as (
    select * from {{ ref('base_shop__order_items') }}
),

final as (
    select
        quarantine_row_id,
        {{ sent_text('order_id') }} as order_id,
        {{ sent_text('line_number') }} as line_number,
        {{ sent_text('product_id') }} as product_id,
        {{ sent_text('quantity') }} as quantity,
        {{ sent_text('unit_price') }} as unit_price,
        {{ sent_text('loaded_at') }} as loaded_at,
        quarantine_rule,
        source_file,
        load_date
    from order_items
    where quarantine_rule is not null
)

select * from final
