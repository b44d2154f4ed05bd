-- The ecommerce action of each event (self-describing event snowplow_ecommerce_action: its
-- type and list name), from the shredded table when the export has one, else from the
-- events' unstruct_event column; deduplicated and typed (docs block snowplow_export).
{{ snowplow_entity_query('ecommerce_action') }}
