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
{% macro funnel_period_add(grain, periods, period_start) -%}
    cast(case {{ grain }}
        when 'day' then {{ dbt.dateadd('day', periods, period_start) }}
        when 'week' then {{ dbt.dateadd('day', '7 * (' ~ periods ~ ')', period_start) }}
        when 'month' then {{ dbt.dateadd('month', periods, period_start) }}
    end as date)
{%- endmacro %}

{#- A moment plus a number of seconds (a column or a literal), as a timestamp. -#}
{% macro funnel_add_seconds(moment, seconds) -%}
    cast({{ dbt.dateadd('second', seconds, moment) }} as timestamp)
{%- endmacro %}

{#- Seconds from one moment to a later one, to the millisecond. -#}
{% macro funnel_seconds_between(start_at, end_at) -%}
    ({{ dbt.datediff(start_at, end_at, 'millisecond') }} / 1000.0)
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
