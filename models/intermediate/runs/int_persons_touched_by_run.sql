-- The persons whose funnel this run may have changed (docs block incremental_runs):
--   * every person a touched device belonged to or may now belong to: the device's own
--     anonymous person and every member seen on it (so when a device logs in for the first
--     time, its old anonymous person is recomputed away and the member gains its history);
--   * every member whose profile, grade history or orders the run touched.
-- Empty when the run rebuilds everything (a full refresh or a first build).
with

touched_devices as (
    select * from {{ ref('int_devices_touched_by_run') }}
),

touched_members as (
    select * from {{ ref('int_members_touched_by_run') }}
),

events as (
    select * from {{ ref('stg_shop__events') }}
),

quarantined_events as (
    select * from {{ ref('stg_shop__events_quarantine') }}
),

device_members as (
    select events.member_id
    from events
    inner join touched_devices
        on events.anonymous_id = touched_devices.anonymous_id
    where events.member_id is not null
    union
    select quarantined_events.member_id
    from quarantined_events
    inner join touched_devices
        on quarantined_events.anonymous_id = touched_devices.anonymous_id
    where quarantined_events.member_id is not null
),

touched as (
    select {{ person_id('null', 'anonymous_id') }} as person_id
    from touched_devices
    union
    select {{ person_id('member_id', 'null') }} as person_id
    from device_members
    union
    select {{ person_id('member_id', 'null') }} as person_id
    from touched_members
),

final as (
    select person_id
    from touched
    {%- if run_is_rebuild() %}
    where false
    {%- endif %}
)

select * from final
