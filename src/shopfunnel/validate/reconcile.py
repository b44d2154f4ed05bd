"""Reconciliations between marts (and against staging): numbers that must agree.

Each one is a query that returns no row when the figures agree and one row per
disagreement otherwise (GX's ``UnexpectedRowsExpectation``), run on the batch of the mart it
is about (``{batch}``). A reconciliation whose tables are not all in the DuckDB file is
skipped and reported as such. The checks are independent of how the marts compute their
figures: they count from another mart or from staging.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reconciliation:
    """A cross-table check: ``query`` returns the rows that break ``rule``."""

    name: str
    mart: str
    rule: str
    tables: tuple[str, ...]
    query: str


def reconciliations(project_vars: dict[str, Any]) -> list[Reconciliation]:
    """Every reconciliation, with the project's vars filled in."""
    window_days = int(project_vars.get("signup_conversion_window_days", 30))
    return [
        Reconciliation(
            name="persons_match_dim_persons",
            mart="fct_funnel_stages",
            rule="persons in fct_funnel_stages = persons in dim_persons",
            tables=("marts.dim_persons", "marts.fct_funnel_stages"),
            query="""
with stages as (select person_id from {batch}),
persons as (select person_id from marts.dim_persons)
select
    coalesce(stages.person_id, persons.person_id) as person_id,
    case when stages.person_id is null then 'missing from fct_funnel_stages'
        else 'missing from dim_persons' end as problem
from stages
full outer join persons on stages.person_id = persons.person_id
where stages.person_id is null or persons.person_id is null
""",
        ),
        Reconciliation(
            name="last_day_matches_current_stages",
            mart="fct_funnel_stage_daily",
            rule="persons per stage on the last day of fct_funnel_stage_daily "
            "= persons per stage in fct_funnel_stages",
            tables=("marts.fct_funnel_stage_daily", "marts.fct_funnel_stages"),
            query="""
with daily as (select * from {batch}),
last_day as (
    select funnel_stage, persons from daily
    where calendar_date = (select max(calendar_date) from daily)
),
current_stages as (
    select funnel_stage, count(*) as persons from marts.fct_funnel_stages group by 1
)
select
    coalesce(last_day.funnel_stage, current_stages.funnel_stage) as funnel_stage,
    coalesce(last_day.persons, 0) as persons_on_last_day,
    coalesce(current_stages.persons, 0) as persons_in_fct_funnel_stages
from last_day
full outer join current_stages on last_day.funnel_stage = current_stages.funnel_stage
where coalesce(last_day.persons, 0) <> coalesce(current_stages.persons, 0)
""",
        ),
        Reconciliation(
            name="totals_match_benefit_page_window",
            mart="fct_signup_conversion",
            rule="new visitors and sign-ups summed over fct_signup_conversion "
            "= the window row of rpt_benefit_page_effect",
            tables=("marts.fct_signup_conversion", "marts.rpt_benefit_page_effect"),
            query="""
with conversion as (
    select
        coalesce(sum(new_visitors), 0) as new_visitors,
        coalesce(sum(signups), 0) as signups
    from {batch}
),
report as (
    select new_visitors, signups from marts.rpt_benefit_page_effect
    where period_type = 'window'
)
select
    conversion.new_visitors as new_visitors_in_fct_signup_conversion,
    report.new_visitors as new_visitors_in_rpt_benefit_page_effect,
    conversion.signups as signups_in_fct_signup_conversion,
    report.signups as signups_in_rpt_benefit_page_effect
from conversion
full outer join report on true
where conversion.new_visitors is distinct from report.new_visitors
    or conversion.signups is distinct from report.signups
""",
        ),
        Reconciliation(
            name="signups_match_staging",
            mart="fct_signup_conversion",
            rule="sign-ups in fct_signup_conversion = staged members who signed up within "
            f"{window_days} days (var signup_conversion_window_days) of a first visit in "
            "the analysis window",
            tables=(
                "marts.fct_signup_conversion",
                "marts.dim_persons",
                "staging.stg_shop__members",
                "intermediate.int_analysis_window",
            ),
            query=f"""
with conversion as (select coalesce(sum(signups), 0) as signups from {{batch}}),
staged as (
    select count(distinct members.member_id) as signups
    from staging.stg_shop__members as members
    inner join marts.dim_persons as persons on persons.member_id = members.member_id
    cross join intermediate.int_analysis_window as analysis_window
    where cast(persons.first_visit_at as date)
        between analysis_window.analysis_start_date and analysis_window.analysis_end_date
        and members.signed_up_at >= persons.first_visit_at
        and members.signed_up_at <= persons.first_visit_at + to_days({window_days})
)
select
    conversion.signups as signups_in_fct_signup_conversion,
    staged.signups as signups_from_staging
from conversion
cross join staged
where conversion.signups <> staged.signups
""",
        ),
        Reconciliation(
            name="members_match_staging",
            mart="dim_persons",
            rule="members in dim_persons = members in staging.stg_shop__members",
            tables=("marts.dim_persons", "staging.stg_shop__members"),
            query="""
with persons as (select member_id from {batch} where is_member),
members as (select member_id from staging.stg_shop__members)
select
    coalesce(persons.member_id, members.member_id) as member_id,
    case when persons.member_id is null then 'missing from dim_persons'
        else 'missing from stg_shop__members' end as problem
from persons
full outer join members on persons.member_id = members.member_id
where persons.member_id is null or members.member_id is null
""",
        ),
        Reconciliation(
            name="paid_orders_match_fct_orders",
            mart="dim_persons",
            rule="paid orders and their total in dim_persons = paid orders of a person "
            "in fct_orders",
            tables=("marts.dim_persons", "marts.fct_orders"),
            query="""
with persons as (
    select
        coalesce(sum(paid_order_count), 0) as paid_orders,
        coalesce(sum(paid_order_total), 0) as paid_total
    from {batch}
),
orders as (
    select count(*) as paid_orders, coalesce(sum(order_total), 0) as paid_total
    from marts.fct_orders
    where is_paid and person_id is not null
)
select
    persons.paid_orders as paid_orders_in_dim_persons,
    orders.paid_orders as paid_orders_in_fct_orders,
    persons.paid_total as paid_total_in_dim_persons,
    orders.paid_total as paid_total_in_fct_orders
from persons
cross join orders
where persons.paid_orders <> orders.paid_orders or persons.paid_total <> orders.paid_total
""",
        ),
        Reconciliation(
            name="orders_match_staging",
            mart="fct_orders",
            rule="orders in fct_orders = orders in staging.stg_shop__orders",
            tables=("marts.fct_orders", "staging.stg_shop__orders"),
            query="""
with orders as (select order_id from {batch}),
staged as (select order_id from staging.stg_shop__orders)
select
    coalesce(orders.order_id, staged.order_id) as order_id,
    case when orders.order_id is null then 'missing from fct_orders'
        else 'missing from stg_shop__orders' end as problem
from orders
full outer join staged on orders.order_id = staged.order_id
where orders.order_id is null or staged.order_id is null
""",
        ),
        Reconciliation(
            name="order_items_match_staging",
            mart="fct_order_items",
            rule="order lines and their total in fct_order_items = staging.stg_shop__order_items",
            tables=("marts.fct_order_items", "staging.stg_shop__order_items"),
            query="""
with items as (
    select count(*) as order_lines, coalesce(sum(line_total), 0) as line_total from {batch}
),
staged as (
    select count(*) as order_lines, coalesce(sum(line_total), 0) as line_total
    from staging.stg_shop__order_items
)
select
    items.order_lines as order_lines_in_fct_order_items,
    staged.order_lines as order_lines_in_staging,
    items.line_total as line_total_in_fct_order_items,
    staged.line_total as line_total_in_staging
from items
cross join staged
where items.order_lines <> staged.order_lines or items.line_total <> staged.line_total
""",
        ),
    ]
