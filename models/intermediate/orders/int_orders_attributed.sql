-- Orders with the person who placed them. A member's order belongs to the member's person;
-- a guest checkout (no member_id) or an order of a member missing from the members export
-- belongs to no person (person_id null) and never moves anyone along the funnel.
-- paid_order_sequence numbers a person's paid orders in time (1 = first purchase).
with

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

members as (
    select * from {{ ref('stg_shop__members') }}
),

attributed as (
    select
        orders.order_id,
        case when members.member_id is not null then {{ person_id('orders.member_id', 'null') }} end
            as person_id,
        orders.member_id,
        orders.order_status,
        orders.currency,
        orders.coupon_code,
        orders.order_total,
        orders.discount_total,
        orders.is_paid,
        orders.is_test_order,
        members.member_id is not null as has_known_member,
        coalesce(
            {{ regex_search(
                'orders.coupon_code', checked_var('first_purchase_coupon_regex')
            ) }}, false
        ) as is_first_purchase_coupon,
        orders.ordered_at
    from orders
    left join members
        on orders.member_id = members.member_id
),

final as (
    select
        *,
        case
            when is_paid and person_id is not null then row_number() over (
                partition by person_id, is_paid and person_id is not null
                order by ordered_at, order_id
            )
        end as paid_order_sequence
    from attributed
)

select * from final
