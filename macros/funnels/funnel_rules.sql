{#- Rules of the configured funnels (models/intermediate/funnels, models/marts/funnels): one
    place for how a filter list matches, how long a window or a period is, and which period
    a moment falls in. Each returns a SQL expression; see _funnels__macros.yml. -#}

{#- True when a hit's value passes a list filter of seed funnel_steps: an empty list passes
    everything; `a;b` passes a value equal to a or b; `!a;b` passes any value but a and b
    (a null value included). Case and spaces are ignored. -#}
{% macro funnel_list_matches(value, value_list) -%}
    case
        when {{ value_list }} is null or trim({{ value_list }}) = '' then true
        when trim({{ value_list }}) like '!%' then coalesce(
            {{ dbt.position(
                "';' || lower(" ~ value ~ ") || ';'",
                "';' || lower(replace(substring(trim(" ~ value_list ~ "), 2), ' ', '')) || ';'",
            ) }} = 0,
            true
        )
        else coalesce(
            {{ dbt.position(
                "';' || lower(" ~ value ~ ") || ';'",
                "';' || lower(replace(trim(" ~ value_list ~ "), ' ', '')) || ';'",
            ) }} > 0,
            false
        )
    end
{%- endmacro %}

{#- True when a boolean filter of seed funnel_steps passes: empty passes everything. -#}
{% macro funnel_flag_matches(value, flag) -%}
    ({{ flag }} is null or coalesce({{ value }}, false) = {{ flag }})
{%- endmacro %}

{#- Seconds in a window of `amount` units (minute, hour, day, week); null for another unit. -#}
{% macro funnel_window_seconds(amount, unit) -%}
    cast({{ amount }} as bigint) * case {{ unit }}
        when 'minute' then 60
        when 'hour' then 3600
        when 'day' then 86400
        when 'week' then 604800
    end
{%- endmacro %}

{#- Seconds in the shortest period of a grain (a month has at least 28 days). -#}
{% macro funnel_shortest_period_seconds(grain) -%}
    case {{ grain }}
        when 'day' then 86400
        when 'week' then 604800
        when 'month' then 2419200
    end
{%- endmacro %}

{#- The first day of the period (day, week from Monday, calendar month) holding a moment. -#}
{% macro funnel_period_start(grain, moment) -%}
    cast(case {{ grain }}
        when 'day' then {{ dbt.date_trunc('day', moment) }}
        when 'week' then {{ dbt.date_trunc('week', moment) }}
        when 'month' then {{ dbt.date_trunc('month', moment) }}
    end as date)
{%- endmacro %}

{#- The first day of the period `periods` periods after (before, when negative) the period
    starting on period_start. -#}
{#- dbt-spark's dateadd goes through unix seconds and repeats its argument: nested in the
    journey model its expression grows past what Spark's analyzer resolves, so Spark takes
    its own date functions (README "Running on Spark"). -#}
{% macro funnel_period_add(grain, periods, period_start) -%}
    {{ return(adapter.dispatch('funnel_period_add', 'shopfunnel')(grain, periods, period_start)) }}
{%- endmacro %}

{% macro default__funnel_period_add(grain, periods, period_start) -%}
    cast(case {{ grain }}
        when 'day' then {{ dbt.dateadd('day', periods, period_start) }}
        when 'week' then {{ dbt.dateadd('day', '7 * (' ~ periods ~ ')', period_start) }}
        when 'month' then {{ dbt.dateadd('month', periods, period_start) }}
    end as date)
{%- endmacro %}

{% macro spark__funnel_period_add(grain, periods, period_start) -%}
    case {{ grain }}
        when 'day' then date_add(cast({{ period_start }} as date), cast({{ periods }} as int))
        when 'week' then date_add(cast({{ period_start }} as date), cast(7 * ({{ periods }}) as int))
        when 'month' then add_months(cast({{ period_start }} as date), cast({{ periods }} as int))
    end
{%- endmacro %}

{#- A moment plus a number of seconds (a column or a literal), as a timestamp. -#}
{% macro funnel_add_seconds(moment, seconds) -%}
    {{ return(adapter.dispatch('funnel_add_seconds', 'shopfunnel')(moment, seconds)) }}
{%- endmacro %}

{% macro default__funnel_add_seconds(moment, seconds) -%}
    cast({{ dbt.dateadd('second', seconds, moment) }} as timestamp)
{%- endmacro %}

{#- Spark: an interval keeps the fraction of a second (dbt-spark's dateadd drops it). -#}
{% macro spark__funnel_add_seconds(moment, seconds) -%}
    (cast({{ moment }} as timestamp) + make_dt_interval(0, 0, 0, cast({{ seconds }} as decimal(18, 6))))
{%- endmacro %}

{#- Seconds from one moment to a later one, to the millisecond. -#}
{% macro funnel_seconds_between(start_at, end_at) -%}
    {{ return(adapter.dispatch('funnel_seconds_between', 'shopfunnel')(start_at, end_at)) }}
{%- endmacro %}

{% macro default__funnel_seconds_between(start_at, end_at) -%}
    ({{ dbt.datediff(start_at, end_at, 'millisecond') }} / 1000.0)
{%- endmacro %}

{#- Spark: whole milliseconds since the epoch, as DuckDB's millisecond difference counts. -#}
{% macro spark__funnel_seconds_between(start_at, end_at) -%}
    ((unix_millis(cast({{ end_at }} as timestamp)) - unix_millis(cast({{ start_at }} as timestamp))) / 1000.0)
{%- endmacro %}

{#- True when bit `step_number` (1 = lowest) is set in a mask of steps (optional_steps_mask). -#}
{% macro funnel_step_in_mask(mask, step_number) -%}
    (cast(floor({{ mask }} / power(2, {{ step_number }} - 1)) as bigint) % 2 = 1)
{%- endmacro %}

{#- The columns that identify one attempt at a funnel (a journey candidate): the funnel, the
    period of its entry, the person, and the session or product held constant ('' if none). -#}
{% macro funnel_attempt_columns() -%}
    {{ return(['funnel_name', 'entry_period_start_date', 'person_id', 'hold_key']) }}
{%- endmacro %}

{#- Join condition: two relations' rows belong to the same attempt. -#}
{% macro funnel_same_attempt(left, right) -%}
    {%- for column in funnel_attempt_columns() -%}
        {{ left }}.{{ column }} = {{ right }}.{{ column }}{{ ' and ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

{#- The breakdowns every funnel mart reports: (breakdown_type, the column of
    int_funnel_steps_reached that holds its value). `all` is the funnel as a whole. -#}
{% macro funnel_breakdowns() -%}
    {{ return([
        ('all', "'all'"),
        ('first_touch_channel', 'first_touch_channel'),
        ('membership_grade', 'breakdown_grade'),
    ]) }}
{%- endmacro %}

{#- The CTEs `broken_down` (the rows of `reached`, with `columns`, once per breakdown, with
    breakdown_type and breakdown_value) and `breakdown_values` (each funnel's breakdown values
    seen, plus `all` for every funnel of `funnel_steps`) that every funnel report starts
    from; `where`: an optional filter on `reached`. -#}
{% macro funnel_broken_down(columns, where=none) -%}
broken_down as (
    {%- for breakdown_type, breakdown_column in funnel_breakdowns() %}
    select
        {%- for column in ['funnel_name', 'entry_period_start_date', 'step_number'] + columns %}
        {{ column }},
        {%- endfor %}
        '{{ breakdown_type }}' as breakdown_type,
        {{ breakdown_column }} as breakdown_value
    from reached
    {%- if where %}
    where {{ where }}
    {%- endif %}
    {{- ' union all' if not loop.last }}
    {%- endfor %}
),

breakdown_values as (
    select distinct
        funnel_name,
        breakdown_type,
        breakdown_value
    from broken_down
    union
    select distinct
        funnel_name,
        'all' as breakdown_type,
        'all' as breakdown_value
    from funnel_steps
)
{%- endmacro %}

{#- The journey model's levels (models/intermediate/funnels/int_funnel_steps_reached.sql):
    `levels` maps each step j from 2 to max_steps to its CTEs (exclusion_marks_j .. reached_j,
    each ending with a comma), which read anchors_j, the chains that may precede step j;
    anchors_{j+1} are those reaching step j and those of anchors_j skipping j when it is
    optional. Returns the CTEs that follow `head` (the model's first CTEs, through reached_1),
    so that the query goes on with reached_1 .. reached_{max_steps}. -#}
{% macro funnel_journey_levels(head, levels, carried, max_steps) -%}
    {{ return(adapter.dispatch('funnel_journey_levels', 'shopfunnel')(head, levels, carried, max_steps)) }}
{%- endmacro %}

{#- One query: every level a CTE over the one before. -#}
{% macro default__funnel_journey_levels(head, levels, carried, max_steps) %}

anchors_2 as (
    select * from reached_1
),
{%- for j in range(2, max_steps + 1) %}
{{ levels[j] }}

-- the chains that may precede step {{ j + 1 }}: those reaching step {{ j }}, and those that
-- skip it when it is optional
anchors_{{ j + 1 }} as (
    select {{ carried | join(', ') }}
    from reached_{{ j }}
    union all
    select {{ carried | join(', ') }}
    from anchors_{{ j }}
    where {{ funnel_step_in_mask('optional_steps_mask', j) }}
),
{%- endfor %}
{% endmacro %}

{#- Spark: each level reads the last one's chains from a table. Every level joins its
    anchors to themselves; in one query Spark's analyzer re-numbers the columns of each such
    self-join through every level below it (DeduplicateRelations), which grows exponentially
    with the levels and never ends for 8. So the model writes, level by level, reached_j and
    anchors_{j+1} as Parquet tables beside it (<model>__reached_<j>, <model>__anchors_<j>,
    rewritten by every build) and reads reached_j from them. -#}
{% macro spark__funnel_journey_levels(head, levels, carried, max_steps) %}
    {%- set prefix = this.schema ~ '.' ~ this.identifier ~ '__' -%}
    {%- set columns = carried | join(', ') -%}
    {%- set head_ctes = head.rstrip().rstrip(',') -%}
    {%- if execute -%}
        {%- set statements = replace_table_as(
            prefix ~ 'anchors_2', 'with ' ~ head_ctes ~ '\nselect ' ~ columns ~ ' from reached_1'
        ) -%}
        {%- for j in range(2, max_steps + 1) -%}
            {%- do statements.extend(replace_table_as(
                prefix ~ 'reached_' ~ j,
                'with ' ~ head ~ '\nanchors_' ~ j ~ ' as (select * from ' ~ prefix ~ 'anchors_' ~ j ~ '),\n'
                ~ levels[j].rstrip().rstrip(',') ~ '\nselect ' ~ columns ~ ' from reached_' ~ j
            )) -%}
            {%- do statements.extend(replace_table_as(
                prefix ~ 'anchors_' ~ (j + 1),
                'select ' ~ columns ~ ' from ' ~ prefix ~ 'reached_' ~ j
                ~ ' union all select ' ~ columns ~ ' from ' ~ prefix ~ 'anchors_' ~ j
                ~ ' where ' ~ funnel_step_in_mask('optional_steps_mask', j)
            )) -%}
        {%- endfor -%}
        {%- do run_statements(statements) -%}
    {%- endif %}
{%- for j in range(2, max_steps + 1) %}

reached_{{ j }} as (
    select * from {{ prefix }}reached_{{ j }}
),
{%- endfor %}
{% endmacro %}
