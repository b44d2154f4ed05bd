-- Raw event rows that broke a rule, with the rule: the values as sent where they could not
-- be read or cleaning changed them, else as read (text). Re-delivered copies of an event are
-- here with rule `duplicate`, rows that arrived too late with rule `too_late`. A view over
-- base_shop__events: raw rows = staged + quarantined, content included.
with

events as (
    select * from {{ ref('base_shop__events') }}
),

final as (
    select
        quarantine_row_id,
        {{ sent_text('event_id') }} as event_id,
        {{ sent_text('event_at') }} as event_at,
        {{ sent_text('loaded_at') }} as loaded_at,
        anonymous_id,
        {{ sent_text('member_id') }} as member_id,
        {{ sent_text('event_name') }} as event_name,
        {{ sent_text('page_url') }} as page_url,
        {{ sent_text('referrer_url') }} as referrer_url,
        {{ sent_text('utm_source') }} as utm_source,
        {{ sent_text('utm_medium') }} as utm_medium,
        {{ sent_text('utm_campaign') }} as utm_campaign,
        {{ sent_text('utm_term') }} as utm_term,
        {{ sent_text('product_id') }} as product_id,
        {{ sent_text('user_agent') }} as user_agent,
        quarantine_rule,
        source_file,
        load_date
    from events
    where quarantine_rule is not null
)

select * from final
