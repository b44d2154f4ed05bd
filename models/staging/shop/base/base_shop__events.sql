-- Every raw event row, typed, with the first rule it breaks (null when none) and its
-- rank among rows sharing its event_id (earliest load first). Read once by the staged
-- and the quarantine models; never read by anything else.
with

source as (
    select * from {{ source('shop', 'events') }}
),

typed as (
    select
        {{ clean_text('event_id') }} as event_id,
        cast(anonymous_id as varchar) as anonymous_id,
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
        cast(event_at as varchar) as event_at_raw,
        cast(loaded_at as varchar) as loaded_at_raw,
        {{ to_utc_timestamp('event_at') }} as event_at,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at
    from source
),

ranked as (
    select
        *,
        row_number() over (
            partition by event_id
            order by loaded_at asc nulls last, event_at asc nulls last, anonymous_id asc, member_id asc
        ) as load_rank
    from typed
),

checked as (
    select
        *,
        case
            when event_id is null then 'missing_event_id'
            when not {{ is_valid_id('event_id') }} then 'malformed_event_id'
            when load_rank > 1 then 'duplicate'
            when anonymous_id is null then 'missing_anonymous_id'
            when
                not {{ is_valid_id('anonymous_id') }}
                or lower(anonymous_id) in ('null', 'undefined', 'none') then 'malformed_anonymous_id'
            when member_id is not null and not {{ is_valid_id('member_id') }} then 'malformed_member_id'
            when event_name is null then 'missing_event_name'
            when event_at is null then 'invalid_event_at'
            when loaded_at is null then 'invalid_loaded_at'
            when event_at > loaded_at + to_hours({{ var('future_tolerance_hours') }})
                then 'future_event_at'
        end as quarantine_rule
    from ranked
)

select * from checked
