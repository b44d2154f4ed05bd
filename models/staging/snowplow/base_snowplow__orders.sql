-- The raw `orders` table of the contract, from Snowplow ecommerce (docs block
-- snowplow_export): one row per transaction action (an ecommerce action event of type
-- `transaction`, the rule of Snowplow's ecommerce model) with its transaction entity. A
-- transaction entity on any other event is context, not a purchase. A tracked transaction
-- is a completed purchase: status `paid`. A transaction action without its entity gives a
-- row without an order_id (quarantined by staging, never dropped).
{%- set layout = snowplow_layout() %}
{%- if execute and layout.has_events and layout.entities.ecommerce_transaction.kind == 'none'
    and tracker_provides('orders') %}
    {%- do exceptions.warn(
        "snowplow export without ecommerce transactions (no folder "
        ~ snowplow_entities().ecommerce_transaction.table ~ " and no column "
        ~ snowplow_entities().ecommerce_transaction.column ~ "*): raw tables orders and "
        ~ "order_items are empty"
    ) %}
{%- endif %}

with

atomic_events as (
    select * from {{ ref('base_snowplow__atomic_events') }}
),

ecommerce_actions as (
    select * from {{ ref('base_snowplow__ecommerce_actions') }}
    where entity_index = 1
),

ecommerce_transactions as (
    select * from {{ ref('base_snowplow__ecommerce_transactions') }}
    where entity_index = 1
),

transaction_events as (
    select
        atomic_events.user_id,
        atomic_events.filename,
        atomic_events.derived_tstamp,
        atomic_events.collector_tstamp,
        ecommerce_transactions.transaction_id,
        ecommerce_transactions.transaction_currency,
        ecommerce_transactions.transaction_revenue,
        ecommerce_transactions.transaction_discount_amount,
        ecommerce_transactions.transaction_discount_code
    from atomic_events
    inner join ecommerce_actions
        on
            atomic_events.event_id = ecommerce_actions.event_id
            and atomic_events.collector_tstamp = ecommerce_actions.collector_tstamp
    left join ecommerce_transactions
        on
            atomic_events.event_id = ecommerce_transactions.event_id
            and atomic_events.collector_tstamp = ecommerce_transactions.collector_tstamp
    where ecommerce_actions.action_type = 'transaction'
),

final as (
    select
        transaction_id as order_id,
        user_id as member_id,
        'paid' as status,
        transaction_currency as currency,
        transaction_revenue as order_total,
        transaction_discount_amount as discount_total,
        transaction_discount_code as coupon_code,
        filename,
        coalesce(derived_tstamp, collector_tstamp) as ordered_at,
        collector_tstamp as loaded_at
    from transaction_events
)

select * from final
