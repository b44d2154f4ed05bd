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
        values
        ('email_trimmed_lower_cased', {{ normalized_email("'  A@Example.COM '") }}, 'a@example.com'),
        ('email_empty', coalesce({{ normalized_email("'  '") }}, '<null>'), '<null>'),
        ('email_null', coalesce({{ normalized_email('null') }}, '<null>'), '<null>'),
        ('e164_dashes', {{ normalized_phone("'010-1234-5678'") }}, '+821012345678'),
        ('e164_digits', {{ normalized_phone("'01012345678'") }}, '+821012345678'),
        ('e164_country_code', {{ normalized_phone("'+82 10 1234 5678'") }}, '+821012345678'),
        ('e164_country_code_and_zero', {{ normalized_phone("'+82 (0)10-1234-5678'") }}, '+821012345678'),
        ('e164_digits_with_country_code', {{ normalized_phone("'821012345678'") }}, '+821012345678'),
        ('e164_none', coalesce({{ normalized_phone("'n/a'") }}, '<null>'), '<null>'),
        (
            'sha256_of_normalised_email',
            {{ sha256_hex(normalized_email("' A@Example.com'")) }},
            '08168cd80dfd534ab0f10af10f1303fe00af2d43ab5c1432360d137f8197e17a'
        ),
        (
            'sha256_of_e164_phone',
            {{ sha256_hex(normalized_phone("'010-1234-5678'")) }},
            '2efdd01fdf56e3f07de56acd9d40beb256d5983aec5f6d597c2c48354f35f9e0'
        ),
        ('sha256_of_null', coalesce({{ sha256_hex('null') }}, '<null>'), '<null>'),
        (
            'by_as_of_date_last_minute',
            {{ is_by_as_of_date("timestamp '2026-03-31 23:59:59'", "date '2026-03-31'") }}::varchar,
            'true'
        ),
        (
            'by_as_of_date_next_day',
            {{ is_by_as_of_date("timestamp '2026-04-01 00:00:00'", "date '2026-03-31'") }}::varchar,
            'false'
        )
    ) as known (case_name, computed, expected)
),

holdout_share as (
    select
        'holdout_share_near_var' as case_name,
        avg(
            case
                when {{ is_in_holdout("'anon_' || range", 'aud_signup_retargeting', "date '2026-03-02'") }}
                    then 1.0
                else 0.0
            end
        )::varchar as computed,
        -- 20,000 draws: the share is within 0.01 of var holdout_share (about 4.7 sigma)
        {{ var('holdout_share') }}::varchar as expected
    from range(20000)
),

failures as (
    select * from cases
    where computed is distinct from expected
    union all
    select * from holdout_share
    where abs(computed::double - expected::double) > 0.01
)

select * from failures
