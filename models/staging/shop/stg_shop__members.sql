-- Members: one row per member_id with the latest profile. Opt-ins that cannot be read
-- count as not given (consent is never assumed).
with

members as (
    select * from {{ ref('base_shop__members') }}
),

membership_grades as (
    select * from {{ ref('membership_grades') }}
),

final as (
    select
        members.member_id,
        members.membership_grade,
        membership_grades.grade_rank,
        members.email,
        members.phone,
        coalesce(members.is_sms_opt_in, false) as is_sms_opt_in,
        coalesce(members.is_marketing_opt_in, false) as is_marketing_opt_in,
        members.signed_up_at,
        members.source_file,
        members.load_date,
        members.updated_at,
        members.loaded_at
    from members
    left join membership_grades
        on members.membership_grade = membership_grades.grade_code
    where members.quarantine_rule is null
)

select * from final
