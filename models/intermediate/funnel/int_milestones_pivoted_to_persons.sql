-- One row per person (human visitor or member) with the moments that move them along the
-- funnel: the single place where sessions, sign-up and paid orders meet per person.
--   first visit: the start of the person's first session;
--   signed up: members.signed_up_at (else the first sign_up hit);
--   first / second paid order: paid_order_sequence 1 / 2;
--   loyal: the rule is written once, in the docs block loyal_rule.
-- Incremental (docs block incremental_runs): a run recomputes exactly the persons it touched
-- (int_persons_touched_by_run); a person who no longer exists (an anonymous device that has
-- logged in) is deleted and not inserted again.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        spark_partition_key='person_id',
        on_schema_change='fail',
        pre_hook="{{ delete_touched('person_id', 'int_persons_touched_by_run') }}",
    )
}}

with

sessions as (
    select * from {{ ref('int_sessions_attributed') }}
),

devices as (
    select * from {{ ref('int_devices_stitched') }}
),

members as (
    select * from {{ ref('stg_shop__members') }}
),

orders as (
    select * from {{ ref('int_orders_attributed') }}
),

grade_history as (
    select * from {{ ref('stg_shop__member_grade_history') }}
),

-- read on incremental runs only
touched_persons as (  -- noqa: ST03
    select * from {{ ref('int_persons_touched_by_run') }}
),

member_persons as (
    select
        {{ person_id('member_id', 'null') }} as person_id,
        member_id,
        signed_up_at
    from members
),

visits as (
    select
        sessions.person_id,
        max(sessions.member_id) as member_id,
        count(*) as session_count,
        min(sessions.started_at) as first_visit_at,
        max(sessions.ended_at) as last_visit_at,
        min(sessions.first_sign_up_hit_at) as first_sign_up_hit_at,
        min(sessions.first_member_benefits_view_at) as first_member_benefits_view_at,
        {{ first_by('sessions.channel_group', 'sessions.started_at', 'sessions.session_id') }}
            as first_touch_channel,
        {{ last_by('sessions.channel_group', 'sessions.started_at', 'sessions.session_id') }}
            as last_touch_channel
    from sessions
    {%- if reads_touched_only() %}
    inner join touched_persons
        on sessions.person_id = touched_persons.person_id
    {%- endif %}
    group by sessions.person_id
),

device_counts as (
    select
        person_id,
        count(*) as anonymous_id_count
    from devices
    where person_id is not null
    group by person_id
),

persons as (
    select person_id from visits
    union
    select member_persons.person_id
    from member_persons
    {%- if reads_touched_only() %}
    inner join touched_persons
        on member_persons.person_id = touched_persons.person_id
    {%- endif %}
),

paid_orders as (
    select
        person_id,
        paid_order_sequence,
        order_total,
        ordered_at,
        count(*) over (
            partition by person_id order by ordered_at
            range between interval '{{ var_integer("loyal_window_days") }} days' preceding
            and current row
        ) as trailing_paid_orders,
        sum(order_total) over (
            partition by person_id order by ordered_at
            range between interval '{{ var_integer("loyal_window_days") }} days' preceding
            and current row
        ) as trailing_paid_spend
    from orders
    where paid_order_sequence is not null
),

order_milestones as (
    select
        person_id,
        count(*) as paid_order_count,
        sum(order_total) as paid_order_total,
        min(ordered_at) filter (where paid_order_sequence = 1) as first_order_at,
        min(ordered_at) filter (where paid_order_sequence = 2) as second_order_at,
        max(ordered_at) as last_order_at,
        min(ordered_at) filter (
            where paid_order_sequence >= 2
            and (
                trailing_paid_orders >= {{ var_integer('loyal_min_paid_orders') }}
                or trailing_paid_spend >= {{ var_number('loyal_min_spend') }}
            )
        ) as loyal_by_orders_at
    from paid_orders
    group by person_id
),

top_grades as (
    select
        {{ person_id('member_id', 'null') }} as person_id,
        min(valid_from) as top_grade_at
    from grade_history
    where grade_rank >= {{ var_integer('loyal_min_grade_rank') }}
    group by member_id
),

final as (
    select
        persons.person_id,
        coalesce(member_persons.member_id, visits.member_id) as member_id,
        visits.first_touch_channel,
        visits.last_touch_channel,
        coalesce(visits.session_count, 0) as session_count,
        coalesce(device_counts.anonymous_id_count, 0) as anonymous_id_count,
        coalesce(order_milestones.paid_order_count, 0) as paid_order_count,
        coalesce(order_milestones.paid_order_total, 0) as paid_order_total,
        visits.first_visit_at,
        visits.last_visit_at,
        coalesce(member_persons.signed_up_at, visits.first_sign_up_hit_at) as signed_up_at,
        visits.first_member_benefits_view_at,
        order_milestones.first_order_at,
        order_milestones.second_order_at,
        order_milestones.last_order_at,
        least(
            order_milestones.loyal_by_orders_at,
            -- (least/greatest skip nulls in DuckDB: guard both sides explicitly)
            case
                when
                    order_milestones.second_order_at is not null
                    and top_grades.top_grade_at is not null
                    then greatest(top_grades.top_grade_at, order_milestones.second_order_at)
            end
        ) as loyal_at
    from persons
    left join visits
        on persons.person_id = visits.person_id
    left join member_persons
        on persons.person_id = member_persons.person_id
    left join order_milestones
        on persons.person_id = order_milestones.person_id
    left join top_grades
        on persons.person_id = top_grades.person_id
    left join device_counts
        on persons.person_id = device_counts.person_id
)

select * from final
