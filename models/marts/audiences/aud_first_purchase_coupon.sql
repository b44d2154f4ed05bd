-- Action 2 (member -> buyer): a first-purchase coupon they can use now, for members with no
-- paid order by the as-of date who signed up within var coupon_signup_recency_days of it
-- and allow marketing (suppression list applied). E-mail and phone hashed, never in clear.
with

members as (
    select * from {{ ref('int_members_contactable') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

buyers_to_date as (
    select distinct orders.person_id
    from orders
    cross join as_of
    where
        orders.is_paid and orders.person_id is not null
        and cast(orders.ordered_at as date) <= as_of.as_of_date
),

eligible as (
    select
        members.*,
        as_of.as_of_date
    from members
    cross join as_of
    left join buyers_to_date
        on members.person_id = buyers_to_date.person_id
    where
        buyers_to_date.person_id is null
        and members.can_send_marketing
        and cast(members.signed_up_at as date) <= as_of.as_of_date
        and cast(members.signed_up_at as date)
        > as_of.as_of_date - to_days({{ var('coupon_signup_recency_days') }})
),

final as (
    select
        cast(person_id as varchar) as person_id,
        cast(member_id as varchar) as member_id,
        cast(email_sha256 as varchar) as email_sha256,
        cast(phone_sha256 as varchar) as phone_sha256,
        cast('aud_first_purchase_coupon' as varchar) as audience_name,
        cast('{{ var("first_purchase_coupon_code") }}' as varchar) as coupon_code,
        cast(date_diff('day', cast(signed_up_at as date), as_of_date) as integer)
            as days_since_signup,
        cast({{ is_in_holdout('person_id', 'aud_first_purchase_coupon', 'as_of_date') }} as boolean)
            as is_holdout,
        cast(as_of_date as date) as as_of_date,
        cast(signed_up_at as timestamp) as signed_up_at
    from eligible
)

select * from final
