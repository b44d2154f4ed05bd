-- Grade periods: one row per member and valid_from, with the end of the period (the next
-- change of the member: a window, not a self-join), so the grade at any instant is a
-- range lookup: valid_from <= t < coalesce(valid_to, infinity).
with

history as (
    select * from {{ ref('base_shop__member_grade_history') }}
),

membership_grades as (
    select * from {{ ref('membership_grades') }}
),

periods as (
    select
        {{ composite_key(['member_id', 'valid_from']) }} as grade_period_id,
        member_id,
        membership_grade,
        source_file,
        load_date,
        valid_from,
        lead(valid_from) over (partition by member_id order by valid_from) as valid_to
    from history
    where quarantine_rule is null
),

final as (
    select
        periods.grade_period_id,
        periods.member_id,
        periods.membership_grade,
        membership_grades.grade_rank,
        periods.valid_to is null as is_current,
        periods.source_file,
        periods.load_date,
        periods.valid_from,
        periods.valid_to
    from periods
    left join membership_grades
        on periods.membership_grade = membership_grades.grade_code
)

select * from final
