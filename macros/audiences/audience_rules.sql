{#- Rules shared by every audience: the as-of cut-off, contact normalisation (to match the
    suppression list) and the holdout. No salt and no secret anywhere: the warehouse holds no
    hash of contact data, and the unsalted hashes the ad platforms ask for are computed by the
    export command, outside SQL (src/shopfunnel/export.py). -#}

{#- True when a timestamp (or date) was known by the end of the as-of date (UTC): the one
    cut-off of customer scores, price reports and audiences. -#}
{% macro is_by_as_of_date(timestamp_expression, as_of_date_expression) -%}
    (cast({{ timestamp_expression }} as date) <= {{ as_of_date_expression }})
{%- endmacro %}

{#- An e-mail address as ad platforms normalise it: trimmed and lower-cased; null when empty. -#}
{% macro normalized_email(column) -%}
    nullif(lower(trim({{ column }})), '')
{%- endmacro %}

{#- A phone number in E.164 for Korea: digits only, a leading 0 (or country code 82 with or
    without its 0) replaced by +82 (010-1234-5678 and +82 10 1234 5678 -> +821012345678);
    null when there is no digit. src/shopfunnel/export.py applies the same rule (tested on the
    same cases in tests/audiences/ and tests/python/test_audiences.py). -#}
{% macro normalized_phone(column) -%}
    case
        {%- set digits = regex_replace_all(column, '[^0-9]', '') %}
        when nullif({{ digits }}, '') is not null
            then '+82' || {{ regex_replace_all(digits, '^(82)?0?', '') }}
    end
{%- endmacro %}

{#- Unsalted SHA-256 of a text, as lower-case hex; null for null. Only used to compare a
    member's normalised contact with the hashed suppression list: no hash is stored. -#}
{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch('sha256_hex', 'shopfunnel')(expression)) }}
{%- endmacro %}

{% macro duckdb__sha256_hex(expression) -%}
    lower(sha256({{ expression }}))
{%- endmacro %}

{% macro spark__sha256_hex(expression) -%}
    lower(sha2({{ expression }}, 256))
{%- endmacro %}

{#- True when the person falls in the audience's holdout: the first 13 hex digits of
    md5('<person>|<audience>|<as-of date>|<var holdout_seed>') read as a number in [0, 1)
    below var holdout_share. md5 rather than DuckDB's hash(): the same value in every DuckDB
    version and in Python (hashlib), so the assignment is stable and checkable. The seed is
    no secret: it only makes the split reproducible. -#}
{% macro is_in_holdout(person_id_column, audience_name, as_of_date_column) -%}
    (
        cast({{ hex_to_bigint(
            "left(md5(" ~ person_id_column ~ " || '|" ~ audience_name ~ "|' || cast("
            ~ as_of_date_column ~ " as string) || '|" ~ var_integer('holdout_seed') ~ "'), 13)"
        ) }} as double) / 4503599627370496.0
        < {{ var_number('holdout_share') }}
    )
{%- endmacro %}
