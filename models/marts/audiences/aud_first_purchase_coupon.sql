-- Action 2 (member -> buyer): a first-purchase coupon they can use now, for members with no
-- paid order by the as-of date (not in dim_customers, the one home of "has bought") who
-- signed up within var coupon_signup_recency_days of it and allow marketing (suppression
-- list applied). Ids only: the export command looks the contact data up in staging.
with

members as (
    select * from {{ ref('int_members_contactable') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

eligible as (
    select
        members.*,
        as_of.as_of_date
    from members
    cross join as_of
    left join customers
        on members.person_id = customers.person_id
    where
        customers.person_id is null
        and members.can_send_marketing
        and {{ is_by_as_of_date('members.signed_up_at', 'as_of.as_of_date') }}
        and cast(members.signed_up_at as date)
        > {{ subtract_days('as_of.as_of_date', var_integer('coupon_signup_recency_days')) }}
),

final as (
    select
        cast(person_id as string) as person_id,
        cast(member_id as string) as member_id,
        cast('aud_first_purchase_coupon' as string) as audience_name,
        cast({{ var_text('first_purchase_coupon_code') }} as string)
            as coupon_code,
        -- dbt's own datediff renders longer than a line
        cast({{ dbt.datediff('cast(signed_up_at as date)', 'as_of_date', 'day') }} as integer)  -- noqa: LT05
            as days_since_signup,
        cast({{ is_in_holdout('person_id', 'aud_first_purchase_coupon', 'as_of_date') }} as boolean)
            as is_holdout,
        cast(as_of_date as date) as as_of_date,
        cast(signed_up_at as timestamp) as signed_up_at
    from eligible
)

select * from final
