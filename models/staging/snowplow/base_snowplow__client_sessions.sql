-- The client-session entity of each event (the tracker's session; on mobile its user_id is
-- the device), from the shredded table when the export has one, else from the events'
-- contexts column; deduplicated and typed (docs block snowplow_export).
{{ snowplow_entity_query('client_session') }}
