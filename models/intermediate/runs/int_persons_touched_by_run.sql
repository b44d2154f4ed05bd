-- The persons whose funnel this run may have changed (docs block incremental_runs):
--   * every person a touched device belonged to or may now belong to: the device's own
--     anonymous person and every member seen on it (so when a device logs in for the first
--     time, its old anonymous person is recomputed away and the member gains its history);
--   * the members of every version, old or new, of each member, grade-history row and
--     order the run's batch of files brought.
-- Empty when the run rebuilds everything (a full refresh or a first build).
with

touched_devices as (
    select * from {{ ref('int_devices_touched_by_run') }}
),

events as (
    select * from {{ ref('stg_shop__events') }}
),

quarantined_events as (
    select * from {{ ref('stg_shop__events_quarantine') }}
),

members as (
    select * from {{ ref('stg_shop__members') }}
),

quarantined_members as (
    select * from {{ ref('stg_shop__members_quarantine') }}
),

grade_history as (
    select * from {{ ref('stg_shop__member_grade_history') }}
),

quarantined_grade_history as (
    select * from {{ ref('stg_shop__member_grade_history_quarantine') }}
),

orders as (
    select * from {{ ref('stg_shop__orders') }}
),

quarantined_orders as (
    select * from {{ ref('stg_shop__orders_quarantine') }}
),

batch_files as (
    select * from {{ ref('stg_ops__batch_files') }}
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

batch_members as (
    select members.member_id
    from members
    inner join batch_files
        on members.source_file = batch_files.file_path
    union
    select quarantined_members.member_id
    from quarantined_members
    inner join batch_files
        on quarantined_members.source_file = batch_files.file_path
    union
    select grade_history.member_id
    from grade_history
    inner join batch_files
        on grade_history.source_file = batch_files.file_path
    union
    select quarantined_grade_history.member_id
    from quarantined_grade_history
    inner join batch_files
        on quarantined_grade_history.source_file = batch_files.file_path
),

batch_order_ids as (
    select orders.order_id
    from orders
    inner join batch_files
        on orders.source_file = batch_files.file_path
    union
    select quarantined_orders.order_id
    from quarantined_orders
    inner join batch_files
        on quarantined_orders.source_file = batch_files.file_path
),

order_members as (
    select orders.member_id
    from orders
    inner join batch_order_ids
        on orders.order_id = batch_order_ids.order_id
    union
    select quarantined_orders.member_id
    from quarantined_orders
    inner join batch_order_ids
        on quarantined_orders.order_id = batch_order_ids.order_id
),

touched_members as (
    select member_id from device_members
    union
    select member_id from batch_members
    union
    select member_id from order_members
),

touched as (
    select {{ person_id('null', 'anonymous_id') }} as person_id
    from touched_devices
    union
    select {{ person_id('member_id', 'null') }} as person_id
    from touched_members
    where member_id is not null
),

final as (
    select person_id
    from touched
    {%- if run_is_rebuild() %}
    where false
    {%- endif %}
)

select * from final
