{#- The typing and the row rules of raw events, written once: base_shop__events applies
    them to its two streams of raw rows (ids sent once, ids sent more than once). -#}

{#- The select list that types one raw event row: cleaned columns, UTC timestamps, and
    the raw values in their source type (`*_raw`, for the quarantine). -#}
{% macro events_typed_columns() -%}
        {{ clean_text('event_id') }} as event_id,
        -- not trimmed: an id with spaces is malformed, not repaired
        {{ raw_text('anonymous_id') }} as anonymous_id,
        {{ clean_text('member_id') }} as member_id,
        lower({{ clean_text('event_name') }}) as event_name,
        {{ clean_text('page_url') }} as page_url,
        {{ clean_text('referrer_url') }} as referrer_url,
        {{ clean_text('utm_source') }} as utm_source,
        {{ clean_text('utm_medium') }} as utm_medium,
        {{ clean_text('utm_campaign') }} as utm_campaign,
        {{ clean_text('utm_term') }} as utm_term,
        {{ clean_text('product_id') }} as product_id,
        {{ clean_text('user_agent') }} as user_agent,
        {{ to_utc_timestamp('event_at') }} as event_at,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at,
        event_id as event_id_raw,
        event_at as event_at_raw,
        loaded_at as loaded_at_raw,
        member_id as member_id_raw,
        event_name as event_name_raw,
        page_url as page_url_raw,
        referrer_url as referrer_url_raw,
        utm_source as utm_source_raw,
        utm_medium as utm_medium_raw,
        utm_campaign as utm_campaign_raw,
        utm_term as utm_term_raw,
        product_id as product_id_raw,
        user_agent as user_agent_raw
{%- endmacro %}

{#- The first row rule a typed event breaks, null when none (docs: events_quarantine_rule).
    `duplicate` is not here: it needs the other rows of the id. -#}
{% macro events_row_rule() -%}
    case
            when event_id is null then 'missing_event_id'
            when not {{ is_valid_id('event_id') }} then 'malformed_event_id'
            when anonymous_id is null then 'missing_anonymous_id'
            when not {{ is_valid_id('anonymous_id') }} then 'malformed_anonymous_id'
            when member_id is not null and not {{ is_valid_id('member_id') }}
                then 'malformed_member_id'
            when event_name is null then 'missing_event_name'
            when event_at is null then 'invalid_event_at'
            when loaded_at is null then 'invalid_loaded_at'
            when event_at > loaded_at + to_hours({{ var('future_tolerance_hours') }})
                then 'future_event_at'
        end
{%- endmacro %}
