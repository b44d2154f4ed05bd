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
--
-- Shaped for 100M rows on 2 cores: the wide rows stream through once (typing, rules, the
-- lookups, the write); nothing wide is materialized. What needs more than one row is
-- computed on narrow projections of the batch (DuckDB reads only those columns again):
-- the ids sent more than once (only their rows, and rows without an id, are ranked by a
-- window), the first load date, and the lookups: each distinct URL, referrer, tag
-- combination and user agent is parsed and classified once and joined back on equality.
{{
    config(
        materialized='incremental',
        unique_key='event_id',
        incremental_strategy='delete+insert',
        spark_partition_key='event_id',
        on_schema_change='fail',
        pre_hook="{{ delete_batch_rows('events') }}",
    )
}}
{%- set stored_columns = contract_staged_names('events') + contract_raw_names('events')
    + ['source_file', 'load_date', 'row_hash', 'row_rule'] %}

with

batch as {{ inline_cte() }} (
    select * from {{ ref('base_shop__events_batch') }}
),

channel_rules as (
    select * from {{ ref('channel_rules') }}
),

page_rules as (
    select * from {{ ref('page_rules') }}
),

typed as {{ inline_cte() }} (
    select
        {{ contract_typed_columns('events') }},
        {{ contract_sent_columns('events') }},
        source_file,
        load_date as file_load_date
    from batch
),

hashed as {{ inline_cte() }} (
    select
        {{ (
            contract_staged_names('events') + contract_sent_names('events') + ['source_file']
        ) | join(', ') }},
        coalesce(file_load_date, cast(loaded_at as date)) as load_date,
        {{ contract_row_hash('events') }} as row_hash
    from typed
),

{% if is_incremental() -%}
stored as (
    select
        {%- for column in stored_columns %}
        {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ this }}
    where event_id in (select hashed.event_id from hashed)
),
{%- endif %}

-- the table's first load holds the history: its rows are never `too_late` (a load date
-- that cannot be real is no first load: its rows are `implausible_load_date`)
first_load as (
    select min(load_date) as first_load_date
    from (
        select load_date from hashed
        {% if is_incremental() -%}
        union all
        select min(load_date) from {{ this }}
        where quarantine_rule is distinct from 'implausible_load_date'
        {%- endif %}
    ) as load_dates
    where not {{ is_implausible_load_date('load_date') }}
),

-- ids with more than one version, in the batch or in the batch and the table (a count of
-- the id's hash reads one column; a collision only adds a candidate, the window below
-- partitions by the id itself)
repeated_ids as (
    select event_id_hash
    from (
        select {{ row_hash(['event_id']) }} as event_id_hash from hashed
        where event_id is not null
        {% if is_incremental() -%}
        union all
        select {{ row_hash(['event_id']) }} from stored
        {%- endif %}
    ) as ids
    group by event_id_hash
    having count(*) > 1
),

ruled as {{ inline_cte() }} (
    select
        hashed.*,
        {{ events_row_rule('hashed', 'first_load.first_load_date') }} as row_rule
    from hashed
    cross join first_load
),

-- a clean row needs no raw text: a later ranking can only make it a `duplicate`, whose
-- values as read are its values as sent up to trimming and case
checked as {{ inline_cte() }} (
    select
        {{ contract_staged_names('events') | join(', ') }},
        {{ contract_raw_columns('events', condition='row_rule is not null') }},
        source_file,
        load_date,
        row_hash,
        row_rule
    from ruled
),

-- one version of its id, nothing to rank: the verdict is the row's own rule
single_verdicts as {{ inline_cte() }} (
    select
        *,
        row_rule as quarantine_rule,
        case
            when row_rule is not null
                then {{ composite_key(['source_file', 'row_hash', '1']) }}
        end as quarantine_row_id
    from checked
    where
        event_id is not null
        and {{ row_hash(
            ['event_id']
        ) }} not in (select repeated_ids.event_id_hash from repeated_ids)
),

-- the few rows that need their neighbours: every version of an id sent more than once
-- (stored versions included) and rows without an id (identical ones are numbered)
few_versions as {{ stored_cte() }} (
    select * from checked
    where
        event_id is null
        or {{ row_hash(['event_id']) }} in (select repeated_ids.event_id_hash from repeated_ids)
    {% if is_incremental() -%}
    union all
    select * from stored
    {%- endif %}
),

-- a copy that arrived too late of an event that has a clean version is a `duplicate`
ranked as (
    select
        *,
        {{ version_rank('event_id', 'loaded_at asc') }} as version_rank,
        bool_or(row_rule is null) over (partition by event_id) as has_clean_version
    from few_versions
),

few_verdicts as (
    select
        {{ stored_columns | join(', ') }},
        case
            when row_rule = 'too_late' and event_id is not null and has_clean_version
                then 'duplicate'
            when row_rule is not null then row_rule
            when version_rank > 1 then 'duplicate'
        end as quarantine_rule
    from ranked
),

few_identified as (
    select
        *,
        case
            when quarantine_rule is not null
                then {{ quarantine_row_id(contract_raw_names('events')) }}
        end as quarantine_row_id
    from few_verdicts
),

verdicts as {{ inline_cte() }} (
    select * from single_verdicts
    union all
    select * from few_identified
),

-- lookups: each distinct value parsed and classified once, from narrow projections
page_urls as (
    select
        page_url,
        {{ url_path('page_url') }} as page_path,
        {{ url_parameter('page_url', 'utm_source') }} as utm_source_in_url,
        {{ url_parameter('page_url', 'utm_medium') }} as utm_medium_in_url,
        {{ url_parameter('page_url', 'utm_campaign') }} as utm_campaign_in_url,
        {{ url_parameter('page_url', 'utm_term') }} as utm_term_in_url
    from (
        select distinct page_url from hashed
        where page_url is not null
    ) as distinct_urls
),

referrer_urls as (
    select
        referrer_url,
        {{ url_host('referrer_url') }} as referrer_host
    from (
        select distinct referrer_url from hashed
        where referrer_url is not null
    ) as distinct_referrers
),

traffic_signals as (
    select distinct
        lower(coalesce(signal_inputs.utm_source, page_urls.utm_source_in_url, ''))
            as source_key,
        lower(coalesce(signal_inputs.utm_medium, page_urls.utm_medium_in_url, ''))
            as medium_key,
        coalesce(referrer_urls.referrer_host, '') as referrer_key
    from (
        select distinct
            utm_source,
            utm_medium,
            page_url,
            referrer_url
        from hashed
    ) as signal_inputs
    left join page_urls
        on signal_inputs.page_url = page_urls.page_url
    left join referrer_urls
        on signal_inputs.referrer_url = referrer_urls.referrer_url
),

classified_signals as (
    select
        traffic_signals.source_key,
        traffic_signals.medium_key,
        traffic_signals.referrer_key,
        {{ first_by(
            'channel_rules.channel_group', 'channel_rules.priority', 'channel_rules.channel_group'
        ) }}
            as channel_group
    from traffic_signals
    inner join channel_rules
        on (
            channel_rules.utm_medium_regex is null
            or {{ regex_search_column(
                'traffic_signals.medium_key', 'channel_rules.utm_medium_regex'
            ) }}
        )
        and (
            channel_rules.utm_source_regex is null
            or {{ regex_search_column(
                'traffic_signals.source_key', 'channel_rules.utm_source_regex'
            ) }}
        )
        and (
            channel_rules.referrer_host_regex is null
            or {{ regex_search_column(
                'traffic_signals.referrer_key', 'channel_rules.referrer_host_regex'
            ) }}
        )
    group by
        traffic_signals.source_key,
        traffic_signals.medium_key,
        traffic_signals.referrer_key
),

classified_paths as (
    select
        page_paths.page_path,
        {{ first_by(
            'page_rules.page_type', 'page_rules.priority', 'page_rules.page_type'
        ) }} as page_type
    from (
        select distinct page_path from page_urls
        where page_path is not null
    ) as page_paths
    inner join page_rules
        on {{ regex_search_column('page_paths.page_path', 'page_rules.path_regex') }}
    group by page_paths.page_path
),

flagged_user_agents as (
    select
        user_agent,
        {{ is_bot_user_agent('user_agent') }} as is_bot
    from (select distinct user_agent from hashed) as user_agents
),

-- the derived columns, for the kept rows only
parsed as {{ inline_cte() }} (
    select
        verdicts.*,
        case when verdicts.quarantine_rule is null then page_urls.page_path end as page_path,
        case
            when verdicts.quarantine_rule is null then referrer_urls.referrer_host
        end as referrer_host,
        {%- for tag in ['source', 'medium', 'campaign', 'term'] %}
        case
            when verdicts.quarantine_rule is null and verdicts.utm_{{ tag }} is null
                then page_urls.utm_{{ tag }}_in_url
        end as utm_{{ tag }}_parsed,
        {%- endfor %}
        case when verdicts.quarantine_rule is null then flagged_user_agents.is_bot end
            as user_agent_is_bot
    from verdicts
    left join page_urls
        on verdicts.page_url = page_urls.page_url
    left join referrer_urls
        on verdicts.referrer_url = referrer_urls.referrer_url
    left join flagged_user_agents
        on verdicts.user_agent is not distinct from flagged_user_agents.user_agent
),

final as (
    select
        parsed.event_id,
        parsed.anonymous_id,
        parsed.member_id,
        parsed.event_name,
        parsed.page_url,
        parsed.page_path,
        case
            when parsed.quarantine_rule is null
                then coalesce(classified_paths.page_type, 'unknown')
        end as page_type,
        parsed.referrer_url,
        parsed.referrer_host,
        parsed.utm_source,
        parsed.utm_medium,
        parsed.utm_campaign,
        parsed.utm_term,
        parsed.utm_source_parsed,
        parsed.utm_medium_parsed,
        parsed.utm_campaign_parsed,
        parsed.utm_term_parsed,
        case
            when parsed.quarantine_rule is null then classified_signals.channel_group
        end as channel_group,
        parsed.product_id,
        parsed.user_agent,
        case
            when parsed.quarantine_rule is null then coalesce(parsed.user_agent_is_bot, false)
        end as is_bot,
        {%- for column in contract_raw_names('events') %}
        parsed.{{ column }},
        {%- endfor %}
        parsed.row_rule,
        parsed.quarantine_rule,
        parsed.quarantine_row_id,
        parsed.row_hash,
        parsed.source_file,
        parsed.load_date,
        parsed.event_at,
        parsed.loaded_at
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
)

select * from final
