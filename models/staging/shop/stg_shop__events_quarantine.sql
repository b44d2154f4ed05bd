-- Raw event rows that broke a rule, with the rule; duplicates included (rule `duplicate`).
with

checked as (
    select * from {{ ref('base_shop__events') }}
),

quarantined as (
    select
        quarantine_rule || ':' || row_number() over (
            partition by quarantine_rule
            order by event_id, anonymous_id, member_id, event_name, page_url, user_agent, event_at_raw, loaded_at_raw, loaded_at
        ) as quarantine_row_id,
        event_id,
        anonymous_id,
        member_id,
        event_name,
        page_url,
        user_agent,
        event_at_raw,
        loaded_at_raw,
        quarantine_rule,
        loaded_at
    from checked
    where quarantine_rule is not null
)

select * from quarantined
