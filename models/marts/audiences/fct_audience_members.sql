-- One row per audience and person, held-out persons included: who is in which audience at
-- its as-of date, with the member id (null for an anonymous visitor). The one place that
-- lists the audience models (dbt needs every ref written out); the registry of audiences is
-- seed audiences, and test assert_audience_registry_matches_models fails when the two
-- disagree. rpt_audience_lift, the audience tests and BI read memberships from here.
{%- set audience_models = [
    'aud_signup_retargeting',
    'aud_first_purchase_coupon',
    'aud_vip_new_release_sms',
] %}

with

{% for audience_model in audience_models %}
{{ audience_model }} as (
    select * from {{ ref(audience_model) }}
),

{% endfor -%}

unioned as (
    {%- for audience_model in audience_models %}
    select
        audience_name,
        person_id,
        member_id,
        is_holdout,
        as_of_date
    from {{ audience_model }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
),

final as (
    select
        cast({{ composite_key(['audience_name', 'person_id']) }} as string) as audience_member_id,
        cast(audience_name as string) as audience_name,
        cast(person_id as string) as person_id,
        cast(member_id as string) as member_id,
        cast(is_holdout as boolean) as is_holdout,
        cast(as_of_date as date) as as_of_date
    from unioned
)

select * from final
