{#- What base_shop__events needs besides the shared shape (macros/staging/versions.sql). -#}

{#- The first row rule a typed event breaks, null when none (docs: events_quarantine_rule).
    `duplicate` is not here: it needs the other rows of the id.
    relation: the CTE holding the typed row; first_load_date: the date of the table's first
    load (its rows are history: never `too_late`). -#}
{% macro events_row_rule(relation, first_load_date) -%}
    case
        when {{ relation }}.event_id is null then 'missing_event_id'
        when not {{ is_valid_id(relation ~ '.event_id') }} then 'malformed_event_id'
        when {{ relation }}.anonymous_id is null then 'missing_anonymous_id'
        when not {{ is_valid_id(relation ~ '.anonymous_id') }} then 'malformed_anonymous_id'
        when {{ relation }}.member_id is not null and not {{ is_valid_id(relation ~ '.member_id') }}
            then 'malformed_member_id'
        when {{ relation }}.event_name is null then 'missing_event_name'
        when {{ relation }}.event_at is null then 'invalid_event_at'
        when {{ relation }}.loaded_at is null then 'invalid_loaded_at'
        when {{ is_implausible_timestamp(relation ~ '.event_at') }} then 'implausible_event_at'
        when {{ is_implausible_timestamp(relation ~ '.loaded_at') }} then 'implausible_loaded_at'
        when {{ is_implausible_load_date(relation ~ '.load_date') }} then 'implausible_load_date'
        when {{ relation }}.event_at
            > {{ add_hours(relation ~ '.loaded_at', var_number('future_tolerance_hours')) }}
            then 'future_event_at'
        when {{ is_too_late(relation ~ '.event_at', relation ~ '.load_date', first_load_date) }}
            then 'too_late'
    end
{%- endmacro %}
