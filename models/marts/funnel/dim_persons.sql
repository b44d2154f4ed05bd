-- One row per person: every human visitor (devices stitched to members) and every member,
-- including members with no tracked visit (store or app sign-ups).
-- Incremental (docs block incremental_runs): exactly the persons a run touched are recomputed.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        spark_partition_key='person_id',
        on_schema_change='fail',
        pre_hook="{{ delete_touched('person_id', 'int_persons_touched_by_run') }}",
    )
}}

with

milestones as (
    select * from {{ ref('int_milestones_pivoted_to_persons') }}
),

-- read on incremental runs only
touched_persons as (  -- noqa: ST03
    select * from {{ ref('int_persons_touched_by_run') }}
),

final as (
    select
        cast(milestones.person_id as string) as person_id,
        cast(milestones.member_id as string) as member_id,
        cast(milestones.first_touch_channel as string) as first_touch_channel,
        cast(milestones.last_touch_channel as string) as last_touch_channel,
        cast(milestones.session_count as bigint) as session_count,
        cast(milestones.anonymous_id_count as bigint) as anonymous_id_count,
        cast(milestones.paid_order_count as bigint) as paid_order_count,
        cast(milestones.paid_order_total as decimal(18, 2)) as paid_order_total,
        cast(milestones.signed_up_at is not null as boolean) as is_member,
        cast(milestones.first_member_benefits_view_at is not null as boolean)
            as has_viewed_member_benefits,
        cast(milestones.first_visit_at as timestamp) as first_visit_at,
        cast(milestones.last_visit_at as timestamp) as last_visit_at,
        cast(milestones.signed_up_at as timestamp) as signed_up_at,
        cast(milestones.first_order_at as timestamp) as first_order_at,
        cast(milestones.last_order_at as timestamp) as last_order_at
    from milestones
    {%- if reads_touched_only() %}
    inner join touched_persons
        on milestones.person_id = touched_persons.person_id
    {%- endif %}
)

select * from final
