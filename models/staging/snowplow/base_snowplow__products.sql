-- The raw `products` table of the contract, from the product entities of every Snowplow
-- event (docs block snowplow_export): per product and export file, its latest sighting
-- (latest collector_tstamp; ties broken on the whole entity), so base_shop__products keeps
-- the latest across files. list_price is the entity's list_price, else its price; the
-- entity has no release date or VIP flag (the contract's defaults apply).
with

atomic_events as (
    select * from {{ ref('base_snowplow__atomic_events') }}
),

ecommerce_products as (
    select * from {{ ref('base_snowplow__ecommerce_products') }}
),

sightings as (
    select
        ecommerce_products.product_id,
        ecommerce_products.product_name,
        ecommerce_products.product_category,
        coalesce(ecommerce_products.product_list_price, ecommerce_products.product_price)
            as list_price,
        atomic_events.filename,
        atomic_events.collector_tstamp,
        row_number() over (
            partition by ecommerce_products.product_id, atomic_events.filename
            order by
                atomic_events.collector_tstamp desc,
                ecommerce_products.product_name asc,
                ecommerce_products.product_category asc,
                coalesce(ecommerce_products.product_list_price, ecommerce_products.product_price)
                asc
        ) as sighting_rank
    from ecommerce_products
    inner join atomic_events
        on
            ecommerce_products.event_id = atomic_events.event_id
            and ecommerce_products.collector_tstamp = atomic_events.collector_tstamp
),

final as (
    select
        product_id,
        product_name,
        product_category as category,
        list_price,
        filename,
        collector_tstamp as loaded_at
    from sightings
    where sighting_rank = 1
)

select * from final
