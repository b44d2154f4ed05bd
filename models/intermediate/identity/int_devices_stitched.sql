-- One row per device (anonymous_id) with human-looking hits, with the person it belongs to.
-- the rule is written once, in the docs block identity_rule.
-- A device with more than var bot_max_daily_events hits on one day is a bot by volume: it
-- belongs to no one and its hits are never sessionized (counted here: is_bot_device).
-- Incremental (docs block incremental_runs): a run recomputes exactly the devices it touched
-- (int_devices_touched_by_run), from all their events.
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

-- read on incremental runs only
touched_devices as (  -- noqa: ST03
    select * from {{ ref('int_devices_touched_by_run') }}
),

device_events as (
    select
        events.event_id,
        events.anonymous_id,
        events.member_id,
        events.event_date,
        events.event_at
    from events
    {%- if reads_touched_only() %}
    inner join touched_devices
        on events.anonymous_id = touched_devices.anonymous_id
    {%- endif %}
),

daily_events as (
    select
        anonymous_id,
        event_date,
        count(*) as events
    from device_events
    group by anonymous_id, event_date
),

daily_peaks as (
    select
        anonymous_id,
        max(events) as max_daily_events
    from daily_events
    group by anonymous_id
),

devices as (
    select
        anonymous_id,
        -- the first member seen; ties in time broken by event_id
        {{ first_by('member_id', 'event_at', 'event_id', 'member_id is not null') }} as member_id,
        count(distinct member_id) as member_count,
        count(*) as event_count,
        min(event_at) as first_seen_at,
        max(event_at) as last_seen_at
    from device_events
    group by anonymous_id
),

final as (
    select
        devices.anonymous_id,
        case
            when daily_peaks.max_daily_events <= {{ var_integer('bot_max_daily_events') }}
                then {{ person_id('devices.member_id', 'devices.anonymous_id') }}
        end as person_id,
        devices.member_id,
        devices.member_count,
        devices.event_count,
        daily_peaks.max_daily_events,
        devices.member_count > 1 as is_shared_device,
        daily_peaks.max_daily_events > {{ var_integer('bot_max_daily_events') }} as is_bot_device,
        devices.first_seen_at,
        devices.last_seen_at
    from devices
    inner join daily_peaks
        on devices.anonymous_id = daily_peaks.anonymous_id
)

select * from final
