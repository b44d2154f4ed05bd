{#- Cleaning rules shared by every staging model: one place for each rule. -#}

{#- Trimmed text; empty becomes null. -#}
{% macro clean_text(column) -%}
    nullif(trim(cast({{ column }} as varchar)), '')
{%- endmacro %}

{#- True when a (non-null) id matches var id_regex. -#}
{% macro is_valid_id(column) -%}
    regexp_full_match(cast({{ column }} as varchar), '{{ var("id_regex") }}')
{%- endmacro %}

{#- A timestamp with or without offset, as a UTC timestamp; null when unreadable. -#}
{% macro to_utc_timestamp(column) -%}
    timezone('UTC', try_cast(cast({{ column }} as varchar) as timestamptz))
{%- endmacro %}

{#- true/false/1/0/y/n/yes/no (any case) as a boolean; null otherwise. -#}
{% macro to_boolean(column) -%}
    case
        when lower(trim(cast({{ column }} as varchar))) in ('true', 't', '1', 'y', 'yes') then true
        when lower(trim(cast({{ column }} as varchar))) in ('false', 'f', '0', 'n', 'no') then false
    end
{%- endmacro %}

{#- A money amount; null when unreadable. -#}
{% macro to_amount(column) -%}
    try_cast(cast({{ column }} as varchar) as decimal(18, 2))
{%- endmacro %}

{#- The value of one query-string parameter of a URL, url-decoded; null when absent. -#}
{% macro url_parameter(url_column, parameter) -%}
    nullif(
        url_decode(
            replace(regexp_extract({{ url_column }}, '[?&]{{ parameter }}=([^&#]*)', 1), '+', ' ')
        ),
        ''
    )
{%- endmacro %}

{#- The host of a URL, lower case, without "www." kept as is; null when absent. -#}
{% macro url_host(url_column) -%}
    nullif(lower(regexp_extract({{ url_column }}, '^[a-zA-Z][a-zA-Z0-9+.-]*://([^/:?#]+)', 1)), '')
{%- endmacro %}

{#- The path of an absolute http(s) URL, lower case, '/' for the root; null when malformed. -#}
{% macro url_path(url_column) -%}
    case
        when regexp_full_match({{ url_column }}, '^https?://[^\s/?#]+([/?#]\S*)?$')
            then coalesce(nullif(lower(regexp_extract({{ url_column }}, '^https?://[^/?#]+([^?#]*)', 1)), ''), '/')
    end
{%- endmacro %}

{#- The one rule for "this order counts as revenue": status paid, not a test order. -#}
{% macro is_paid_order(status_column) -%}
    (lower(trim(cast({{ status_column }} as varchar))) = 'paid')
{%- endmacro %}
