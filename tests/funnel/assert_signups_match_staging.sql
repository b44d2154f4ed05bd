-- Sign-ups in fct_signup_conversion equal an independent count from staging: members whose
-- first visit (earliest human hit on any device first tied to them, or carrying their id)
-- falls in the analysis window, who were not members before it, and who signed up within
-- the conversion window. Written without the intermediate models on purpose, so the two
-- paths check each other. Any row returned is a failure.
with

events as (
    select * from {{ ref('stg_shop__events') }}
    where not is_bot
),

members as (
    select * from {{ ref('stg_shop__members') }}
),

analysis_window as (
    select * from {{ ref('int_analysis_window') }}
),

conversion as (
    select * from {{ ref('fct_signup_conversion') }}
),

device_owners as (
    select
        anonymous_id,
        {{ first_by('member_id', 'event_at', 'event_id', 'member_id is not null') }} as member_id
    from events
    group by anonymous_id
),

member_hits as (
    select
        coalesce(events.member_id, device_owners.member_id) as member_id,
        events.event_name,
        events.event_at
    from events
    inner join device_owners
        on events.anonymous_id = device_owners.anonymous_id
    where coalesce(events.member_id, device_owners.member_id) is not null
),

first_visits as (
    select
        member_id,
        min(event_at) as first_visit_at,
        min(event_at) filter (where event_name = 'sign_up') as first_sign_up_hit_at
    from member_hits
    group by member_id
),

-- the sign-up: the members export's, else (a site without one) the first sign_up hit
signups as (
    select
        first_visits.member_id,
        first_visits.first_visit_at,
        coalesce(members.signed_up_at, first_visits.first_sign_up_hit_at) as signed_up_at
    from first_visits
    left join members
        on first_visits.member_id = members.member_id
),

independent as (
    select count(*) as signups
    from signups
    cross join analysis_window
    where
        cast(signups.first_visit_at as date)
        between analysis_window.analysis_start_date and analysis_window.analysis_end_date
        and signups.signed_up_at >= signups.first_visit_at
        and signups.signed_up_at
        <= {{ add_days('signups.first_visit_at', var_integer('signup_conversion_window_days')) }}
),

from_mart as (
    select coalesce(sum(signups), 0) as signups
    from conversion
)

select
    independent.signups as signups_from_staging,
    from_mart.signups as signups_in_fct_signup_conversion
from independent
cross join from_mart
where independent.signups <> from_mart.signups
