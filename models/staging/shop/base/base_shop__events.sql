-- Every raw event row, typed, with `quarantine_rule`: the first rule it breaks, null when
-- it is clean. Row rules come first; among the clean rows of one event_id the earliest
-- load is kept and the later ones are `duplicate`. A view, read by stg_shop__events and
-- stg_shop__events_quarantine only.
--
-- Shaped for 100M events on 2 cores: re-delivered ids are few, so only their rows are
-- ranked by a window; a window over every event would hold and sort the whole table.
-- The raw rows are split in two streams on the id before any typing (a count of the id's
-- hash, which reads one column; a collision only adds a candidate, the window still
-- partitions by the id itself). The typing and the row rules, applied to both streams,
-- are written once: macros events_typed_columns and events_row_rule
-- (macros/staging/events.sql). Raw values keep their source type (`*_raw`); the
-- quarantine turns them into text for its few rows.
{%- set event_id_key = clean_text('event_id') %}

with

source as not materialized (
    select * from {{ source('shop', 'events') }}
),

repeated_event_ids as (
    select hash({{ event_id_key }}) as event_id_hash
    from source
    where {{ event_id_key }} is not null
    group by hash({{ event_id_key }})
    having count(*) > 1
),

single_rows as (
    select
        {{ events_typed_columns() }}
    from source
    where
        {{ event_id_key }} is null
        or hash({{ event_id_key }}) not in (select event_id_hash from repeated_event_ids)
),

repeated_rows as (
    select
        {{ events_typed_columns() }}
    from source
    where hash({{ event_id_key }}) in (select event_id_hash from repeated_event_ids)
),

single_loads as (
    select
        *,
        {{ events_row_rule() }} as row_rule
    from single_rows
),

repeated_loads as (
    select
        *,
        {{ events_row_rule() }} as row_rule
    from repeated_rows
),

single_ranked as (
    select
        *,
        case when row_rule is null then 1 end as load_rank
    from single_loads
),

-- clean rows first, so a broken copy never displaces a clean one
repeated_ranked as (
    select
        *,
        case
            when row_rule is null then row_number() over (
                partition by event_id
                order by
                    row_rule is null desc, loaded_at asc, event_at asc, anonymous_id asc,
                    member_id asc nulls first, event_name asc, page_url asc nulls first
            )
        end as load_rank
    from repeated_loads
),

ranked as (
    select * from single_ranked
    union all
    select * from repeated_ranked
),

checked as (
    select
        * exclude (row_rule),
        coalesce(row_rule, case when load_rank > 1 then 'duplicate' end) as quarantine_rule
    from ranked
)

select * from checked
