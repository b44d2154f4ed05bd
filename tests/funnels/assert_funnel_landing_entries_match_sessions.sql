-- An independent count on real output: for every configured funnel whose first step is a
-- landing (is_landing, no other filter, nothing held constant), the persons who entered in
-- each period are the persons with a session (int_sessions_attributed) starting in that
-- period whose first hit has one of the step's event names. Any row returned is a failure.
with

conversion as (
    select * from {{ ref('rpt_funnel_conversion') }}
    where breakdown_type = 'all' and step_number = 1
),

funnel_steps as (
    select * from {{ ref('int_funnel_steps_resolved') }}
),

sessions as (
    select * from {{ ref('int_sessions_attributed') }}
),

events as (
    select * from {{ ref('stg_shop__events') }}
),

landing_funnels as (
    select
        funnel_name,
        period_grain,
        event_names
    from funnel_steps
    where
        step_type = 'step'
        and step_number = 1
        and is_landing
        and hold_constant = 'none'
        and page_types is null
        and channel_groups is null
        and product_categories is null
        and membership_grades is null
        and is_new_release is null
),

landing_persons as (
    select
        landing_funnels.funnel_name,
        {{ funnel_period_start('landing_funnels.period_grain', 'sessions.started_at') }}
            as period_start_date,
        count(distinct sessions.person_id) as persons
    from sessions
    inner join events
        on sessions.first_event_id = events.event_id
    cross join landing_funnels
    where
        {{ dbt.position(
            "';' || events.event_name || ';'",
            "';' || replace(landing_funnels.event_names, ' ', '') || ';'",
        ) }} > 0
    group by 1, 2
),

failures as (
    select
        conversion.funnel_conversion_id,
        conversion.persons_entered,
        landing_persons.persons as persons_with_a_landing
    from conversion
    inner join landing_funnels
        on conversion.funnel_name = landing_funnels.funnel_name
    left join landing_persons
        on
            conversion.funnel_name = landing_persons.funnel_name
            and conversion.period_start_date = landing_persons.period_start_date
    where conversion.persons_entered <> coalesce(landing_persons.persons, 0)
)

select * from failures
