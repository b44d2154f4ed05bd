-- The product entities of each event (several per event: listed products, a cart's lines,
-- a transaction's lines), from the shredded table when the export has one, else from the
-- events' contexts column; deduplicated, numbered and typed (docs block snowplow_export).
{{ snowplow_entity_query('ecommerce_product') }}
