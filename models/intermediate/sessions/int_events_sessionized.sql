-- Thin event -> session mapping for human hits, one row per event_id. A session is a run of
-- one device's hits with no gap over var session_timeout_minutes (a gap of exactly the
-- timeout continues the session) and no change of campaign (a hit carrying UTM tags
-- different from the last tags seen on the device starts a new session). One pass of
-- window functions per device: no self-join, so a heavy device (bot-like) stays linear.
with

events as (
    select * from {{ ref('stg_shop__events') }}
    where not is_bot
),

devices as (
    select * from {{ ref('int_anonymous_ids_stitched') }}
),

campaigns as (
    select
        event_id,
        anonymous_id,
        member_id,
        event_at,
        case
            when utm_source is not null or utm_medium is not null or utm_campaign is not null
                then concat_ws('|', utm_source, utm_medium, utm_campaign)
        end as campaign_key
    from events
),

ordered as (
    select
        *,
        lag(event_at) over (
            partition by anonymous_id order by event_at, event_id
        ) as previous_event_at,
        last_value(campaign_key ignore nulls) over (
            partition by anonymous_id order by event_at, event_id
            rows between unbounded preceding and 1 preceding
        ) as previous_campaign_key
    from campaigns
),

flagged as (
    select
        *,
        case
            when previous_event_at is null then 1
            when
                event_at > previous_event_at
                + interval '{{ var("session_timeout_minutes") }} minutes' then 1
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

final as (
    select
        numbered.event_id,
        numbered.anonymous_id || '#' || numbered.session_number as session_id,
        numbered.anonymous_id,
        {{ person_id('numbered.member_id', 'null') }} as explicit_person_id,
        devices.person_id as device_person_id,
        coalesce({{ person_id('numbered.member_id', 'null') }}, devices.person_id) as person_id,
        numbered.is_session_start = 1 as is_session_start,
        numbered.event_at
    from numbered
    inner join devices
        on numbered.anonymous_id = devices.anonymous_id
)

select * from final
