-- Raw grade-history rows that broke a rule, with the rule.
with

checked as (
    select * from {{ ref('base_shop__member_grade_history') }}
),

quarantined as (
    select
        quarantine_rule || ':' || row_number() over (
            partition by quarantine_rule
            order by member_id, membership_grade, valid_from_raw, loaded_at
        ) as quarantine_row_id,
        member_id,
        membership_grade,
        valid_from_raw,
        quarantine_rule,
        loaded_at
    from checked
    where quarantine_rule is not null
)

select * from quarantined
