-- On real output of rpt_funnel_conversion: in every funnel, period and breakdown value,
-- step 1's persons are the persons entered, no step has more persons than the required step
-- it converts from, and a required step never has more persons than any required step
-- before it (journeys only move forward). Any row returned is a failure.
with

conversion as (
    select * from {{ ref('rpt_funnel_conversion') }}
),

failures as (
    select
        funnel_conversion_id,
        'step 1 persons differ from persons entered' as broken_rule
    from conversion
    where step_number = 1 and persons <> persons_entered

    union all
    select
        funnel_conversion_id,
        'more persons than the step it converts from' as broken_rule
    from conversion
    where previous_step_persons is not null and persons > previous_step_persons

    union all
    select
        later_steps.funnel_conversion_id,
        'a required step has more persons than an earlier required step' as broken_rule
    from conversion as later_steps
    inner join conversion as earlier_steps
        on
            later_steps.funnel_name = earlier_steps.funnel_name
            and later_steps.period_start_date = earlier_steps.period_start_date
            and later_steps.breakdown_type = earlier_steps.breakdown_type
            and later_steps.breakdown_value = earlier_steps.breakdown_value
            and later_steps.step_number > earlier_steps.step_number
    where
        not later_steps.is_optional
        and not earlier_steps.is_optional
        and later_steps.persons > earlier_steps.persons
)

select * from failures
