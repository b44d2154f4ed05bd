-- Raw member rows that broke a rule, with the rule: the values as sent where they could not
-- be read or cleaning changed them, else as read (text). Older exports of a member are here
-- with rule `duplicate`. A view over base_shop__members (it holds e-mail and phone: staging
-- is not for BI readers).
with

members as (
    select * from {{ ref('base_shop__members') }}
),

final as (
    select
        quarantine_row_id,
        {{ sent_text('member_id') }} as member_id,
        {{ sent_text('signed_up_at') }} as signed_up_at,
        {{ sent_text('membership_grade') }} as membership_grade,
        {{ sent_text('is_sms_opt_in') }} as sms_opt_in,
        {{ sent_text('is_marketing_opt_in') }} as marketing_opt_in,
        {{ sent_text('email') }} as email,
        {{ sent_text('phone') }} as phone,
        {{ sent_text('updated_at') }} as updated_at,
        {{ sent_text('loaded_at') }} as loaded_at,
        quarantine_rule,
        source_file,
        load_date
    from members
    where quarantine_rule is not null
)

select * from final
