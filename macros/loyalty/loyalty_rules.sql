{#- Rules of the loyalty marts: one place for what a new release and a discount are. -#}

{#- True when the line was bought within var new_release_days of the product's release
    (released_at <= ordered_at < released_at + N days); false before the release, after the
    window, or when the release date is unknown. -#}
{% macro is_new_release(ordered_at, released_at) -%}
    coalesce(
        {{ ordered_at }} >= {{ released_at }}
        and {{ ordered_at }} < {{ add_days(released_at, var_integer('new_release_days')) }},
        false
    )
{%- endmacro %}

{#- True when the line was bought discounted: a unit price below the list price, or an
    order that redeemed a coupon. An unknown list price is not a discount by itself. -#}
{% macro is_discounted(unit_price, list_price, coupon_code) -%}
    coalesce({{ unit_price }} < {{ list_price }}, false)
    or {{ coupon_code }} is not null
{%- endmacro %}
