-- Raw grade-history rows that broke a rule, with the rule: the values as sent where they
-- could not be read or cleaning changed them, else as read (text). A view over
-- base_shop__member_grade_history.
with

member_grade_history as (
    select * from {{ ref('base_shop__member_grade_history') }}
),

final as (
    select
        quarantine_row_id,
        {{ sent_text('member_id') }} as member_id,
        {{ sent_text('membership_grade') }} as membership_grade,
        {{ sent_text('valid_from') }} as valid_from,
        {{ sent_text('loaded_at') }} as loaded_at,
        quarantine_rule,
        source_file,
        load_date
    from member_grade_history
    where quarantine_rule is not null
)

select * from final
