-- One row per human event and funnel step (or exclusion) it matches (docs block
-- funnel_step_filters): the event name, then every filter of the step, with the person and
-- session of the event (int_events_sessionized), the person's grade at the moment of the hit
-- (grade history: valid_from <= hit < valid_to) and the funnel's settings carried on each
-- row, so the journey model reads nothing else. Hits of a product-held funnel without a
-- product cannot hold the product constant and are left out (exclusions are never held).
-- For strict funnels each hit also gets the person's previous instant with any event, the
-- one thing the strict rule needs from events that match no step.
-- A table rebuilt by every run (docs block funnel_materialization): one pass over the
-- sessionized events (int_events_sessionized carries the event's attributes, so no join of
-- events with sessions here), the filters on the event itself before any join, equi-joins
-- only.
{%- set max_event_names = checked_var('funnel_max_event_names') %}
with

funnel_steps as (
    select * from {{ ref('int_funnel_steps_resolved') }}
),

sessionized as (
    select * from {{ ref('int_events_sessionized') }}
),

products as (
    select * from {{ ref('stg_shop__products') }}
),

grade_history as (
    select * from {{ ref('stg_shop__member_grade_history') }}
),

-- one row per step and each event name it lists (event_name a;b;c)
step_event_names as (
    {%- for part in range(1, max_event_names + 1) %}
    select
        funnel_step_id,
        lower(trim({{ dbt.split_part('event_names', "';'", part) }})) as event_name
    from funnel_steps
    {{ 'union all' if not loop.last }}
    {%- endfor %}
),

-- the hits of each step's event names that pass the step's filters on the event itself
named_hits as (
    select
        funnel_steps.funnel_step_id,
        sessionized.event_id,
        sessionized.session_id,
        sessionized.person_id,
        sessionized.is_session_start,
        sessionized.product_id,
        sessionized.event_at
    from sessionized
    inner join step_event_names
        on sessionized.event_name = step_event_names.event_name
    inner join funnel_steps
        on step_event_names.funnel_step_id = funnel_steps.funnel_step_id
    where
        {{ funnel_list_matches('sessionized.page_type', 'funnel_steps.page_types') }}
        and {{ funnel_list_matches('sessionized.channel_group', 'funnel_steps.channel_groups') }}
        and {{ funnel_flag_matches('sessionized.is_session_start', 'funnel_steps.is_landing') }}
),

-- narrow rows from here on (the step's settings join back in `final`): at 100M events the
-- hits with every setting carried ran out of memory and disk
filtered_hits as (
    select
        named_hits.funnel_step_id,
        funnel_steps.funnel_name,
        funnel_steps.step_type,
        funnel_steps.order_mode,
        funnel_steps.membership_grades,
        named_hits.event_id,
        named_hits.session_id,
        named_hits.person_id,
        named_hits.product_id,
        named_hits.event_at as hit_at
    from named_hits
    inner join funnel_steps
        on named_hits.funnel_step_id = funnel_steps.funnel_step_id
    left join products
        on named_hits.product_id = products.product_id
    where
        {{ funnel_list_matches('products.category', 'funnel_steps.product_categories') }}
        and {{ funnel_flag_matches(
            is_new_release('named_hits.event_at', 'products.released_at'),
            'funnel_steps.is_new_release',
        ) }}
        and (
            funnel_steps.hold_constant <> 'product'
            or funnel_steps.step_type = 'exclusion'
            or named_hits.product_id is not null
        )
),

-- the grade of the member the person is (rule person_id) at the moment of the hit
graded_hits as (
    select
        filtered_hits.funnel_step_id,
        filtered_hits.funnel_name,
        filtered_hits.step_type,
        filtered_hits.order_mode,
        filtered_hits.event_id,
        filtered_hits.session_id,
        filtered_hits.person_id,
        filtered_hits.product_id,
        filtered_hits.hit_at,
        coalesce(grade_history.membership_grade, 'none') as membership_grade
    from filtered_hits
    left join grade_history
        on
            filtered_hits.person_id = {{ person_id('grade_history.member_id', 'null') }}
            and filtered_hits.hit_at >= grade_history.valid_from
            and (grade_history.valid_to is null or filtered_hits.hit_at < grade_history.valid_to)
    where {{ funnel_list_matches(
        'coalesce(grade_history.membership_grade, \'none\')', 'filtered_hits.membership_grades'
    ) }}
),

-- strict funnels: the person's latest instant with any event before each of their hits
strict_persons as (
    select distinct person_id
    from graded_hits
    where order_mode = 'strict'
),

strict_person_instants as (
    select distinct
        sessionized.person_id,
        sessionized.event_at
    from sessionized
    inner join strict_persons
        on sessionized.person_id = strict_persons.person_id
),

previous_instants as (
    select
        person_id,
        event_at,
        lag(event_at) over (partition by person_id order by event_at) as previous_event_at
    from strict_person_instants
),

-- steps of the funnel each event matches (more than 1: repeated or nested steps)
event_step_counts as (
    select
        funnel_name,
        event_id,
        count(*) as event_step_count
    from graded_hits
    where step_type = 'step'
    group by funnel_name, event_id
),

final as (
    select
        {{ composite_key(['graded_hits.funnel_step_id', 'graded_hits.event_id']) }}
            as funnel_hit_id,
        graded_hits.funnel_step_id,
        graded_hits.funnel_name,
        funnel_steps.step_name,
        graded_hits.step_type,
        graded_hits.event_id,
        graded_hits.person_id,
        graded_hits.session_id,
        graded_hits.product_id,
        case funnel_steps.hold_constant
            when 'session' then graded_hits.session_id
            when 'product' then graded_hits.product_id
            else ''
        end as hold_key,
        graded_hits.membership_grade,
        graded_hits.order_mode,
        funnel_steps.hold_constant,
        funnel_steps.period_grain,
        funnel_steps.step_number,
        funnel_steps.step_count,
        funnel_steps.optional_steps_mask,
        funnel_steps.breakdown_step,
        funnel_steps.exclude_from_step,
        funnel_steps.exclude_to_step,
        funnel_steps.conversion_window_seconds,
        funnel_steps.step_window_seconds,
        funnel_steps.window_period_span,
        event_step_counts.event_step_count,
        {{ funnel_period_start('funnel_steps.period_grain', 'graded_hits.hit_at') }}
            as hit_period_start_date,
        graded_hits.hit_at,
        previous_instants.previous_event_at
    from graded_hits
    inner join funnel_steps
        on graded_hits.funnel_step_id = funnel_steps.funnel_step_id
    left join event_step_counts
        on
            graded_hits.step_type = 'step'
            and graded_hits.funnel_name = event_step_counts.funnel_name
            and graded_hits.event_id = event_step_counts.event_id
    left join previous_instants
        on
            graded_hits.order_mode = 'strict'
            and graded_hits.person_id = previous_instants.person_id
            and graded_hits.hit_at = previous_instants.event_at
)

select * from final
