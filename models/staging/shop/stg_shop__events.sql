-- Clean tracker events: one row per event_id (its earliest clean load), UTC timestamps, URL
-- parsed, UTM tags filled from the URL when the tracker left them empty, channel and page
-- type from the seeds, bots, unknown event names, malformed URLs and late arrivals flagged
-- (kept, not dropped). A view: base_shop__events holds the rows and the derived columns.
with

events as (
    select * from {{ ref('base_shop__events') }}
),

final as (
    select
        event_id,
        anonymous_id,
        member_id,
        event_name,
        page_url,
        page_path,
        page_type,
        referrer_url,
        referrer_host,
        coalesce(utm_source, utm_source_parsed) as utm_source,
        coalesce(utm_medium, utm_medium_parsed) as utm_medium,
        coalesce(utm_campaign, utm_campaign_parsed) as utm_campaign,
        coalesce(utm_term, utm_term_parsed) as utm_term,
        channel_group,
        product_id,
        user_agent,
        event_name in ({{ var_text_list('known_event_names') }}) as is_known_event_name,
        is_bot,
        page_url is not null and page_path is null as is_url_malformed,
        loaded_at > {{ add_hours('event_at', var_number('late_arrival_hours')) }}
            as is_late_arriving,
        cast(event_at as date) as event_date,
        source_file,
        load_date,
        event_at,
        loaded_at
    from events
    where quarantine_rule is null
)

select * from final
