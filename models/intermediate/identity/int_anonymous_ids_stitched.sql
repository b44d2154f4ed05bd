-- One row per device (anonymous_id) of a human visitor, with the person it belongs to.
-- Rule: a device belongs to the first member seen on it (login, sign-up or member_id on
-- any hit); its anonymous hits, before and after, count for that member. A device shared
-- by several members keeps its first member; hits that carry another member's id count
-- for that member (see int_events_sessionized). A device never tied to a member is a
-- person of its own.
with

events as (
    select * from {{ ref('stg_shop__events') }}
    where not is_bot
),

devices as (
    select
        anonymous_id,
        arg_min(member_id, event_at) filter (where member_id is not null) as member_id,
        count(distinct member_id) as member_count,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at
    from events
    group by anonymous_id
),

final as (
    select
        anonymous_id,
        {{ person_id('member_id', 'anonymous_id') }} as person_id,
        member_id,
        member_count,
        member_count > 1 as is_shared_device,
        first_seen_at,
        last_seen_at
    from devices
)

select * from final
