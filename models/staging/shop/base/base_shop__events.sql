-- Every raw event row ever read, typed, with `quarantine_rule` (the first rule it breaks;
-- null when clean) and, for the clean rows, everything staging derives: URL path, UTM tags
-- parsed from the URL, channel, page type, bot and other flags. The one ranking of the
-- versions of an event_id (earliest clean load kept, the others `duplicate`) is computed
-- here, once: stg_shop__events and stg_shop__events_quarantine are views over this table.
--
-- Incremental (docs block incremental_runs): a run reads only its batch of new files
-- (base_shop__events_batch), brings back the stored rows of the event_ids the batch
-- touches, ranks them together and replaces those event_ids (delete+insert on event_id).
-- A full refresh reads every file. Either way the same rows give the same table.
-- Shaped for 100M rows: only the rows of an id sent more than once are ranked by a window;
-- the regular-expression rules run on the few distinct tag combinations, paths and agents.
{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='delete+insert',
        pre_hook="{{ delete_batch_rows('events') }}",
    )
}}

with

batch as (
    select * from {{ ref('base_shop__events_batch') }}
),

channel_rules as (
    select * from {{ ref('channel_rules') }}
),

page_rules as (
    select * from {{ ref('page_rules') }}
),

typed as (
    select
        {{ contract_typed_columns('events') }},
        {{ contract_sent_columns('events') }},
        source_file,
        load_date as file_load_date
    from batch
),

hashed as (
    select
        * exclude (file_load_date),
        coalesce(file_load_date, cast(loaded_at as date)) as load_date,
        {{ contract_row_hash('events') }} as row_hash
    from typed
),

{% if is_incremental() -%}
stored as (
    select
        {%- for column in contract_staged_names('events') + contract_raw_names('events') %}
        {{ column }},
        {%- endfor %}
        source_file,
        load_date,
        row_hash,
        row_rule
    from {{ this }}
    where event_id in (select hashed.event_id from hashed)
),
{%- endif %}

first_load as (
    select min(load_date) as first_load_date
    from (
        select load_date from hashed
        {% if is_incremental() -%}
        union all
        select min(load_date) from {{ this }}
        {%- endif %}
    ) as load_dates
),

ruled as (
    select
        hashed.*,
        {{ events_row_rule('hashed', 'first_load.first_load_date') }} as row_rule
    from hashed
    cross join first_load
),

-- a clean row needs no raw text: a later ranking can only make it a `duplicate`, whose
-- values as read are its values as sent up to trimming and case
checked as (
    select
        * exclude ({{ contract_sent_names('events') | join(', ') }}),
        {{ contract_raw_columns('events', condition='row_rule is not null') }}
    from ruled
),

candidates as (
    select * from checked
    {% if is_incremental() -%}
    union all by name
    select * from stored
    {%- endif %}
),

-- ids sent more than once: only their rows need a window (a count of the id's hash reads
-- one column; a collision only adds a candidate, the window partitions by the id itself)
repeated_ids as (
    select hash(event_id) as event_id_hash
    from candidates
    where event_id is not null
    group by hash(event_id)
    having count(*) > 1
),

single_versions as (
    select * from candidates
    where event_id is null or hash(event_id) not in (select event_id_hash from repeated_ids)
),

repeated_versions as materialized (
    select * from candidates
    where hash(event_id) in (select event_id_hash from repeated_ids)
),

-- a copy that arrived too late of an event that has a clean version is a `duplicate`
ranked as (
    select
        *,
        case when row_rule is null then 1 end as version_rank,
        false as has_clean_version
    from single_versions
    union all
    select
        *,
        {{ version_rank('event_id', 'loaded_at asc') }} as version_rank,
        bool_or(row_rule is null) over (partition by event_id) as has_clean_version
    from repeated_versions
),

verdicts as (
    select
        * exclude (version_rank, has_clean_version),
        case
            when row_rule = 'too_late' and has_clean_version then 'duplicate'
            when row_rule is not null then row_rule
            when version_rank > 1 then 'duplicate'
        end as quarantine_rule
    from ranked
),

-- the clean rows get the derived columns; each distinct URL is parsed once (a few thousand
-- distinct URLs against millions of hits) and joined back on equality
kept as (
    select * from verdicts
    where quarantine_rule is null
),

page_urls as (
    select
        page_url,
        {{ url_path('page_url') }} as page_path,
        {{ url_parameter('page_url', 'utm_source') }} as utm_source_in_url,
        {{ url_parameter('page_url', 'utm_medium') }} as utm_medium_in_url,
        {{ url_parameter('page_url', 'utm_campaign') }} as utm_campaign_in_url,
        {{ url_parameter('page_url', 'utm_term') }} as utm_term_in_url
    from (select distinct page_url from kept where page_url is not null) as distinct_urls
),

referrer_urls as (
    select
        referrer_url,
        {{ url_host('referrer_url') }} as referrer_host
    from (select distinct referrer_url from kept where referrer_url is not null) as distinct_urls
),

parsed as materialized (
    select
        kept.*,
        page_urls.page_path,
        referrer_urls.referrer_host,
        case when kept.utm_source is null then page_urls.utm_source_in_url end
            as utm_source_parsed,
        case when kept.utm_medium is null then page_urls.utm_medium_in_url end
            as utm_medium_parsed,
        case when kept.utm_campaign is null then page_urls.utm_campaign_in_url end
            as utm_campaign_parsed,
        case when kept.utm_term is null then page_urls.utm_term_in_url end
            as utm_term_parsed
    from kept
    left join page_urls
        on kept.page_url = page_urls.page_url
    left join referrer_urls
        on kept.referrer_url = referrer_urls.referrer_url
),

traffic_signals as (
    select distinct
        lower(coalesce(utm_source, utm_source_parsed, '')) as source_key,
        lower(coalesce(utm_medium, utm_medium_parsed, '')) as medium_key,
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
    from page_urls
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

clean_rows as (
    select
        parsed.*,
        coalesce(classified_paths.page_type, 'unknown') as page_type,
        classified_signals.channel_group,
        coalesce(flagged_user_agents.is_bot, false) as is_bot,
        cast(null as varchar) as quarantine_row_id
    from parsed
    left join classified_signals
        on
            lower(coalesce(parsed.utm_source, parsed.utm_source_parsed, ''))
            = classified_signals.source_key
            and lower(coalesce(parsed.utm_medium, parsed.utm_medium_parsed, ''))
            = classified_signals.medium_key
            and coalesce(parsed.referrer_host, '') = classified_signals.referrer_key
    left join classified_paths
        on parsed.page_path = classified_paths.page_path
    left join flagged_user_agents
        on parsed.user_agent is not distinct from flagged_user_agents.user_agent
),

quarantined_rows as (
    select
        *,
        {{ quarantine_row_id(contract_raw_names('events')) }} as quarantine_row_id
    from verdicts
    where quarantine_rule is not null
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
        utm_source,
        utm_medium,
        utm_campaign,
        utm_term,
        utm_source_parsed,
        utm_medium_parsed,
        utm_campaign_parsed,
        utm_term_parsed,
        channel_group,
        product_id,
        user_agent,
        is_bot,
        {%- for column in contract_raw_names('events') %}
        {{ column }},
        {%- endfor %}
        row_rule,
        quarantine_rule,
        quarantine_row_id,
        row_hash,
        source_file,
        load_date,
        event_at,
        loaded_at
    from (
        select * from clean_rows
        union all by name
        select * from quarantined_rows
    ) as every_row
)

select * from final
