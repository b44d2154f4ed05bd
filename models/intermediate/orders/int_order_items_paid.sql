-- The one home of "paid order lines up to the as-of date": every line of a paid order
-- (staging's is_paid, the one revenue rule; a line without its order is never paid), with
-- is_by_as_of_date true when the order was placed by the end of the as-of date (macro
-- is_by_as_of_date). Customer scores, the price segments and the audiences read the lines
-- with is_by_as_of_date; rpt_audience_lift reads the later ones (conversions after the
-- as-of date). Lines of unknown products stay (has_known_product false): they are paid
-- units, but have no price tier, so the price segments leave them out.
with

order_items as (
    select * from {{ ref('int_order_items_classified') }}
),

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

paid_lines as (
    select
        order_items.*,
        {{ is_by_as_of_date('order_items.ordered_at', 'as_of.as_of_date') }} as is_by_as_of_date
    from order_items
    cross join as_of
    where order_items.is_paid
),

final as (
    select
        order_item_id,
        order_id,
        person_id,
        member_id,
        product_id,
        category,
        price_tier,
        quantity,
        unit_price,
        line_total,
        has_known_product,
        is_new_release,
        is_discounted,
        is_vip_exclusive,
        is_by_as_of_date,
        ordered_at
    from paid_lines
)

select * from final
