-- One row per session of a human visitor: landing page, channel of the first hit, hits,
-- benefit-page view, sign-up, purchase, and the person it belongs to. The sessions and their
-- persons are decided in int_sessions_attributed; this mart publishes them.
-- Incremental (docs block incremental_runs): the sessions of the devices a run touched.
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

sessions as (
    select * from {{ ref('int_sessions_attributed') }}
),

-- read on incremental runs only
touched_devices as (  -- noqa: ST03
    select * from {{ ref('int_devices_touched_by_run') }}
),

final as (
    select
        cast(sessions.session_id as string) as session_id,
        cast(sessions.person_id as string) as person_id,
        cast(sessions.anonymous_id as string) as anonymous_id,
        cast(sessions.landing_page_path as string) as landing_page_path,
        cast(sessions.landing_page_type as string) as landing_page_type,
        cast(sessions.channel_group as string) as channel_group,
        cast(sessions.utm_source as string) as utm_source,
        cast(sessions.utm_medium as string) as utm_medium,
        cast(sessions.utm_campaign as string) as utm_campaign,
        cast(sessions.utm_term as string) as utm_term,
        cast(sessions.event_count as bigint) as event_count,
        cast(sessions.page_view_count as bigint) as page_view_count,
        cast(
            -- dbt's own datediff renders longer than a line
            {{ dbt.datediff('sessions.started_at', 'sessions.ended_at', 'second') }} as bigint  -- noqa: LT05
        ) as duration_seconds,
        cast(sessions.has_viewed_member_benefits as boolean) as has_viewed_member_benefits,
        cast(sessions.has_signed_up as boolean) as has_signed_up,
        cast(sessions.has_purchased as boolean) as has_purchased,
        cast(sessions.session_date as date) as session_date,
        cast(sessions.started_at as timestamp) as session_started_at,
        cast(sessions.ended_at as timestamp) as session_ended_at
    from sessions
    {%- if reads_touched_only() %}
    inner join touched_devices
        on sessions.anonymous_id = touched_devices.anonymous_id
    {%- endif %}
)

select * from final
