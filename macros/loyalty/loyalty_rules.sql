{#- Rules of the loyalty marts: one place for what a new release and a discount are. -#}

{#- True when the line was bought within var new_release_days of the product's release
    (released_at <= ordered_at < released_at + N days); false before the release, after the
    window, or when the release date is unknown. -#}
{% macro is_new_release(ordered_at, released_at) -%}
    coalesce(
        {{ ordered_at }} >= {{ released_at }}
        and {{ ordered_at }} < {{ released_at }} + to_days({{ var('new_release_days') }}),
        false
    )
{%- endmacro %}

{#- True when the line was bought discounted: a unit price below the list price, or an
    order that redeemed a coupon. An unknown list price is not a discount by itself. -#}
{% macro is_discounted(unit_price, list_price, coupon_code) -%}
    coalesce({{ unit_price }} < {{ list_price }}, false)
    or {{ coupon_code }} is not null
{%- endmacro %}

{#- The two CTEs both price reports share: `paid_lines` (paid lines up to the as-of date)
    and `segmented` (each line once per segment type: membership grade at the time of the
    order, UNKNOWN without one; and the customer's spend tier, dim_customers.monetary_score).
    Expects the calling model to import `order_items` (fct_order_items), `customers`
    (dim_customers) and `as_of` (int_as_of_date). -#}
{% macro price_segment_ctes() -%}
paid_lines as (
    select order_items.*
    from order_items
    cross join as_of
    where
        order_items.is_paid
        and cast(order_items.ordered_at as date) <= as_of.as_of_date
),

segmented as (
    select
        'membership_grade' as segment_type,
        coalesce(paid_lines.membership_grade_at_order, 'UNKNOWN') as segment,
        coalesce(paid_lines.grade_rank_at_order, 0) as segment_rank,
        paid_lines.quantity,
        paid_lines.unit_price,
        paid_lines.price_tier,
        paid_lines.is_vip_exclusive
    from paid_lines
    union all
    select
        'spend_tier' as segment_type,
        'spend_q' || customers.monetary_score as segment,
        customers.monetary_score as segment_rank,
        paid_lines.quantity,
        paid_lines.unit_price,
        paid_lines.price_tier,
        paid_lines.is_vip_exclusive
    from paid_lines
    inner join customers
        on paid_lines.person_id = customers.person_id
)
{%- endmacro %}
