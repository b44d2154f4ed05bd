-- Action 3 (repeat buyer -> loyal): text top customers first when a new product launches.
-- Loyal members (loyal by the as-of date) who allow SMS (suppression list applied), ranked
-- by new-release affinity: the share of their paid units bought as new releases, within
-- var vip_sms_category when set. Phone hashed, never in clear.
with

members as (
    select * from {{ ref('int_members_contactable') }}
),

stages as (
    select * from {{ ref('fct_funnel_stages') }}
),

order_items as (
    select * from {{ ref('fct_order_items') }}
),

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

purchases as (
    select
        order_items.person_id,
        sum(order_items.quantity) as units,
        coalesce(sum(order_items.quantity) filter (where order_items.is_new_release), 0)
            as new_release_units
    from order_items
    cross join as_of
    where order_items.is_paid
        and cast(order_items.ordered_at as date) <= as_of.as_of_date
        {% if var('vip_sms_category') -%}
        and order_items.category = '{{ var("vip_sms_category") }}'
        {%- endif %}
    group by order_items.person_id
),

eligible as (
    select
        members.person_id,
        members.member_id,
        members.membership_grade,
        members.phone_sha256,
        coalesce(purchases.units, 0) as units,
        coalesce(purchases.new_release_units, 0) as new_release_units,
        as_of.as_of_date
    from members
    inner join stages
        on members.person_id = stages.person_id
    cross join as_of
    left join purchases
        on members.person_id = purchases.person_id
    where stages.funnel_stage = 'loyal'
        and cast(stages.loyal_entered_at as date) <= as_of.as_of_date
        and members.can_send_sms
),

ranked as (
    select
        *,
        coalesce({{ safe_ratio('new_release_units', 'units') }}, 0) as new_release_affinity
    from eligible
),

final as (
    select
        cast(person_id as varchar) as person_id,
        cast(member_id as varchar) as member_id,
        cast(phone_sha256 as varchar) as phone_sha256,
        cast('aud_vip_new_release_sms' as varchar) as audience_name,
        cast(membership_grade as varchar) as membership_grade,
        cast(coalesce('{{ var("vip_sms_category") or "" }}', '') as varchar) as category_filter,
        cast(row_number() over (
            order by new_release_affinity desc, new_release_units desc, person_id
        ) as bigint) as affinity_rank,
        cast(units as bigint) as units,
        cast(new_release_units as bigint) as new_release_units,
        cast(new_release_affinity as double) as new_release_affinity,
        cast({{ is_in_holdout('person_id', 'aud_vip_new_release_sms', 'as_of_date') }} as boolean)
            as is_holdout,
        cast(as_of_date as date) as as_of_date
    from ranked
)

select * from final
