-- One row per session of a human visitor, built from the thin event -> session mapping.
with

sessionized as (
    select * from {{ ref('int_events_sessionized') }}
),

events as (
    select * from {{ ref('stg_shop__events') }}
),

session_events as (
    select
        sessionized.session_id,
        sessionized.anonymous_id,
        sessionized.person_id,
        sessionized.explicit_person_id,
        sessionized.event_at,
        events.event_name,
        events.page_path,
        events.page_type,
        events.channel_group,
        events.utm_source,
        events.utm_medium,
        events.utm_campaign,
        events.utm_term
    from sessionized
    inner join events
        on sessionized.event_id = events.event_id
),

sessions as (
    select
        session_id,
        any_value(anonymous_id) as anonymous_id,
        -- the member who identified themselves in the session, else the device's person
        coalesce(
            arg_max(explicit_person_id, event_at) filter (where explicit_person_id is not null),
            arg_min(person_id, event_at)
        ) as person_id,
        arg_min(page_path, event_at) as landing_page_path,
        arg_min(page_type, event_at) as landing_page_type,
        {{ session_channel('arg_min(channel_group, event_at)') }} as channel_group,
        arg_min(utm_source, event_at) as utm_source,
        arg_min(utm_medium, event_at) as utm_medium,
        arg_min(utm_campaign, event_at) as utm_campaign,
        arg_min(utm_term, event_at) as utm_term,
        count(*) as event_count,
        count(*) filter (where event_name in ('page_view', 'product_view')) as page_view_count,
        bool_or(page_type = 'member_benefits') as has_viewed_member_benefits,
        bool_or(event_name = 'sign_up') as has_signed_up,
        bool_or(event_name = 'purchase') as has_purchased,
        min(event_at) as session_started_at,
        max(event_at) as session_ended_at
    from session_events
    group by session_id
),

final as (
    select
        cast(session_id as varchar) as session_id,
        cast(person_id as varchar) as person_id,
        cast(anonymous_id as varchar) as anonymous_id,
        cast(landing_page_path as varchar) as landing_page_path,
        cast(landing_page_type as varchar) as landing_page_type,
        cast(channel_group as varchar) as channel_group,
        cast(utm_source as varchar) as utm_source,
        cast(utm_medium as varchar) as utm_medium,
        cast(utm_campaign as varchar) as utm_campaign,
        cast(utm_term as varchar) as utm_term,
        cast(event_count as bigint) as event_count,
        cast(page_view_count as bigint) as page_view_count,
        cast(date_diff('second', session_started_at, session_ended_at) as bigint) as duration_seconds,
        cast(has_viewed_member_benefits as boolean) as has_viewed_member_benefits,
        cast(has_signed_up as boolean) as has_signed_up,
        cast(has_purchased as boolean) as has_purchased,
        cast(session_started_at as date) as session_date,
        cast(session_started_at as timestamp) as session_started_at,
        cast(session_ended_at as timestamp) as session_ended_at
    from sessions
)

select * from final
