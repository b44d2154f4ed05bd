-- Raw product rows that broke a rule, with the rule: the values as sent where they could not
-- be read or cleaning changed them, else as read (text). A view over base_shop__products.
with

products as (
    select * from {{ ref('base_shop__products') }}
),

final as (
    select
        quarantine_row_id,
        {{ sent_text('product_id') }} as product_id,
        {{ sent_text('product_name') }} as product_name,
        {{ sent_text('category') }} as category,
        {{ sent_text('list_price') }} as list_price,
        {{ sent_text('released_at') }} as released_at,
        {{ sent_text('is_vip_exclusive') }} as is_vip_exclusive,
        {{ sent_text('loaded_at') }} as loaded_at,
        quarantine_rule,
        source_file,
        load_date
    from products
    where quarantine_rule is not null
)

select * from final
