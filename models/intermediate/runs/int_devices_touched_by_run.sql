-- The devices whose clean events this run may have changed (docs block incremental_runs): the
-- devices of every version, old or new, clean or quarantined, of each event_id the run's
-- batch of files brought. Empty when the run rebuilds everything (a full refresh or a
-- first build).
with

events as (
    select * from {{ ref('stg_shop__events') }}
),

quarantined_events as (
    select * from {{ ref('stg_shop__events_quarantine') }}
),

batch_files as (
    select * from {{ ref('stg_ops__batch_files') }}
    where table_name = 'events'
),

batch_event_ids as (
    select events.event_id
    from events
    inner join batch_files
        on events.source_file = batch_files.file_path
    union
    select quarantined_events.event_id
    from quarantined_events
    inner join batch_files
        on quarantined_events.source_file = batch_files.file_path
    where quarantined_events.event_id is not null
),

touched as (
    select events.anonymous_id
    from events
    inner join batch_event_ids
        on events.event_id = batch_event_ids.event_id
    union
    select quarantined_events.anonymous_id
    from quarantined_events
    inner join batch_event_ids
        on quarantined_events.event_id = batch_event_ids.event_id
    where quarantined_events.anonymous_id is not null
),

final as (
    select anonymous_id
    from touched
    {%- if run_is_rebuild() %}
    where false
    {%- endif %}
)

select * from final
