{{ config(materialized='table') }}

-- One row per human event with its session and person (and the event's attributes the funnel
-- models match steps on): the events of int_sessions_attributed
-- found back by their place in the device's time order (from the session's first to its last
-- event, ties in time broken by event_id, as the sessions were cut): sessions are decided
-- once, in int_sessions_attributed. A table rebuilt by every run: as a view its range join
-- ran inside the funnel model's query, which ran out of an 8 GB memory limit at 100M events.
with

events as (
    select * from {{ ref('stg_shop__events') }}
    where not is_bot
),

sessions as (
    select * from {{ ref('int_sessions_attributed') }}
),

final as (
    select
        events.event_id,
        sessions.session_id,
        sessions.person_id,
        events.anonymous_id,
        events.event_id = sessions.first_event_id as is_session_start,
        events.event_name,
        events.page_type,
        events.channel_group,
        events.product_id,
        events.event_at
    from events
    inner join sessions
        on
            events.anonymous_id = sessions.anonymous_id
            and events.event_at between sessions.started_at and sessions.ended_at
            and (
                events.event_at > sessions.started_at
                or events.event_id >= sessions.first_event_id
            )
            and (events.event_at < sessions.ended_at or events.event_id <= sessions.last_event_id)
)

select * from final
