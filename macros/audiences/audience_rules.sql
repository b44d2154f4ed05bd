{#- Rules shared by every audience: one place for hashing and the holdout. -#}

{#- Salted SHA-256 of a normalised e-mail (trimmed, lower case), as ad platforms expect;
    null when there is no e-mail. The salt comes from env var SHOPFUNNEL_HASH_SALT. -#}
{% macro hashed_email(column) -%}
    case
        when nullif(trim({{ column }}), '') is not null
            then sha256('{{ env_var("SHOPFUNNEL_HASH_SALT", "shopfunnel-dev-salt") }}' || lower(trim({{ column }})))
    end
{%- endmacro %}

{#- Salted SHA-256 of a phone number normalised to E.164 for Korea: digits only, a leading
    0 replaced by +82 (010-1234-5678 -> +821012345678); null when there is no number. -#}
{% macro hashed_phone(column) -%}
    case
        when nullif(regexp_replace({{ column }}, '[^0-9]', '', 'g'), '') is not null
            then sha256(
                '{{ env_var("SHOPFUNNEL_HASH_SALT", "shopfunnel-dev-salt") }}'
                || '+82' || regexp_replace(regexp_replace({{ column }}, '[^0-9]', '', 'g'), '^(82)?0?', '')
            )
    end
{%- endmacro %}

{#- True when the person falls in the audience's holdout: a seeded hash of (person,
    audience, as-of date, var holdout_seed) below var holdout_share. Stable across rebuilds. -#}
{% macro is_in_holdout(person_id_column, audience_name, as_of_date_column) -%}
    (
        (hash({{ person_id_column }} || '|{{ audience_name }}|' || {{ as_of_date_column }}
            || '|{{ var("holdout_seed") }}') >> 11)::double / 9007199254740992.0
        < {{ var('holdout_share') }}
    )
{%- endmacro %}
