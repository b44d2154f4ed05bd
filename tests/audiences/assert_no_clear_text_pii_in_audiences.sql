-- No clear-text e-mail or phone in any audience: no text column of an audience holds an
-- '@', a value shaped like a phone number, or a member's e-mail or phone as stored. Hash columns
-- are 64 hex characters. Any row returned is a failure.
{%- set audiences = ['aud_signup_retargeting', 'aud_first_purchase_coupon', 'aud_vip_new_release_sms'] %}

with

members as (
    select * from {{ ref('stg_shop__members') }}
),

{% for audience in audiences %}
{{ audience }}_text as (
    select
        '{{ audience }}' as audience_name,
        person_id,
        unnest(map_values(map_from_entries([
            {%- for column in adapter.get_columns_in_relation(ref(audience)) if column.is_string() %}
            ('{{ column.name }}', cast({{ column.name }} as varchar)){{ ',' if not loop.last }}
            {%- endfor %}
        ]))) as text_value
    from {{ ref(audience) }}
),
{% endfor %}

all_text as (
    {%- for audience in audiences %}
    select * from {{ audience }}_text
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

violations as (
    select all_text.*
    from all_text
    where
        all_text.text_value like '%@%'
        or regexp_full_match(
            trim(all_text.text_value), '[+]?(82)?[- ]?0?1[0-9][- ]?[0-9]{3,4}[- ]?[0-9]{4}'
        )
        or all_text.text_value in (select lower(trim(email)) from members)
        or all_text.text_value in (select phone from members)
)

select * from violations
