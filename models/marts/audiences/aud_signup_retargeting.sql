-- Action 1 (visitor -> member): retarget visitors who came from keyword search ads and left
-- without signing up, with an ad about the member benefits. One row per person: not a
-- member at the as-of date, at least one keyword_search_ad session, last seen within var
-- retargeting_recency_days of the as-of date. The device to retarget is the last one seen.
-- A person who became a member after the as-of date (only with an as-of date in the past)
-- is left out when that member opted out of marketing or is on the suppression list. Ids
-- only: the device to retarget and, for such a later member, the member id. The holdout is
-- drawn for anon_<device retargeted>: the person as they were at the as-of date, so that a
-- later sign-up does not change the group (rpt_audience_lift measures exactly that sign-up).
with

sessions as (
    select * from {{ ref('fct_sessions') }}
),

persons as (
    select * from {{ ref('dim_persons') }}
),

members as (
    select * from {{ ref('int_members_contactable') }}
),

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

visits_to_date as (
    select sessions.*
    from sessions
    cross join as_of
    where {{ is_by_as_of_date('sessions.session_date', 'as_of.as_of_date') }}
),

visitors as (
    select
        person_id,
        count(*) filter (where channel_group = 'keyword_search_ad') as keyword_ad_sessions,
        max(session_started_at) filter (where channel_group = 'keyword_search_ad')
            as last_keyword_ad_session_at,
        max(session_ended_at) as last_seen_at,
        {{ last_by('anonymous_id', 'session_ended_at', 'anonymous_id') }} as last_anonymous_id,
        bool_or(has_viewed_member_benefits) as has_viewed_member_benefits
    from visits_to_date
    group by person_id
),

eligible as (
    select
        visitors.*,
        persons.member_id,
        as_of.as_of_date
    from visitors
    inner join persons
        on visitors.person_id = persons.person_id
    cross join as_of
    left join members
        on visitors.person_id = members.person_id
    where
        visitors.keyword_ad_sessions > 0
        and (
            persons.signed_up_at is null
            or not {{ is_by_as_of_date('persons.signed_up_at', 'as_of.as_of_date') }}
        )
        and (members.person_id is null or members.can_send_marketing)
        and cast(visitors.last_seen_at as date)
        > {{ subtract_days('as_of.as_of_date', var_integer('retargeting_recency_days')) }}
),

final as (
    select
        cast(person_id as string) as person_id,
        cast(member_id as string) as member_id,
        cast(last_anonymous_id as string) as anonymous_id,
        cast('aud_signup_retargeting' as string) as audience_name,
        cast('member_benefits' as string) as recommended_creative,
        cast(keyword_ad_sessions as bigint) as keyword_ad_sessions,
        cast(has_viewed_member_benefits as boolean) as has_viewed_member_benefits,
        -- the holdout is drawn for the person as the audience saw them at the as-of date: the
        -- anonymous visitor of the device retargeted. person_id becomes mbr_<member> when they
        -- sign up later, and a draw on it would move converters between the groups.
        cast({{ is_in_holdout(
            "'anon_' || last_anonymous_id", 'aud_signup_retargeting', 'as_of_date'
        ) }} as boolean)
            as is_holdout,
        cast(as_of_date as date) as as_of_date,
        cast(last_keyword_ad_session_at as timestamp) as last_keyword_ad_session_at,
        cast(last_seen_at as timestamp) as last_seen_at
    from eligible
)

select * from final
