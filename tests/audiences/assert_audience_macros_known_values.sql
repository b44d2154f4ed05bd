-- Known answers for the audience rules (macros/audiences/); any row returned is a failure.
-- Hashing: whatever the salt (env var SHOPFUNNEL_HASH_SALT), differently written e-mails
-- and phones hash like their normal form, typed here by hand. Holdout: persons computed by
-- hand with Python's hashlib for the default seed and share, the same person in another
-- audience or on another day, and about 10% of 20,000 persons.
{%- set salt = env_var('SHOPFUNNEL_HASH_SALT', 'shopfunnel-dev-salt') %}
{%- set is_default_holdout = var('holdout_seed') == 20261124 and var('holdout_share') == 0.10 %}

with

cases as (
    select *
    from (
        values
        (
            'email_trimmed_lower_cased',
            {{ hashed_email("'  A@Example.COM '") }},
            sha256('{{ salt }}' || 'a@example.com')
        ),
        ('email_empty', coalesce({{ hashed_email("'  '") }}, '<null>'), '<null>'),
        ('email_null', coalesce({{ hashed_email('null') }}, '<null>'), '<null>'),
        (
            'phone_dashes',
            {{ hashed_phone("'010-1234-5678'") }},
            sha256('{{ salt }}' || '+821012345678')
        ),
        (
            'phone_digits',
            {{ hashed_phone("'01012345678'") }},
            sha256('{{ salt }}' || '+821012345678')
        ),
        (
            'phone_country_code',
            {{ hashed_phone("'+82 10 1234 5678'") }},
            sha256('{{ salt }}' || '+821012345678')
        ),
        ('phone_empty', coalesce({{ hashed_phone("'--'") }}, '<null>'), '<null>'),
        ('e164_dashes', {{ normalized_phone("'010-1234-5678'") }}, '+821012345678'),
        ('e164_country_code_and_zero', {{ normalized_phone("'+82 (0)10-1234-5678'") }}, '+821012345678'),
        ('e164_digits', {{ normalized_phone("'821012345678'") }}, '+821012345678'),
        ('e164_none', coalesce({{ normalized_phone("'n/a'") }}, '<null>'), '<null>'),
        (
            'dev_salt_by_hand',
            {{ hashed_email("'a@example.com'") }},
            {% if salt == 'shopfunnel-dev-salt' -%}
            'f57a51fc23efd5009c083a573b19f8f48000c4c78eff31b2e04679038e198d9c'
            {%- else -%}
                {{ hashed_email("'a@example.com'") }}
            {%- endif %}
        )
    ) as known (case_name, computed, expected)
),

holdout_cases as (
    select *
    from (
        values
        ('mbr_M00000008', 'aud_vip_new_release_sms', date '2026-03-02', true),
        ('mbr_M00000020', 'aud_vip_new_release_sms', date '2026-03-02', true),
        ('mbr_M00000026', 'aud_vip_new_release_sms', date '2026-03-02', true),
        ('mbr_M00000008', 'aud_vip_new_release_sms', date '2026-03-03', false),
        ('mbr_M00000008', 'aud_first_purchase_coupon', date '2026-03-02', false),
        ('anon_abc', 'aud_first_purchase_coupon', date '2026-03-02', false)
    ) as known (person_id, audience_name, as_of_date, expected)
),

holdout_checked as (
    select
        'holdout_' || person_id || '_' || audience_name || '_' || as_of_date as case_name,
        (case audience_name
            when 'aud_vip_new_release_sms'
                then {{ is_in_holdout('person_id', 'aud_vip_new_release_sms', 'as_of_date') }}
            else {{ is_in_holdout('person_id', 'aud_first_purchase_coupon', 'as_of_date') }}
        end)::varchar as computed,
        expected::varchar as expected
    from holdout_cases
    where {{ 'true' if is_default_holdout else 'false' }}
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
    select * from holdout_checked
    where computed is distinct from expected
    union all
    select * from holdout_share
    where abs(computed::double - expected::double) > 0.01
)

select * from failures
