-- Every raw member row ever read, typed, with `quarantine_rule` (the first rule it breaks;
-- null when clean). Among the clean rows of one member_id the latest profile (updated_at,
-- then loaded_at, then the whole row) is kept; older exports are `duplicate`.
-- Incremental like every base model (docs block incremental_runs): a run types and checks its
-- batch of new files, brings back the stored rows of the keys the batch touches, ranks them
-- together and replaces those keys; a full refresh reads every file, with the same result.
{{
    config(
        materialized='incremental',
        unique_key='member_id',
        incremental_strategy='delete+insert',
        pre_hook="{{ delete_batch_rows('members') }}",
    )
}}

with

batch as (
    select * from {{ ref('base_shop__members_batch') }}
),

typed as (
    select
        {{ clean_text('member_id') }} as member_id,
        upper({{ clean_text('membership_grade') }}) as membership_grade,
        {{ clean_text('email') }} as email,
        {{ clean_text('phone') }} as phone,
        {{ to_boolean('sms_opt_in') }} as is_sms_opt_in,
        {{ to_boolean('marketing_opt_in') }} as is_marketing_opt_in,
        {{ to_utc_timestamp('signed_up_at') }} as signed_up_at,
        {{ to_utc_timestamp('updated_at') }} as updated_at,
        {{ to_utc_timestamp('loaded_at') }} as loaded_at,
        {{ text_if_cleaned('member_id', clean_text('member_id')) }}
            as member_id_raw,
        {{ text_if_cleaned('membership_grade', 'upper(' ~ clean_text('membership_grade') ~ ')') }}
            as membership_grade_raw,
        {{ text_if_cleaned('email', clean_text('email')) }}
            as email_raw,
        {{ text_if_cleaned('phone', clean_text('phone')) }}
            as phone_raw,
        {{ text_if_unreadable('sms_opt_in', to_boolean('sms_opt_in')) }}
            as is_sms_opt_in_raw,
        {{ text_if_unreadable('marketing_opt_in', to_boolean('marketing_opt_in')) }}
            as is_marketing_opt_in_raw,
        {{ text_if_unreadable('signed_up_at', to_utc_timestamp('signed_up_at')) }}
            as signed_up_at_raw,
        {{ text_if_unreadable('updated_at', to_utc_timestamp('updated_at')) }}
            as updated_at_raw,
        {{ text_if_unreadable('loaded_at', to_utc_timestamp('loaded_at')) }}
            as loaded_at_raw,
        source_file,
        load_date as file_load_date
    from batch
),

hashed as (
    select
        * exclude (file_load_date),
        coalesce(file_load_date, cast(loaded_at as date)) as load_date,
        hash(member_id, membership_grade, email, phone, is_sms_opt_in, is_marketing_opt_in, signed_up_at, updated_at, loaded_at) as row_hash
    from typed
),

checked as (
    select
        *,
        case
            when member_id is null then 'missing_member_id'
            when not {{ is_valid_id('member_id') }} then 'malformed_member_id'
            when signed_up_at is null then 'invalid_signed_up_at'
            when loaded_at is null then 'invalid_loaded_at'
            when {{ is_implausible_timestamp('signed_up_at') }} then 'implausible_signed_up_at'
            when {{ is_implausible_timestamp('loaded_at') }} then 'implausible_loaded_at'
        end as row_rule
    from hashed
),

{% if is_incremental() -%}
batch_keys as (
    select distinct member_id
    from checked
),

stored as (
    select
        stored_rows.member_id,
        stored_rows.membership_grade,
        stored_rows.email,
        stored_rows.phone,
        stored_rows.is_sms_opt_in,
        stored_rows.is_marketing_opt_in,
        stored_rows.signed_up_at,
        stored_rows.updated_at,
        stored_rows.loaded_at,
        stored_rows.member_id_raw,
        stored_rows.membership_grade_raw,
        stored_rows.email_raw,
        stored_rows.phone_raw,
        stored_rows.is_sms_opt_in_raw,
        stored_rows.is_marketing_opt_in_raw,
        stored_rows.signed_up_at_raw,
        stored_rows.updated_at_raw,
        stored_rows.loaded_at_raw,
        stored_rows.source_file,
        stored_rows.load_date,
        stored_rows.row_hash,
        stored_rows.row_rule
    from {{ this }} as stored_rows
    inner join batch_keys
        on stored_rows.member_id = batch_keys.member_id
),
{%- endif %}

candidates as (
    select * from checked
    {% if is_incremental() -%}
    union all by name
    select * from stored
    {%- endif %}
),

ranked as (
    select
        *,
        {{ version_rank('member_id', 'updated_at desc nulls last, loaded_at desc') }} as version_rank
    from candidates
),

verdicts as (
    select
        * exclude (version_rank),
        coalesce(row_rule, case when version_rank > 1 then 'duplicate' end) as quarantine_rule
    from ranked
),

final as (
    select
        member_id,
        membership_grade,
        email,
        phone,
        is_sms_opt_in,
        is_marketing_opt_in,
        signed_up_at,
        updated_at,
        member_id_raw,
        membership_grade_raw,
        email_raw,
        phone_raw,
        is_sms_opt_in_raw,
        is_marketing_opt_in_raw,
        signed_up_at_raw,
        updated_at_raw,
        loaded_at_raw,
        row_rule,
        quarantine_rule,
        case
            when quarantine_rule is not null
                then {{ quarantine_row_id(['member_id_raw', 'membership_grade_raw', 'email_raw', 'phone_raw', 'is_sms_opt_in_raw', 'is_marketing_opt_in_raw', 'signed_up_at_raw', 'updated_at_raw', 'loaded_at_raw']) }}
        end as quarantine_row_id,
        row_hash,
        source_file,
        load_date,
        loaded_at
    from verdicts
)

select * from final
