-- One row per session of a human visitor, with the person it belongs to: the one place where
-- sessions and their persons are decided (the rule is written once, in the
-- docs block session_rule). The person of a session is the last member who identified
-- themselves in it (a hit with member_id), else the device's person (int_devices_stitched).
-- Bot devices (by user agent or volume) have no sessions.
-- Incremental (docs block incremental_runs): a run recomputes every session of the devices it
-- touched, from all their events, so a late hit or a first login changes exactly those.
-- One pass of window functions per device, no self-join: a heavy device stays linear.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        spark_partition_key='anonymous_id',
        on_schema_change='fail',
        pre_hook="{{ delete_touched('anonymous_id', 'int_devices_touched_by_run') }}",
    )
}}

with

events as (
    select * from {{ ref('stg_shop__events') }}
    where not is_bot
),

devices as (
    select * from {{ ref('int_devices_stitched') }}
    where not is_bot_device
),

-- read on incremental runs only
touched_devices as (  -- noqa: ST03
    select * from {{ ref('int_devices_touched_by_run') }}
),

device_events as (
    select
        events.event_id,
        events.anonymous_id,
        events.member_id,
        events.event_name,
        events.page_path,
        events.page_type,
        events.channel_group,
        events.utm_source,
        events.utm_medium,
        events.utm_campaign,
        events.utm_term,
        case
            when
                events.utm_source is not null
                or events.utm_medium is not null
                or events.utm_campaign is not null
                then {{ composite_key(
                    ['events.utm_source', 'events.utm_medium', 'events.utm_campaign']
                ) }}
        end as campaign_key,
        events.event_at
    from events
    inner join devices
        on events.anonymous_id = devices.anonymous_id
    {%- if reads_touched_only() %}
    inner join touched_devices
        on events.anonymous_id = touched_devices.anonymous_id
    {%- endif %}
),

ordered as (
    select
        *,
        lag(event_at) over (
            partition by anonymous_id order by event_at, event_id
        ) as previous_event_at,
        {{ last_value_ignore_nulls('campaign_key') }} over (
            partition by anonymous_id order by event_at, event_id
            rows between unbounded preceding and 1 preceding
        ) as previous_campaign_key
    from device_events
),

flagged as (
    select
        *,
        case
            when previous_event_at is null then 1
            when
                event_at > previous_event_at
                + interval '{{ var_integer("session_timeout_minutes") }} minutes' then 1
            when
                campaign_key is not null
                and campaign_key <> coalesce(previous_campaign_key, '') then 1
            else 0
        end as is_session_start
    from ordered
),

numbered as (
    select
        *,
        sum(is_session_start) over (
            partition by anonymous_id order by event_at, event_id
            rows between unbounded preceding and current row
        ) as session_number
    from flagged
),

sessions as (
    select
        anonymous_id,
        session_number,
        {{ first_by('event_id', 'event_at', 'event_id') }} as first_event_id,
        {{ last_by('event_id', 'event_at', 'event_id') }} as last_event_id,
        {{ last_by('member_id', 'event_at', 'event_id', 'member_id is not null') }}
            as identified_member_id,
        {{ first_by('page_path', 'event_at', 'event_id') }} as landing_page_path,
        {{ first_by('page_type', 'event_at', 'event_id') }} as landing_page_type,
        {{ session_channel(first_by('channel_group', 'event_at', 'event_id')) }} as channel_group,
        {{ first_by('utm_source', 'event_at', 'event_id') }} as utm_source,
        {{ first_by('utm_medium', 'event_at', 'event_id') }} as utm_medium,
        {{ first_by('utm_campaign', 'event_at', 'event_id') }} as utm_campaign,
        {{ first_by('utm_term', 'event_at', 'event_id') }} as utm_term,
        count(*) as event_count,
        count(*) filter (where event_name in ('page_view', 'product_view')) as page_view_count,
        min(event_at) filter (where page_type = 'member_benefits') as first_member_benefits_view_at,
        min(event_at) filter (where event_name = 'sign_up') as first_sign_up_hit_at,
        min(event_at) filter (where event_name = 'purchase') as first_purchase_hit_at,
        min(event_at) as started_at,
        max(event_at) as ended_at
    from numbered
    group by anonymous_id, session_number
),

final as (
    select
        {{ composite_key(['sessions.anonymous_id', 'sessions.session_number']) }} as session_id,
        coalesce(
            {{ person_id('sessions.identified_member_id', 'null') }}, devices.person_id
        ) as person_id,
        coalesce(sessions.identified_member_id, devices.member_id) as member_id,
        sessions.anonymous_id,
        sessions.first_event_id,
        sessions.last_event_id,
        sessions.landing_page_path,
        sessions.landing_page_type,
        sessions.channel_group,
        sessions.utm_source,
        sessions.utm_medium,
        sessions.utm_campaign,
        sessions.utm_term,
        sessions.session_number,
        sessions.event_count,
        sessions.page_view_count,
        sessions.first_member_benefits_view_at is not null as has_viewed_member_benefits,
        sessions.first_sign_up_hit_at is not null as has_signed_up,
        sessions.first_purchase_hit_at is not null as has_purchased,
        cast(sessions.started_at as date) as session_date,
        sessions.first_member_benefits_view_at,
        sessions.first_sign_up_hit_at,
        sessions.started_at,
        sessions.ended_at
    from sessions
    inner join devices
        on sessions.anonymous_id = devices.anonymous_id
)

select * from final
