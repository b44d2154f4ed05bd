-- Raw member rows that broke a rule, with the rule (older exports: `duplicate`).
with

checked as (
    select * from {{ ref('base_shop__members') }}
),

quarantined as (
    select
        quarantine_rule || ':' || row_number() over (
            partition by quarantine_rule
            order by member_id, membership_grade, sms_opt_in_raw, marketing_opt_in_raw, signed_up_at_raw, updated_at_raw, loaded_at
        ) as quarantine_row_id,
        member_id,
        membership_grade,
        sms_opt_in_raw,
        marketing_opt_in_raw,
        signed_up_at_raw,
        updated_at_raw,
        quarantine_rule,
        loaded_at
    from checked
    where quarantine_rule is not null
)

select * from quarantined
