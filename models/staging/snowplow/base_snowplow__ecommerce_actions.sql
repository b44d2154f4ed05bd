-- One row per ecommerce_action entity of an event (docs block snowplow_export): read from its shredded
-- table when the export has one, else from the events' wide-row column, deduplicated and typed.
{{ snowplow_entity_query('ecommerce_action') }}
