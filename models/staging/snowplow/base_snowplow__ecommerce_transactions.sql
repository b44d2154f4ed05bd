-- The transaction entity of each event (id, revenue, currency, payment, discount, ...),
-- from the shredded table when the export has one, else from the events' contexts column;
-- deduplicated and typed (docs block snowplow_export).
{{ snowplow_entity_query('ecommerce_transaction') }}
