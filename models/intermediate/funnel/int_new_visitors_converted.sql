{{ config(materialized='view') }}

-- One row per new visitor: a person whose first visit is the start of their history with the
-- shop and who was not a member yet (signed_up_at null or not before the first visit).
-- The sign-up counts when it falls within var signup_conversion_window_days of the first
-- visit. "Viewed the benefit page" means a member_benefits page view at or before the
-- sign-up (for sign-ups) or within the conversion window (for the others).
-- The single definition behind fct_signup_conversion and rpt_benefit_page_effect.
with

milestones as (
    select * from {{ ref('int_milestones_pivoted_to_persons') }}
),

new_visitors as (
    select
        milestones.person_id,
        milestones.first_touch_channel,
        milestones.first_visit_at,
        milestones.signed_up_at,
        milestones.first_member_benefits_view_at,
        {{ add_days('milestones.first_visit_at', var_integer('signup_conversion_window_days')) }}
            as conversion_deadline_at
    from milestones
    where
        milestones.first_visit_at is not null
        and (
            milestones.signed_up_at is null
            or milestones.signed_up_at >= milestones.first_visit_at
        )
),

final as (
    select
        person_id,
        first_touch_channel,
        coalesce(
            signed_up_at is not null and signed_up_at <= conversion_deadline_at, false
        ) as has_signed_up,
        coalesce(
            first_member_benefits_view_at <= case
                when signed_up_at is not null and signed_up_at <= conversion_deadline_at
                    then signed_up_at
                else conversion_deadline_at
            end,
            false
        ) as has_viewed_member_benefits,
        cast(first_visit_at as date) as first_visit_date,
        first_visit_at,
        signed_up_at,
        conversion_deadline_at
    from new_visitors
)

select * from final
