-- Raw grade-history rows that broke a rule, as sent (text), with the rule.
with

grade_history as (
    select * from {{ ref('base_shop__member_grade_history') }}
),

rejected as (
    select
        {{ raw_text('member_id_raw') }} as member_id,
        {{ raw_text('membership_grade_raw') }} as membership_grade,
        {{ raw_text('valid_from_raw') }} as valid_from,
        {{ raw_text('loaded_at_raw') }} as loaded_at,
        quarantine_rule
    from grade_history
    where quarantine_rule is not null
),

identified as (
    select
        {{ raw_row_id(['member_id', 'membership_grade', 'valid_from', 'loaded_at']) }}
            as quarantine_row_id,
        *,
        {{ quarantined_at() }} as quarantined_at
    from rejected
)

select * from identified
