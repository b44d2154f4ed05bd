-- Clean tracker events: one row per event_id (earliest load kept), UTC timestamps, URL
-- parsed, UTM tags filled from the URL when the tracker left them empty, channel and page
-- type from the seeds, bots and unknown event names flagged (kept, not dropped).
-- Shaped for 100M rows: the regular-expression rules run on the few distinct tag
-- combinations, paths and user agents, then join back on equality; the table is written
-- in event_at order so date filters skip row groups.
with

events as (
    select * from {{ ref('base_shop__events') }}
),

channel_rules as (
    select * from {{ ref('channel_rules') }}
),

page_rules as (
    select * from {{ ref('page_rules') }}
),

clean_events as (
    select
        event_id,
        anonymous_id,
        member_id,
        event_name,
        page_url,
        referrer_url,
        utm_source,
        utm_medium,
        utm_campaign,
        utm_term,
        product_id,
        user_agent,
        event_at,
        loaded_at
    from events
    where quarantine_rule is null
),

-- Read four times below, so computed once (materialized) rather than re-running the base
-- view. coalesce evaluates its second argument only for the rows whose column is null: the
-- URL is parsed only where the tracker left a tag empty.
parsed as materialized (
    select
        event_id,
        anonymous_id,
        member_id,
        event_name,
        page_url,
        {{ url_path('page_url') }} as page_path,
        referrer_url,
        {{ url_host('referrer_url') }} as referrer_host,
        coalesce(utm_source, {{ url_parameter('page_url', 'utm_source') }}) as utm_source,
        coalesce(utm_medium, {{ url_parameter('page_url', 'utm_medium') }}) as utm_medium,
        coalesce(utm_campaign, {{ url_parameter('page_url', 'utm_campaign') }}) as utm_campaign,
        coalesce(utm_term, {{ url_parameter('page_url', 'utm_term') }}) as utm_term,
        product_id,
        user_agent,
        event_at,
        loaded_at
    from clean_events
),

-- Rules are matched against the few distinct tag combinations, not every event.
traffic_signals as (
    select distinct
        lower(coalesce(utm_source, '')) as source_key,
        lower(coalesce(utm_medium, '')) as medium_key,
        coalesce(referrer_host, '') as referrer_key
    from parsed
),

classified_signals as (
    select
        traffic_signals.source_key,
        traffic_signals.medium_key,
        traffic_signals.referrer_key,
        arg_min(channel_rules.channel_group, channel_rules.priority) as channel_group
    from traffic_signals
    inner join channel_rules
        on (
            channel_rules.utm_medium_regex is null
            or regexp_matches(traffic_signals.medium_key, channel_rules.utm_medium_regex)
        )
        and (
            channel_rules.utm_source_regex is null
            or regexp_matches(traffic_signals.source_key, channel_rules.utm_source_regex)
        )
        and (
            channel_rules.referrer_host_regex is null
            or regexp_matches(traffic_signals.referrer_key, channel_rules.referrer_host_regex)
        )
    group by
        traffic_signals.source_key,
        traffic_signals.medium_key,
        traffic_signals.referrer_key
),

page_paths as (
    select distinct page_path
    from parsed
    where page_path is not null
),

classified_paths as (
    select
        page_paths.page_path,
        arg_min(page_rules.page_type, page_rules.priority) as page_type
    from page_paths
    inner join page_rules
        on regexp_matches(page_paths.page_path, page_rules.path_regex)
    group by page_paths.page_path
),

user_agents as (
    select distinct user_agent
    from parsed
),

flagged_user_agents as (
    select
        user_agent,
        {{ is_bot_user_agent('user_agent') }} as is_bot
    from user_agents
),

final as (
    select
        parsed.event_id,
        parsed.anonymous_id,
        parsed.member_id,
        parsed.event_name,
        parsed.page_url,
        parsed.page_path,
        coalesce(classified_paths.page_type, 'unknown') as page_type,
        parsed.referrer_url,
        parsed.referrer_host,
        parsed.utm_source,
        parsed.utm_medium,
        parsed.utm_campaign,
        parsed.utm_term,
        classified_signals.channel_group,
        parsed.product_id,
        parsed.user_agent,
        parsed.event_name in (
            {%- for name in var('known_event_names') %}
            '{{ name }}'{{ ',' if not loop.last }}
            {%- endfor %}
        ) as is_known_event_name,
        coalesce(flagged_user_agents.is_bot, false) as is_bot,
        parsed.page_url is not null and parsed.page_path is null as is_url_malformed,
        parsed.loaded_at > parsed.event_at + to_hours({{ var('late_arrival_hours') }})
            as is_late_arriving,
        cast(parsed.event_at as date) as event_date,
        parsed.event_at,
        parsed.loaded_at
    from parsed
    left join classified_signals
        on
            lower(coalesce(parsed.utm_source, '')) = classified_signals.source_key
            and lower(coalesce(parsed.utm_medium, '')) = classified_signals.medium_key
            and coalesce(parsed.referrer_host, '') = classified_signals.referrer_key
    left join classified_paths
        on parsed.page_path = classified_paths.page_path
    left join flagged_user_agents
        on parsed.user_agent is not distinct from flagged_user_agents.user_agent
)

select * from final
order by event_at
