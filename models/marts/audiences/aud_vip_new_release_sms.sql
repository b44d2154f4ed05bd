-- Action 3 (repeat buyer -> loyal): text top customers first when a new product launches.
-- Loyal members (loyal by the as-of date) who allow SMS (suppression list applied), ranked
-- by new-release affinity: the share of their paid units, up to the as-of date, bought as
-- new releases. Optionally for one category (var vip_sms_category) or one release (var
-- vip_sms_release_product_id: affinity within that product's category, and members who
-- already bought it are left out). Ids only: the export command looks the phone number up
-- in staging and writes it to a restricted file.
{#- vars become SQL string literals only (typed accessors, macros/config/vars.sql) -#}
{%- set category = checked_var('vip_sms_category') %}
{%- set release = checked_var('vip_sms_release_product_id') %}
{#- the category the affinity is measured on; an unknown release fails the build -#}
{%- set focus_category = "cast(null as string)" %}
{%- if release %}
{%- set focus_category = "coalesce(max(release_products.category), " ~ raise_error(
    "var vip_sms_release_product_id: product " ~ release ~ " is not in the catalogue") ~ ")" %}
{%- elif category %}
{%- set focus_category = "lower(" ~ var_text('vip_sms_category') ~ ")" %}
{%- endif %}

with

members as (
    select * from {{ ref('int_members_contactable') }}
),

stages as (
    select * from {{ ref('fct_funnel_stages') }}
),

order_items as (
    select * from {{ ref('int_order_items_paid') }}
),

products as (
    select * from {{ ref('int_products_priced') }}
),

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

release_products as (
    select
        product_id,
        category
    from products
    where {{ "product_id = " ~ var_text('vip_sms_release_product_id') if release else 'false' }}
),

focus as (
    -- one row: the category the affinity is measured on (null = every category) and the
    -- release (an aggregate without group by gives one row, even with no release)
    select
        {{ focus_category }} as category,
        max(release_products.product_id) as release_product_id
    from release_products
),

paid_lines as (
    select * from order_items
    where is_by_as_of_date
),

purchases as (
    select
        paid_lines.person_id,
        sum(paid_lines.quantity) as units,
        coalesce(sum(paid_lines.quantity) filter (where paid_lines.is_new_release), 0)
            as new_release_units
    from paid_lines
    cross join focus
    where focus.category is null or paid_lines.category = focus.category
    group by paid_lines.person_id
),

release_buyers as (
    select distinct paid_lines.person_id
    from paid_lines
    inner join focus
        on paid_lines.product_id = focus.release_product_id
),

eligible as (
    select
        members.person_id,
        members.member_id,
        members.membership_grade,
        focus.category as category_filter,
        focus.release_product_id,
        coalesce(purchases.units, 0) as units,
        coalesce(purchases.new_release_units, 0) as new_release_units,
        as_of.as_of_date
    from members
    inner join stages
        on members.person_id = stages.person_id
    cross join as_of
    cross join focus
    left join purchases
        on members.person_id = purchases.person_id
    left join release_buyers
        on members.person_id = release_buyers.person_id
    where
        stages.funnel_stage = 'loyal'
        and {{ is_by_as_of_date('stages.loyal_entered_at', 'as_of.as_of_date') }}
        and members.can_send_sms
        and release_buyers.person_id is null
),

ranked as (
    select
        *,
        coalesce({{ safe_ratio('new_release_units', 'units') }}, 0) as new_release_affinity
    from eligible
),

final as (
    select
        cast(person_id as string) as person_id,
        cast(member_id as string) as member_id,
        cast('aud_vip_new_release_sms' as string) as audience_name,
        cast(membership_grade as string) as membership_grade,
        cast(category_filter as string) as category_filter,
        cast(release_product_id as string) as release_product_id,
        cast(row_number() over (
            order by new_release_affinity desc, new_release_units desc, person_id asc
        ) as bigint) as affinity_rank,
        cast(units as bigint) as units,
        cast(new_release_units as bigint) as new_release_units,
        cast(new_release_affinity as double) as new_release_affinity,
        cast({{ is_in_holdout('person_id', 'aud_vip_new_release_sms', 'as_of_date') }} as boolean)
            as is_holdout,
        cast(as_of_date as date) as as_of_date
    from ranked
)

select * from final
