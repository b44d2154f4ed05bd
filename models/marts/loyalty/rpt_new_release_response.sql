-- Do loyal high spenders respond to new releases more than to price? Paid units of loyal
-- customers (funnel stage loyal) against everyone else: share bought as new releases
-- (within var new_release_days of release) and share bought discounted (below list price or
-- with a coupon), each with a pooled two-proportion z-test of the segment against the
-- other one (units as trials: an approximation when one order holds several units). Every
-- paid line of a known person (int_order_items_paid), whatever the as-of date, as the current
-- funnel stage it is compared with.
with

order_items as (
    select * from {{ ref('int_order_items_paid') }}
),

stages as (
    select * from {{ ref('fct_funnel_stages') }}
),

segmented as (
    select
        case when stages.funnel_stage = 'loyal' then 'loyal' else 'everyone_else' end as segment,
        order_items.quantity,
        order_items.is_new_release,
        order_items.is_discounted
    from order_items
    left join stages
        on order_items.person_id = stages.person_id
    where order_items.person_id is not null
),

segments as (
    select
        segment,
        sum(quantity) as units,
        coalesce(sum(quantity) filter (where is_new_release), 0) as new_release_units,
        coalesce(sum(quantity) filter (where is_discounted), 0) as discounted_units
    from segmented
    group by segment
),

compared as (
    select
        segments.*,
        others.units as other_units,
        others.new_release_units as other_new_release_units,
        others.discounted_units as other_discounted_units
    from segments
    left join segments as others
        on segments.segment <> others.segment
),

tested as (
    select
        *,
        {{ two_proportion_z(
            'new_release_units', 'units', 'other_new_release_units', 'other_units'
        ) }}
            as new_release_z,
        {{ two_proportion_z('discounted_units', 'units', 'other_discounted_units', 'other_units') }}
            as discount_z
    from compared
),

final as (
    select
        cast(segment as string) as segment,
        cast(units as bigint) as units,
        cast(new_release_units as bigint) as new_release_units,
        cast(discounted_units as bigint) as discounted_units,
        cast({{ safe_ratio('new_release_units', 'units') }} as double) as new_release_share,
        cast({{ safe_ratio('discounted_units', 'units') }} as double) as discounted_share,
        cast({{ safe_ratio('other_new_release_units', 'other_units') }} as double)
            as other_new_release_share,
        cast({{ safe_ratio('other_discounted_units', 'other_units') }} as double)
            as other_discounted_share,
        cast(round(new_release_z, 6) as double) as new_release_z_score,
        cast(round({{ normal_two_sided_p_value('new_release_z') }}, 6) as double)
            as new_release_p_value,
        cast(round(discount_z, 6) as double) as discount_z_score,
        cast(round({{ normal_two_sided_p_value('discount_z') }}, 6) as double) as discount_p_value
    from tested
)

select * from final
