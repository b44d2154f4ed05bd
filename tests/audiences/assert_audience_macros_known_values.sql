-- Known answers for the audience rules (macros/audiences/); any row returned is a failure.
-- Normalisation and hashing: differently written e-mails and phones give their normal form,
-- typed here by hand, and the SHA-256 of a normal form is the hex digest computed by hand with
-- Python's hashlib (no salt: the hash the ad platforms and the suppression list use). The
-- as-of cut-off: the end of the as-of day. Holdout: the share over 20,000 persons is within
-- 0.01 of var holdout_share, whatever the var (the draws of single persons are checked with
-- the seed pinned in unit test coupon_audience_holdout_by_hand).
with

cases as (
    select *
    from (
        select
            'email_trimmed_lower_cased' as case_name,
            {{ normalized_email("'  A@Example.COM '") }} as computed,
            'a@example.com' as expected
        union all
        select
            'email_empty' as case_name,
            coalesce({{ normalized_email("'  '") }}, '<null>') as computed,
            '<null>' as expected
        union all
        select
            'email_null' as case_name,
            coalesce({{ normalized_email('null') }}, '<null>') as computed,
            '<null>' as expected
        union all
        select
            'e164_dashes' as case_name,
            {{ normalized_phone("'010-1234-5678'") }} as computed,
            '+821012345678' as expected
        union all
        select
            'e164_digits' as case_name,
            {{ normalized_phone("'01012345678'") }} as computed,
            '+821012345678' as expected
        union all
        select
            'e164_country_code' as case_name,
            {{ normalized_phone("'+82 10 1234 5678'") }} as computed,
            '+821012345678' as expected
        union all
        select
            'e164_country_code_and_zero' as case_name,
            {{ normalized_phone("'+82 (0)10-1234-5678'") }} as computed,
            '+821012345678' as expected
        union all
        select
            'e164_digits_with_country_code' as case_name,
            {{ normalized_phone("'821012345678'") }} as computed,
            '+821012345678' as expected
        union all
        select
            'e164_none' as case_name,
            coalesce({{ normalized_phone("'n/a'") }}, '<null>') as computed,
            '<null>' as expected
        union all
        select
            'sha256_of_normalised_email' as case_name,
            {{ sha256_hex(normalized_email("' A@Example.com'")) }} as computed,
            '08168cd80dfd534ab0f10af10f1303fe00af2d43ab5c1432360d137f8197e17a' as expected
        union all
        select
            'sha256_of_e164_phone' as case_name,
            {{ sha256_hex(normalized_phone("'010-1234-5678'")) }} as computed,
            '2efdd01fdf56e3f07de56acd9d40beb256d5983aec5f6d597c2c48354f35f9e0' as expected
        union all
        select
            'sha256_of_null' as case_name,
            coalesce({{ sha256_hex('null') }}, '<null>') as computed,
            '<null>' as expected
        union all
        select
            'by_as_of_date_last_minute' as case_name,
            cast({{ is_by_as_of_date(
                "timestamp '2026-03-31 23:59:59'", "date '2026-03-31'"
            ) }} as string) as computed,
            'true' as expected
        union all
        select
            'by_as_of_date_next_day' as case_name,
            cast({{ is_by_as_of_date(
                "timestamp '2026-04-01 00:00:00'", "date '2026-03-31'"
            ) }} as string) as computed,
            'false' as expected
    ) as known
),

draws as (
    {{ integer_series(0, 19999, 'draw') }}
),

holdout_share as (
    select
        'holdout_share_near_var' as case_name,
        cast(avg(
            case
                when {{ is_in_holdout(
                    "'anon_' || cast(draw as string)", 'aud_signup_retargeting', "date '2026-03-02'"
                ) }}
                    then 1.0
                else 0.0
            end
        ) as string) as computed,
        -- 20,000 draws: the share is within 0.01 of var holdout_share (about 4.7 sigma)
        cast({{ var('holdout_share') }} as string) as expected
    from draws
),

failures as (
    select * from cases
    where computed is distinct from expected
    union all
    select * from holdout_share
    where abs(cast(computed as double) - cast(expected as double)) > 0.01
)

select * from failures
