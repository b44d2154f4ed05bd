{#- Statistics shared by every mart that reports a rate or compares two rates.
    All take SQL expressions and return a SQL expression (double); null when a
    denominator is zero. -#}

{% macro safe_ratio(numerator, denominator) -%}
    cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0)
{%- endmacro %}

{#- Wilson score interval bound for a binomial proportion, clamped to [0, 1]; exactly 0 (1)
    for the lower (upper) bound when there are no successes (only successes), which the
    formula gives in exact arithmetic but floating point misses by 1e-17.
    side: 'lower' or 'upper'; z: critical value (1.96 for 95%). -#}
{% macro wilson_bound(successes, trials, side='lower', z=1.96) -%}
    {%- if side not in ('lower', 'upper') -%}
        {{ exceptions.raise_compiler_error("wilson_bound: side must be 'lower' or 'upper', got '" ~ side ~ "'") }}
    {%- endif -%}
    case
        {% if side == 'lower' -%}
        when ({{ trials }}) > 0 and ({{ successes }}) = 0 then 0.0
        {%- else -%}
        when ({{ trials }}) > 0 and ({{ successes }}) = ({{ trials }}) then 1.0
        {%- endif %}
        when ({{ trials }}) > 0 then {{ 'greatest(0.0, ' if side == 'lower' else 'least(1.0, ' }}
            (
                (cast({{ successes }} as double) / ({{ trials }})
                    + {{ z }} * {{ z }} / (2.0 * ({{ trials }})))
                {{ '-' if side == 'lower' else '+' }} {{ z }} * sqrt(
                    (cast({{ successes }} as double) / ({{ trials }}))
                    * (1 - cast({{ successes }} as double) / ({{ trials }}))
                    / ({{ trials }})
                    + {{ z }} * {{ z }} / (4.0 * ({{ trials }}) * ({{ trials }}))
                )
            ) / (1 + {{ z }} * {{ z }} / ({{ trials }})))
    end
{%- endmacro %}

{#- Pooled two-proportion z statistic of p1 = x1/n1 against p2 = x2/n2
    (positive when p1 > p2). -#}
{% macro two_proportion_z(x1, n1, x2, n2) -%}
    case
        when ({{ n1 }}) > 0 and ({{ n2 }}) > 0
            and (({{ x1 }}) + ({{ x2 }})) > 0
            and (({{ x1 }}) + ({{ x2 }})) < (({{ n1 }}) + ({{ n2 }}))
            then
                (cast({{ x1 }} as double) / ({{ n1 }}) - cast({{ x2 }} as double) / ({{ n2 }}))
                / sqrt(
                    cast(({{ x1 }}) + ({{ x2 }}) as double) / (({{ n1 }}) + ({{ n2 }}))
                    * (1 - cast(({{ x1 }}) + ({{ x2 }}) as double) / (({{ n1 }}) + ({{ n2 }})))
                    * (1.0 / ({{ n1 }}) + 1.0 / ({{ n2 }}))
                )
    end
{%- endmacro %}

{#- Two-sided p-value of a standard normal statistic z: erfc(|z| / sqrt 2), with
    erfc from Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7). -#}
{% macro normal_two_sided_p_value(z) -%}
    (
        (
            0.254829592 * (1.0 / (1.0 + 0.3275911 * abs({{ z }}) / sqrt(2.0)))
            - 0.284496736 * pow(1.0 / (1.0 + 0.3275911 * abs({{ z }}) / sqrt(2.0)), 2)
            + 1.421413741 * pow(1.0 / (1.0 + 0.3275911 * abs({{ z }}) / sqrt(2.0)), 3)
            - 1.453152027 * pow(1.0 / (1.0 + 0.3275911 * abs({{ z }}) / sqrt(2.0)), 4)
            + 1.061405429 * pow(1.0 / (1.0 + 0.3275911 * abs({{ z }}) / sqrt(2.0)), 5)
        ) * exp(-({{ z }}) * ({{ z }}) / 2.0)
    )
{%- endmacro %}

{#- expression (a double) rounded to `digits` decimals, half up, the same on every engine:
    floor(x * 10^digits + 0.5) / 10^digits in double arithmetic, which both engines compute
    bit for bit alike. Engines' own round() differ at ties: DuckDB rounds the scaled double,
    Spark the double's exact decimal value, so a median of 133.053 and 133.054 (stored as
    133.05349999...) came out 133.054 on one and 133.053 on the other. -#}
{% macro round_half_up(expression, digits) -%}
    {%- set scale = 10 ** (digits | int) -%}
    floor(cast({{ expression }} as double) * {{ scale }} + 0.5) / {{ scale }}.0
{%- endmacro %}
