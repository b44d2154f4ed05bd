{#- Rules shared by every audience: one place for hashing and the holdout. -#}

{#- Salted SHA-256 of a normalised e-mail (trimmed, lower case), as ad platforms expect;
    null when there is no e-mail. The salt comes from env var SHOPFUNNEL_HASH_SALT. -#}
{% macro hashed_email(column) -%}
    case
        when nullif(trim({{ column }}), '') is not null
            then sha256('{{ env_var("SHOPFUNNEL_HASH_SALT", "shopfunnel-dev-salt") }}' || lower(trim({{ column }})))
    end
{%- endmacro %}

{#- A phone number in E.164 for Korea: digits only, a leading 0 (or country code 82 with or
    without its 0) replaced by +82 (010-1234-5678 and +82 10 1234 5678 -> +821012345678);
    null when there is no digit. -#}
{% macro normalized_phone(column) -%}
    case
        when nullif(regexp_replace({{ column }}, '[^0-9]', '', 'g'), '') is not null
            then '+82' || regexp_replace(regexp_replace({{ column }}, '[^0-9]', '', 'g'), '^(82)?0?', '')
    end
{%- endmacro %}

{#- Salted SHA-256 of a phone number in E.164 (macro normalized_phone); null when there is
    no number. The salt comes from env var SHOPFUNNEL_HASH_SALT. -#}
{% macro hashed_phone(column) -%}
    case
        when {{ normalized_phone(column) }} is not null
            then sha256('{{ env_var("SHOPFUNNEL_HASH_SALT", "shopfunnel-dev-salt") }}' || {{ normalized_phone(column) }})
    end
{%- endmacro %}

{#- True when the person falls in the audience's holdout: the first 13 hex digits of
    md5('<person>|<audience>|<as-of date>|<var holdout_seed>') read as a number in [0, 1)
    below var holdout_share. md5 rather than DuckDB's hash(): the same value in every DuckDB
    version and in Python (hashlib), so the assignment is stable and checkable. -#}
{% macro is_in_holdout(person_id_column, audience_name, as_of_date_column) -%}
    (
        cast(('0x' || left(md5(
            {{ person_id_column }} || '|{{ audience_name }}|'
            || cast({{ as_of_date_column }} as varchar) || '|{{ var("holdout_seed") }}'
        ), 13)) as bigint)::double / 4503599627370496.0
        < {{ var('holdout_share') }}
    )
{%- endmacro %}
