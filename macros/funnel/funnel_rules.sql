{#- The one rule for a person's id: the member when known, else the device. -#}
{% macro person_id(member_id_column, anonymous_id_column) -%}
    case
        when {{ member_id_column }} is not null then 'mbr_' || {{ member_id_column }}
        else 'anon_' || {{ anonymous_id_column }}
    end
{%- endmacro %}

{#- A session's channel is the channel of its first hit; a session that starts inside the
    site (internal referrer, e.g. a tab restored after the timeout) counts as direct. -#}
{% macro session_channel(channel_group_column) -%}
    case when {{ channel_group_column }} = 'internal' then 'direct' else {{ channel_group_column }} end
{%- endmacro %}
