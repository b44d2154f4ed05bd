-- One row per person (human visitor or member) with the moments that move them along the
-- funnel. The single place where visits, sign-up and paid orders meet per person.
--   first visit: first human hit of any of the person's devices;
--   signed up: members.signed_up_at (else the first sign_up hit);
--   first / second paid order: paid_order_sequence 1 / 2;
--   loyal: the first paid order at which the person has at least 2 paid orders and, within
--     the trailing var loyal_window_days, at least var loyal_min_paid_orders paid orders or
--     var loyal_min_spend of paid spend; or the start of a grade of rank at least
--     var loyal_min_grade_rank, if earlier (and the person has 2 paid orders by then).
with

sessionized as (
    select * from {{ ref('int_events_sessionized') }}
),

events as (
    select * from {{ ref('stg_shop__events') }}
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

visits as (
    select
        sessionized.person_id,
        min(sessionized.event_at) as first_visit_at,
        max(sessionized.event_at) as last_visit_at,
        min(sessionized.event_at) filter (where events.event_name = 'sign_up') as first_sign_up_hit_at,
        min(sessionized.event_at) filter (where events.page_type = 'member_benefits')
            as first_member_benefits_view_at,
        arg_min({{ session_channel('events.channel_group') }}, sessionized.event_at)
        filter (where sessionized.is_session_start) as first_touch_channel,
        arg_max({{ session_channel('events.channel_group') }}, sessionized.event_at)
        filter (where sessionized.is_session_start) as last_touch_channel
    from sessionized
    inner join events
        on sessionized.event_id = events.event_id
    group by sessionized.person_id
),

persons as (
    select person_id from visits
    union
    select {{ person_id('member_id', 'null') }} from members
),

paid_orders as (
    select
        person_id,
        paid_order_sequence,
        ordered_at,
        count(*) over (
            partition by person_id order by ordered_at
            range between interval '{{ var("loyal_window_days") }} days' preceding and current row
        ) as trailing_paid_orders,
        sum(order_total) over (
            partition by person_id order by ordered_at
            range between interval '{{ var("loyal_window_days") }} days' preceding and current row
        ) as trailing_paid_spend
    from orders
    where paid_order_sequence is not null
),

order_milestones as (
    select
        person_id,
        count(*) as paid_order_count,
        min(ordered_at) filter (where paid_order_sequence = 1) as first_paid_order_at,
        min(ordered_at) filter (where paid_order_sequence = 2) as second_paid_order_at,
        max(ordered_at) as last_paid_order_at,
        min(ordered_at) filter (
            where paid_order_sequence >= 2
            and (
                trailing_paid_orders >= {{ var('loyal_min_paid_orders') }}
                or trailing_paid_spend >= {{ var('loyal_min_spend') }}
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
    where grade_rank >= {{ var('loyal_min_grade_rank') }}
    group by member_id
),

final as (
    select
        persons.person_id,
        case when persons.person_id like 'mbr\_%' escape '\' then substr(persons.person_id, 5) end
            as member_id,
        visits.first_touch_channel,
        visits.last_touch_channel,
        visits.first_visit_at,
        visits.last_visit_at,
        coalesce(members.signed_up_at, visits.first_sign_up_hit_at) as signed_up_at,
        visits.first_member_benefits_view_at,
        coalesce(order_milestones.paid_order_count, 0) as paid_order_count,
        order_milestones.first_paid_order_at,
        order_milestones.second_paid_order_at,
        order_milestones.last_paid_order_at,
        least(
            order_milestones.loyal_by_orders_at,
            -- (least/greatest skip nulls in DuckDB: guard both sides explicitly)
            case
                when
                    order_milestones.second_paid_order_at is not null
                    and top_grades.top_grade_at is not null
                    then greatest(top_grades.top_grade_at, order_milestones.second_paid_order_at)
            end
        ) as loyal_at
    from persons
    left join visits
        on persons.person_id = visits.person_id
    left join members
        on persons.person_id = {{ person_id('members.member_id', 'null') }}
    left join order_milestones
        on persons.person_id = order_milestones.person_id
    left join top_grades
        on persons.person_id = top_grades.person_id
)

select * from final
