-- One row per person: every human visitor (devices stitched to members) and every member,
-- including members with no tracked visit (store or app sign-ups).
with

milestones as (
    select * from {{ ref('int_persons_milestones') }}
),

orders as (
    select * from {{ ref('int_orders_attributed') }}
),

sessions as (
    select * from {{ ref('fct_sessions') }}
),

devices as (
    select * from {{ ref('int_anonymous_ids_stitched') }}
),

paid_totals as (
    select
        person_id,
        sum(order_total) as paid_order_total
    from orders
    where paid_order_sequence is not null
    group by person_id
),

session_counts as (
    select
        person_id,
        count(*) as session_count
    from sessions
    group by person_id
),

device_counts as (
    select
        person_id,
        count(*) as anonymous_id_count
    from devices
    group by person_id
),

final as (
    select
        cast(milestones.person_id as varchar) as person_id,
        cast(milestones.member_id as varchar) as member_id,
        cast(milestones.first_touch_channel as varchar) as first_touch_channel,
        cast(milestones.last_touch_channel as varchar) as last_touch_channel,
        cast(coalesce(session_counts.session_count, 0) as bigint) as session_count,
        cast(coalesce(device_counts.anonymous_id_count, 0) as bigint) as anonymous_id_count,
        cast(milestones.paid_order_count as bigint) as paid_order_count,
        cast(coalesce(paid_totals.paid_order_total, 0) as decimal(18, 2)) as paid_order_total,
        cast(milestones.signed_up_at is not null as boolean) as is_member,
        cast(milestones.first_member_benefits_view_at is not null as boolean)
            as has_viewed_member_benefits,
        cast(milestones.first_visit_at as timestamp) as first_visit_at,
        cast(milestones.last_visit_at as timestamp) as last_visit_at,
        cast(milestones.signed_up_at as timestamp) as signed_up_at,
        cast(milestones.first_paid_order_at as timestamp) as first_order_at,
        cast(milestones.last_paid_order_at as timestamp) as last_order_at
    from milestones
    left join paid_totals
        on milestones.person_id = paid_totals.person_id
    left join session_counts
        on milestones.person_id = session_counts.person_id
    left join device_counts
        on milestones.person_id = device_counts.person_id
)

select * from final
