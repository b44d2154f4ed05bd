-- The raw `events` table of the contract, from Snowplow (docs block snowplow_export): one row
-- per row of atomic.events (base_shop__events dedupes event_ids as for the shop's files).
-- event_at is derived_tstamp (when it happened, the device clock corrected for skew) and
-- loaded_at collector_tstamp (when it reached the pipeline): an event cached offline on a
-- device arrives late and is flagged so. The device is domain_userid (on mobile, where there
-- is none, the client_session entity's user_id); the member is user_id. An ecommerce action
-- is named by its type (product_view, add_to_cart; transaction is `purchase`), and its first
-- product is the event's product.
with

atomic_events as (
    select * from {{ ref('base_snowplow__atomic_events') }}
),

ecommerce_actions as (
    select * from {{ ref('base_snowplow__ecommerce_actions') }}
    where entity_index = 1
),

ecommerce_products as (
    select * from {{ ref('base_snowplow__ecommerce_products') }}
    where entity_index = 1
),

client_sessions as (
    select * from {{ ref('base_snowplow__client_sessions') }}
    where entity_index = 1
),

joined as (
    select
        atomic_events.event_id,
        atomic_events.derived_tstamp,
        atomic_events.collector_tstamp,
        atomic_events.domain_userid,
        atomic_events.user_id,
        coalesce(atomic_events.event_name, atomic_events.event_type) as snowplow_event_name,
        atomic_events.page_url,
        atomic_events.page_referrer,
        atomic_events.mkt_source,
        atomic_events.mkt_medium,
        atomic_events.mkt_campaign,
        atomic_events.mkt_term,
        atomic_events.useragent,
        atomic_events.filename,
        ecommerce_actions.action_type,
        ecommerce_products.product_id,
        client_sessions.client_user_id
    from atomic_events
    left join ecommerce_actions
        on
            atomic_events.event_id = ecommerce_actions.event_id
            and atomic_events.collector_tstamp = ecommerce_actions.collector_tstamp
    left join ecommerce_products
        on
            atomic_events.event_id = ecommerce_products.event_id
            and atomic_events.collector_tstamp = ecommerce_products.collector_tstamp
    left join client_sessions
        on
            atomic_events.event_id = client_sessions.event_id
            and atomic_events.collector_tstamp = client_sessions.collector_tstamp
),

final as (
    select
        event_id,
        coalesce(domain_userid, client_user_id) as anonymous_id,
        user_id as member_id,
        case
            when snowplow_event_name = 'snowplow_ecommerce_action'
                then
                    case action_type
                        {%- for action, name in snowplow_action_event_names().items() %}
                        when '{{ action }}' then '{{ name }}'
                        {%- endfor %}
                        else coalesce(action_type, snowplow_event_name)
                    end
            else snowplow_event_name
        end as event_name,
        page_url,
        page_referrer as referrer_url,
        mkt_source as utm_source,
        mkt_medium as utm_medium,
        mkt_campaign as utm_campaign,
        mkt_term as utm_term,
        product_id,
        useragent as user_agent,
        filename,
        coalesce(derived_tstamp, collector_tstamp) as event_at,
        collector_tstamp as loaded_at
    from joined
)

select * from final
