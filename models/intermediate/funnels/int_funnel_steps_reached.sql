-- One row per funnel, entry period, person and step the person reached in that period, with
-- the moments of the person's journey: the journey rules are the docs blocks of
-- models/marts/funnels/_funnels__docs.md (funnel_journey_rule, funnel_tie_rule,
-- funnel_repeated_step_rule, funnel_optional_steps, funnel_exclusions, funnel_order_mode,
-- funnel_hold_constant, funnel_periods).
--
-- Ordered and strict funnels, level by level (a Jinja loop up to var funnel_max_steps): a hit
-- of step j is reached when some chain of hits of steps 1..j ends in it with every window,
-- exclusion and order rule kept. Of the chains ending at a hit, one with the latest entry is
-- kept: every rule is a lower bound on the entry or on the previous step's moment, so it
-- keeps whatever any other chain keeps. Its previous step is the best chain (latest entry)
-- at the latest instant at or before the hit among those of step j - 1 (or of an earlier
-- step, past optional ones), one that does not use the hit's own event: a chain carries the
-- events it used at its last instant (instant_events), and of two at the hit's own instant
-- the first that does not hold the event is taken, else the best of the instant before.
-- Each level is one running count (a window over the hits of two steps of each attempt that
-- has a hit of step j), one aggregate and equi-joins: no self-join, linear in hits after a
-- sort.
-- Any-order funnels: from each entry, the steps with a hit within the window (window
-- functions looking forward), capped by the events that fill them.
-- The journey of a person in a period is their attempt that reaches furthest (then the
-- earliest completion, then the latest entry); its moments give the times to convert.
{%- set max_steps = checked_var('funnel_max_steps') %}
{%- set max_span = checked_var('funnel_max_window_periods') %}
{%- set attempt = funnel_attempt_columns() %}
{%- set carried = attempt + [
    'event_id', 'hit_at', 'entered_at', 'step_level', 'event_step_count', 'instant_events',
    'breakdown_grade',
] %}
{%- for k in range(1, max_steps + 1) %}{% do carried.append('step_' ~ k ~ '_at') %}{% endfor %}
{%- do carried.append('optional_steps_mask') %}
{#- the CTEs before the levels, one block per level (exclusion_marks_j .. reached_j), and the
    chains carried from level to level: macro funnel_journey_levels puts them together
    (one query on DuckDB; on Spark one table per level, README "Running on Spark") #}
{%- set head %}
hits as (
    select * from {{ ref('int_funnel_events_matched') }}
),

persons as (
    select * from {{ ref('int_milestones_pivoted_to_persons') }}
),

step_hits as (
    select * from hits
    where step_type = 'step'
),

exclusion_hits as (
    select * from hits
    where step_type = 'exclusion'
),

period_offsets as (
    {%- for offset in range(0, max_span + 1) %}
    select {{ offset }} as period_offset
    {{- ' union all' if not loop.last }}
    {%- endfor %}
),

-- every step hit in each attempt it can belong to: the attempt entering in its own period,
-- and those entering in an earlier period whose window can still reach it (an entry before
-- that period's end, this hit within the window of it)
attempt_hits as (
    select
        step_hits.funnel_name,
        {{ funnel_period_add(
            'step_hits.period_grain', '-period_offsets.period_offset',
            'step_hits.hit_period_start_date',
        ) }} as entry_period_start_date,
        step_hits.person_id,
        step_hits.hold_key,
        step_hits.event_id,
        step_hits.step_number,
        step_hits.order_mode,
        step_hits.membership_grade,
        step_hits.optional_steps_mask,
        step_hits.breakdown_step,
        step_hits.step_count,
        step_hits.event_step_count,
        step_hits.conversion_window_seconds,
        step_hits.step_window_seconds,
        step_hits.previous_event_at,
        period_offsets.period_offset = 0 as is_in_entry_period,
        step_hits.hit_at
    from step_hits
    cross join period_offsets
    where
        period_offsets.period_offset <= step_hits.window_period_span
        and (
            period_offsets.period_offset = 0
            or (
                (step_hits.step_number > 1 or step_hits.order_mode = 'any')
                and step_hits.hit_at < {{ funnel_add_seconds(
                    funnel_period_add(
                        'step_hits.period_grain', '1 - period_offsets.period_offset',
                        'step_hits.hit_period_start_date',
                    ),
                    'step_hits.conversion_window_seconds',
                ) }}
            )
        )
),

-- ------------------------------------------------------------ ordered and strict funnels
-- level 1: each hit of step 1 enters the attempt of its own period
reached_1 as (
    select
        {{ attempt | join(', ') }},
        event_id,
        hit_at,
        hit_at as entered_at,
        1 as step_level,
        event_step_count,
        ';' || event_id || ';' as instant_events,
        case when breakdown_step = 1 then membership_grade end as breakdown_grade,
        {%- for k in range(1, max_steps + 1) %}
        {{ 'hit_at' if k == 1 else 'cast(null as timestamp)' }} as step_{{ k }}_at,
        {%- endfor %}
        optional_steps_mask
    from attempt_hits
    where order_mode <> 'any' and step_number = 1 and is_in_entry_period
),
{%- endset %}
{%- set levels = {} %}
{%- for j in range(2, max_steps + 1) %}
{%- set level %}
-- level {{ j }}: the latest exclusion (of those between a step before {{ j }} and a step
-- from {{ j }} on) at or before each hit of step {{ j }}, for the person (exclusions first
-- at an instant)
exclusion_marks_{{ j }} as (
    select
        funnel_name,
        person_id,
        event_id,
        hit_at,
        1 as is_exclusion
    from exclusion_hits
    where
        order_mode <> 'any'
        and exclude_from_step < {{ j }}
        and exclude_to_step >= {{ j }}
    union all
    select
        funnel_name,
        person_id,
        event_id,
        hit_at,
        0 as is_exclusion
    from step_hits
    where order_mode <> 'any' and step_number = {{ j }}
),

last_exclusions_{{ j }} as (
    select
        funnel_name,
        person_id,
        event_id,
        is_exclusion,
        max(case when is_exclusion = 1 then hit_at end) over (
            partition by funnel_name, person_id
            order by hit_at asc, is_exclusion desc
            rows between unbounded preceding and current row
        ) as last_exclusion_at
    from exclusion_marks_{{ j }}
),

-- the chains that may precede step {{ j }} (anchors) and the hits of step {{ j }} (candidates)
-- in one order per attempt: by instant, anchors before candidates, and within an instant the
-- best anchor last (latest entry, then an event filling fewer steps, then the deeper chain);
-- anchor_seq numbers the anchors, so a candidate's is the best anchor at or before it
attempts_{{ j }} as (
    select distinct {{ attempt | join(', ') }}
    from attempt_hits
    where order_mode <> 'any' and step_number = {{ j }}
),

sequence_{{ j }} as (
    select
        {%- for column in attempt %}
        anchors.{{ column }},
        {%- endfor %}
        anchors.event_id,
        anchors.hit_at,
        1 as is_anchor,
        anchors.entered_at,
        anchors.step_level,
        anchors.event_step_count,
        anchors.instant_events,
        anchors.breakdown_grade,
        {%- for k in range(1, max_steps + 1) %}
        anchors.step_{{ k }}_at,
        {%- endfor %}
        cast(null as bigint) as conversion_window_seconds,
        cast(null as bigint) as step_window_seconds,
        cast(null as {{ dbt.type_string() }}) as order_mode,
        cast(null as timestamp) as previous_event_at,
        cast(null as timestamp) as last_exclusion_at,
        cast(null as integer) as breakdown_step,
        cast(null as {{ dbt.type_string() }}) as membership_grade,
        anchors.optional_steps_mask
    from anchors_{{ j }} as anchors
    -- only attempts with a hit of step {{ j }} can go on
    inner join attempts_{{ j }} as attempts
        on {{ funnel_same_attempt('anchors', 'attempts') }}
    union all
    select
        {%- for column in attempt %}
        candidates.{{ column }},
        {%- endfor %}
        candidates.event_id,
        candidates.hit_at,
        0 as is_anchor,
        cast(null as timestamp) as entered_at,
        {{ j }} as step_level,
        candidates.event_step_count,
        cast(null as {{ dbt.type_string() }}) as instant_events,
        cast(null as {{ dbt.type_string() }}) as breakdown_grade,
        {%- for k in range(1, max_steps + 1) %}
        cast(null as timestamp) as step_{{ k }}_at,
        {%- endfor %}
        candidates.conversion_window_seconds,
        candidates.step_window_seconds,
        candidates.order_mode,
        candidates.previous_event_at,
        exclusions.last_exclusion_at,
        candidates.breakdown_step,
        candidates.membership_grade,
        candidates.optional_steps_mask
    from attempt_hits as candidates
    left join last_exclusions_{{ j }} as exclusions
        on
            candidates.funnel_name = exclusions.funnel_name
            and candidates.person_id = exclusions.person_id
            and candidates.event_id = exclusions.event_id
            and exclusions.is_exclusion = 0
    where candidates.order_mode <> 'any' and candidates.step_number = {{ j }}
),

sequenced_{{ j }} as (
    select
        *,
        sum(is_anchor) over (
            partition by {{ attempt | join(', ') }}
            order by
                hit_at asc,
                is_anchor desc,
                entered_at asc,
                event_step_count desc,
                step_level asc,
                event_id desc
            rows between unbounded preceding and current row
        ) as anchor_seq
    from sequence_{{ j }}
),

anchors_numbered_{{ j }} as (
    select * from sequenced_{{ j }}
    where is_anchor = 1
),

instant_anchors_{{ j }} as (
    select
        {{ attempt | join(', ') }},
        hit_at,
        max(anchor_seq) as best_anchor_seq,
        count(*) as anchor_count
    from anchors_numbered_{{ j }}
    group by {{ attempt | join(', ') }}, hit_at
),

-- the previous step: of the two best anchors at the candidate's own instant, the first whose
-- chain at that instant does not use the candidate's event, else the best anchor of the
-- latest earlier instant (whose events all lie before the candidate)
linked_{{ j }} as (
    select
        candidates.*,
        case
            when
                first_anchors.anchor_seq is not null
                and {{ dbt.position(
                    "';' || candidates.event_id || ';'", 'first_anchors.instant_events'
                ) }} = 0
                then first_anchors.anchor_seq
            when
                second_anchors.anchor_seq is not null
                and {{ dbt.position(
                    "';' || candidates.event_id || ';'", 'second_anchors.instant_events'
                ) }} = 0
                then second_anchors.anchor_seq
            else earlier_anchors.anchor_seq
        end as previous_anchor_seq
    from sequenced_{{ j }} as candidates
    left join instant_anchors_{{ j }} as instants
        on
            {{ funnel_same_attempt('candidates', 'instants') }}
            and candidates.hit_at = instants.hit_at
    left join anchors_numbered_{{ j }} as first_anchors
        on
            {{ funnel_same_attempt('candidates', 'first_anchors') }}
            and instants.best_anchor_seq = first_anchors.anchor_seq
    left join anchors_numbered_{{ j }} as second_anchors
        on
            {{ funnel_same_attempt('candidates', 'second_anchors') }}
            and instants.best_anchor_seq - 1 = second_anchors.anchor_seq
            and candidates.hit_at = second_anchors.hit_at
    left join anchors_numbered_{{ j }} as earlier_anchors
        on
            {{ funnel_same_attempt('candidates', 'earlier_anchors') }}
            and coalesce(
                instants.best_anchor_seq - instants.anchor_count, candidates.anchor_seq
            ) = earlier_anchors.anchor_seq
    where candidates.is_anchor = 0
),

reached_{{ j }} as (
    select
        {%- for column in attempt %}
        candidates.{{ column }},
        {%- endfor %}
        candidates.event_id,
        candidates.hit_at,
        previous_steps.entered_at,
        {{ j }} as step_level,
        candidates.event_step_count,
        case
            when previous_steps.hit_at = candidates.hit_at
                then previous_steps.instant_events || candidates.event_id || ';'
            else ';' || candidates.event_id || ';'
        end as instant_events,
        case
            when candidates.breakdown_step = {{ j }} then candidates.membership_grade
            else previous_steps.breakdown_grade
        end as breakdown_grade,
        {%- for k in range(1, max_steps + 1) %}
        {%- if k < j %}
        previous_steps.step_{{ k }}_at,
        {%- elif k == j %}
        candidates.hit_at as step_{{ k }}_at,
        {%- else %}
        cast(null as timestamp) as step_{{ k }}_at,
        {%- endif %}
        {%- endfor %}
        candidates.optional_steps_mask
    from linked_{{ j }} as candidates
    inner join anchors_numbered_{{ j }} as previous_steps
        on
            {{ funnel_same_attempt('candidates', 'previous_steps') }}
            and candidates.previous_anchor_seq = previous_steps.anchor_seq
    where
        -- the conversion window, from the entry
        candidates.hit_at <= {{ funnel_add_seconds(
            'previous_steps.entered_at', 'candidates.conversion_window_seconds'
        ) }}
        -- the step's own window, from the previous step the journey did
        and (
            candidates.step_window_seconds is null
            or candidates.hit_at <= {{ funnel_add_seconds(
                'previous_steps.hit_at', 'candidates.step_window_seconds'
            ) }}
        )
        -- strict: no other event of the person strictly between
        and (
            candidates.order_mode <> 'strict'
            or candidates.previous_event_at is null
            or previous_steps.hit_at >= candidates.previous_event_at
        )
        -- no exclusion at or after the previous step and at or before this one
        and (
            candidates.last_exclusion_at is null
            or previous_steps.hit_at > candidates.last_exclusion_at
        )
),
{%- endset %}
{%- do levels.update({j: level}) %}
{%- endfor %}
with
{{ head }}
{{- funnel_journey_levels(head, levels, carried, max_steps) }}

ordered_reached as (
    {%- for j in range(1, max_steps + 1) %}
    select {{ carried | join(', ') }}
    from reached_{{ j }}
    {{- ' union all' if not loop.last }}
    {%- endfor %}
),

-- the journey: the attempt reaching the furthest step, completed first, then entered last
-- (then a fixed order of hold key and event): aggregates and equi-joins, no window
ordered_furthest as (
    select
        funnel_name,
        entry_period_start_date,
        person_id,
        {%- for k in range(1, max_steps + 1) %}
        max(case when step_level = {{ k }} then 1 else 0 end) as has_step_{{ k }},
        {%- endfor %}
        max(step_level) as step_level
    from ordered_reached
    group by funnel_name, entry_period_start_date, person_id
),

ordered_furthest_hits as (
    select reached.*
    from ordered_reached as reached
    inner join ordered_furthest as furthest
        on
            reached.funnel_name = furthest.funnel_name
            and reached.entry_period_start_date = furthest.entry_period_start_date
            and reached.person_id = furthest.person_id
            and reached.step_level = furthest.step_level
),

ordered_first_completions as (
    select
        funnel_name,
        entry_period_start_date,
        person_id,
        min(hit_at) as hit_at
    from ordered_furthest_hits
    group by funnel_name, entry_period_start_date, person_id
),

-- the first completions entered last, and of those one by a fixed order of hold key and event
ordered_completions as (
    select furthest_hits.*
    from ordered_furthest_hits as furthest_hits
    inner join ordered_first_completions as completions
        on
            furthest_hits.funnel_name = completions.funnel_name
            and furthest_hits.entry_period_start_date = completions.entry_period_start_date
            and furthest_hits.person_id = completions.person_id
            and furthest_hits.hit_at = completions.hit_at
),

ordered_latest_entries as (
    select
        funnel_name,
        entry_period_start_date,
        person_id,
        max(entered_at) as entered_at
    from ordered_completions
    group by funnel_name, entry_period_start_date, person_id
),

ordered_ends as (
    select
        completions.funnel_name,
        completions.entry_period_start_date,
        completions.person_id,
        min({{ composite_key(['completions.hold_key', 'completions.event_id']) }}) as end_key
    from ordered_completions as completions
    inner join ordered_latest_entries as latest
        on
            completions.funnel_name = latest.funnel_name
            and completions.entry_period_start_date = latest.entry_period_start_date
            and completions.person_id = latest.person_id
            and completions.entered_at = latest.entered_at
    group by completions.funnel_name, completions.entry_period_start_date, completions.person_id
),

ordered_journeys as (
    select completions.*
    from ordered_completions as completions
    inner join ordered_ends as ends
        on
            completions.funnel_name = ends.funnel_name
            and completions.entry_period_start_date = ends.entry_period_start_date
            and completions.person_id = ends.person_id
            and {{ composite_key(['completions.hold_key', 'completions.event_id']) }} = ends.end_key
),

-- one row per step the journey reached (any of its chains: an optional step counts when done
-- in order), with the moments of the journey's own chain
ordered_steps as (
    {%- for k in range(1, max_steps + 1) %}
    select
        journeys.funnel_name,
        journeys.entry_period_start_date,
        journeys.person_id,
        journeys.hold_key,
        journeys.breakdown_grade,
        {{ k }} as step_number,
        journeys.entered_at,
        journeys.step_{{ k }}_at as reached_at,
        -- the latest earlier step reached (none for the first step)
        coalesce(
            {%- for previous in range(k - 1, 0, -1) %}
            journeys.step_{{ previous }}_at,
            {%- endfor %}
            cast(null as timestamp)
        ) as previous_step_at
    from ordered_journeys as journeys
    inner join ordered_furthest as furthest
        on
            journeys.funnel_name = furthest.funnel_name
            and journeys.entry_period_start_date = furthest.entry_period_start_date
            and journeys.person_id = furthest.person_id
    where furthest.has_step_{{ k }} = 1
    {{- ' union all' if not loop.last }}
    {%- endfor %}
),

-- ------------------------------------------------------------ any-order funnels
-- the first exclusion at or after each hit, for the person
any_marks as (
    select
        funnel_name,
        person_id,
        event_id,
        step_number,
        hit_at,
        1 as is_exclusion
    from exclusion_hits
    where order_mode = 'any'
    union all
    select
        funnel_name,
        person_id,
        event_id,
        step_number,
        hit_at,
        0 as is_exclusion
    from step_hits
    where order_mode = 'any'
),

any_next_exclusions as (
    select
        funnel_name,
        person_id,
        event_id,
        step_number,
        is_exclusion,
        min(case when is_exclusion = 1 then hit_at end) over (
            partition by funnel_name, person_id
            order by hit_at
            range between current row and unbounded following
        ) as next_exclusion_at
    from any_marks
),

any_hits as (
    select
        attempt_hits.*,
        next_exclusions.next_exclusion_at
    from attempt_hits
    left join any_next_exclusions as next_exclusions
        on
            attempt_hits.funnel_name = next_exclusions.funnel_name
            and attempt_hits.person_id = next_exclusions.person_id
            and attempt_hits.event_id = next_exclusions.event_id
            and attempt_hits.step_number = next_exclusions.step_number
            and next_exclusions.is_exclusion = 0
    where attempt_hits.order_mode = 'any'
),

-- from each hit: the next hit of every step (at the same instant or later)
any_next_steps as (
    select
        *,
        {%- for s in range(1, max_steps + 1) %}
        min(case when step_number = {{ s }} then hit_at end) over (
            partition by {{ attempt | join(', ') }}
            order by hit_at
            range between current row and unbounded following
        ) as next_step_{{ s }}_at,
        {%- endfor %}
        row_number() over (
            partition by {{ attempt | join(', ') }}, event_id order by step_number
        ) as event_row
    from any_hits
),

-- each entry (one per event) and the end of its window: the window's end, included, or the
-- first exclusion, excluded
any_entries as (
    select
        *,
        case
            when
                next_exclusion_at is not null
                and next_exclusion_at <= {{ funnel_add_seconds(
                    'hit_at', 'conversion_window_seconds'
                ) }}
                then next_exclusion_at
            else {{ funnel_add_seconds('hit_at', 'conversion_window_seconds') }}
        end as window_end_at,
        not coalesce(
            next_exclusion_at <= {{ funnel_add_seconds('hit_at', 'conversion_window_seconds') }},
            false
        ) as is_window_end_included
    from any_next_steps
    where is_in_entry_period and event_row = 1
),

-- the events that can fill a step, counted up to each entry's start (excluded) and end
any_count_marks as (
    select
        {{ attempt | join(', ') }},
        event_id,
        'event' as mark_type,
        1 as mark_order,
        hit_at as marked_at
    from any_next_steps
    where event_row = 1
    union all
    select
        {{ attempt | join(', ') }},
        event_id,
        'start' as mark_type,
        0 as mark_order,
        hit_at as marked_at
    from any_entries
    union all
    select
        {{ attempt | join(', ') }},
        event_id,
        'end' as mark_type,
        case when is_window_end_included then 2 else 0 end as mark_order,
        window_end_at as marked_at
    from any_entries
),

any_running_counts as (
    select
        {{ attempt | join(', ') }},
        event_id,
        mark_type,
        sum(case when mark_type = 'event' then 1 else 0 end) over (
            partition by {{ attempt | join(', ') }}
            order by marked_at, mark_order
            rows between unbounded preceding and current row
        ) as events_so_far
    from any_count_marks
),

any_event_counts as (
    select
        {{ attempt | join(', ') }},
        event_id,
        max(case when mark_type = 'end' then events_so_far end)
        - max(case when mark_type = 'start' then events_so_far end) as window_events
    from any_running_counts
    where mark_type <> 'event'
    group by {{ attempt | join(', ') }}, event_id
),

any_done as (
    select
        entries.*,
        {%- for s in range(1, max_steps + 1) %}
        coalesce(
            {{ s }} <= entries.step_count
            and entries.next_step_{{ s }}_at <= entries.window_end_at
            and (
                entries.next_step_{{ s }}_at < entries.window_end_at
                or entries.is_window_end_included
            ),
            false
        ) as is_step_{{ s }}_done,
        {%- endfor %}
        counts.window_events
    from any_entries as entries
    inner join any_event_counts as counts
        on
            {{ funnel_same_attempt('entries', 'counts') }}
            and entries.event_id = counts.event_id
),

-- the order of the steps done (ties in time by step number), and the steps reached: at
-- least the entry, at most one step per event
any_ranked as (
    select
        *,
        {%- for s in range(1, max_steps + 1) %}
        case
            when is_step_{{ s }}_done
                then
                    0
                    {%- for r in range(1, max_steps + 1) %}
                    + case
                        when
                            is_step_{{ r }}_done
                            and (
                                next_step_{{ r }}_at < next_step_{{ s }}_at
                                {%- if r <= s %}
                                or next_step_{{ r }}_at = next_step_{{ s }}_at
                                {%- endif %}
                            )
                            then 1
                        else 0
                    end
                    {%- endfor %}
        end as step_{{ s }}_rank,
        {%- endfor %}
        greatest(
            1,
            least(
                window_events,
                0
                {%- for s in range(1, max_steps + 1) %}
                + case when is_step_{{ s }}_done then 1 else 0 end
                {%- endfor %}
            )
        ) as steps_reached
    from any_done
),

-- the k-th event that can fill a step from each instant on (one row per event, in time order)
any_event_leads as (
    select
        {{ attempt | join(', ') }},
        event_id,
        hit_at,
        {%- for k in range(2, max_steps + 1) %}
        lead(hit_at, {{ k - 1 }}) over (
            partition by {{ attempt | join(', ') }}
            order by hit_at asc, event_id asc
        ) as event_{{ k }}_at,
        {%- endfor %}
        hit_at as event_1_at
    from any_next_steps
    where event_row = 1
),

any_instant_leads as (
    select
        {{ attempt | join(', ') }},
        event_id,
        {%- for k in range(1, max_steps + 1) %}
        first_value(event_{{ k }}_at) over (
            partition by {{ attempt | join(', ') }}, hit_at
            order by event_id asc
            rows between unbounded preceding and unbounded following
        ) as event_{{ k }}_at,
        {%- endfor %}
        hit_at
    from any_event_leads
),

-- the moment each entry's k-th step was done: the k-th smallest moment of the steps done,
-- and not before the k-th event that fills them (repeated steps need an event each)
any_step_times as (
    select
        ranked.funnel_name,
        ranked.entry_period_start_date,
        ranked.person_id,
        ranked.hold_key,
        ranked.event_id,
        ranked.membership_grade as breakdown_grade,
        ranked.steps_reached,
        {%- for k in range(1, max_steps + 1) %}
        greatest(
            least(
                {%- for s in range(1, max_steps + 1) %}
                case when ranked.step_{{ s }}_rank = {{ k }} then ranked.next_step_{{ s }}_at end,
                {%- endfor %}
                cast(null as timestamp)
            ),
            leads.event_{{ k }}_at
        ) as step_{{ k }}_at,
        {%- endfor %}
        ranked.hit_at as entered_at
    from any_ranked as ranked
    inner join any_instant_leads as leads
        on
            {{ funnel_same_attempt('ranked', 'leads') }}
            and ranked.event_id = leads.event_id
),

-- the journey: the entry reaching the most steps, completed first (then entered last)
any_journeys as (
    select
        *,
        row_number() over (
            partition by funnel_name, entry_period_start_date, person_id
            order by
                steps_reached desc,
                case steps_reached
                    {%- for k in range(1, max_steps + 1) %}
                    when {{ k }} then {{ 'entered_at' if k == 1 else 'step_' ~ k ~ '_at' }}
                    {%- endfor %}
                end asc,
                entered_at desc,
                hold_key asc,
                event_id asc
        ) as journey_rank
    from any_step_times
),

any_steps as (
    {%- for k in range(1, max_steps + 1) %}
    select
        funnel_name,
        entry_period_start_date,
        person_id,
        hold_key,
        breakdown_grade,
        {{ k }} as step_number,
        entered_at,
        {{ 'entered_at' if k == 1 else 'step_' ~ k ~ '_at' }} as reached_at,
        {{ 'cast(null as timestamp)' if k == 1 else 'step_' ~ (k - 1) ~ '_at' }}
            as previous_step_at
    from any_journeys
    where journey_rank = 1 and steps_reached >= {{ k }}
    {{- ' union all' if not loop.last }}
    {%- endfor %}
),

-- ------------------------------------------------------------ both
journey_steps as (
    select * from ordered_steps
    union all
    select * from any_steps
),

final as (
    select
        {{ composite_key([
            'journey_steps.funnel_name', 'journey_steps.entry_period_start_date',
            'journey_steps.person_id', 'journey_steps.step_number',
        ]) }} as funnel_step_reached_id,
        journey_steps.funnel_name,
        journey_steps.person_id,
        journey_steps.hold_key,
        coalesce(journey_steps.breakdown_grade, 'not_reached') as breakdown_grade,
        coalesce(persons.first_touch_channel, 'unknown') as first_touch_channel,
        journey_steps.step_number,
        case
            when journey_steps.reached_at is not null
                then {{ funnel_seconds_between(
                    'journey_steps.entered_at', 'journey_steps.reached_at'
                ) }}
        end as seconds_from_entry,
        case
            when journey_steps.reached_at is not null and journey_steps.previous_step_at is not null
                then {{ funnel_seconds_between(
                    'journey_steps.previous_step_at', 'journey_steps.reached_at'
                ) }}
        end as seconds_from_previous_step,
        journey_steps.entry_period_start_date,
        journey_steps.entered_at,
        journey_steps.reached_at
    from journey_steps
    left join persons
        on journey_steps.person_id = persons.person_id
)

select * from final
