-- The raw `order_items` table of the contract, from Snowplow ecommerce (docs block
-- snowplow_export): one line per product entity of a transaction action (base_snowplow__orders
-- says which events are orders). line_number is the product's entity_index; a product
-- without a quantity counts as one unit (as Snowplow's ecommerce model counts products).
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

ecommerce_products as (
    select * from {{ ref('base_snowplow__ecommerce_products') }}
),

transaction_lines as (
    select
        atomic_events.filename,
        atomic_events.collector_tstamp,
        ecommerce_transactions.transaction_id,
        ecommerce_products.entity_index,
        ecommerce_products.product_id,
        ecommerce_products.product_quantity,
        ecommerce_products.product_price
    from atomic_events
    inner join ecommerce_actions
        on
            atomic_events.event_id = ecommerce_actions.event_id
            and atomic_events.collector_tstamp = ecommerce_actions.collector_tstamp
    inner join ecommerce_products
        on
            atomic_events.event_id = ecommerce_products.event_id
            and atomic_events.collector_tstamp = ecommerce_products.collector_tstamp
    left join ecommerce_transactions
        on
            atomic_events.event_id = ecommerce_transactions.event_id
            and atomic_events.collector_tstamp = ecommerce_transactions.collector_tstamp
    where ecommerce_actions.action_type = 'transaction'
),

final as (
    select
        transaction_id as order_id,
        entity_index as line_number,
        product_id,
        coalesce(product_quantity, 1) as quantity,
        product_price as unit_price,
        filename,
        collector_tstamp as loaded_at
    from transaction_lines
)

select * from final
