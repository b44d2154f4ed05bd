-- Raw event rows that broke a rule, as sent (text), with the rule; re-delivered copies of
-- an event are here with rule `duplicate`. Raw rows = staged + quarantined.
with

events as (
    select * from {{ ref('base_shop__events') }}
),

rejected as (
    select
        {{ raw_text('event_id_raw') }} as event_id,
        {{ raw_text('event_at_raw') }} as event_at,
        {{ raw_text('loaded_at_raw') }} as loaded_at,
        anonymous_id,
        {{ raw_text('member_id_raw') }} as member_id,
        {{ raw_text('event_name_raw') }} as event_name,
        {{ raw_text('page_url_raw') }} as page_url,
        {{ raw_text('referrer_url_raw') }} as referrer_url,
        {{ raw_text('utm_source_raw') }} as utm_source,
        {{ raw_text('utm_medium_raw') }} as utm_medium,
        {{ raw_text('utm_campaign_raw') }} as utm_campaign,
        {{ raw_text('utm_term_raw') }} as utm_term,
        {{ raw_text('product_id_raw') }} as product_id,
        {{ raw_text('user_agent_raw') }} as user_agent,
        quarantine_rule
    from events
    where quarantine_rule is not null
),

identified as (
    select
        {{ raw_row_id([
            'event_id', 'event_at', 'loaded_at', 'anonymous_id', 'member_id', 'event_name',
            'page_url', 'referrer_url', 'utm_source', 'utm_medium', 'utm_campaign', 'utm_term',
            'product_id', 'user_agent',
        ]) }} as quarantine_row_id,
        *,
        {{ quarantined_at() }} as quarantined_at
    from rejected
)

select * from identified
