"""The ``report`` command: the headline figures of a built warehouse, read from the marts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import duckdb

#: The case study's published figures (the original, in Korean, is in shared/seeds), printed
#: beside ours: share of new visitors, sign-up rate, share of sign-ups who had viewed the
#: benefit page, share of non-sign-ups who had not.
CASE_STUDY = {
    "new_visitor_share": "82%",
    "signup_rate": "1.23%",
    "signups_viewed_share": "82%",
    "non_signups_not_viewed_share": "73%",
}

#: What a partial shop lacks: a mart left empty, and what it takes to fill it.
MISSING_DATA = (
    ("marts.fct_sessions", "no web events: the funnel and sign-up marts are empty"),
    ("marts.fct_orders", "no orders: the loyalty marts and buyer stages are empty"),
)

HEADLINE_SQL = """
with

persons as (select * from marts.dim_persons),
stages as (select * from marts.fct_funnel_stages),
window_row as (select * from marts.rpt_benefit_page_effect where period_type = 'window')

select
    (select visitors from window_row) as visitors,
    (select new_visitor_share from window_row) as new_visitor_share,
    (select count(*) from persons where is_member) as members,
    (select signup_rate from window_row) as signup_rate,
    (select count(*) from persons where paid_order_count >= 1) as buyers,
    (select count(*) from persons where paid_order_count >= 2) as repeat_buyers,
    (select count(*) from stages where funnel_stage = 'loyal') as loyal_customers
"""

CASE_STUDY_SQL = """
select
    signup_rate, signups_viewed_share, non_signups_not_viewed_share,
    signup_rate_viewed, signup_rate_not_viewed, lift, z_score, p_value,
    period_start_date, period_end_date, new_visitors, signups
from marts.rpt_benefit_page_effect
where period_type = 'window'
"""

STAGES_SQL = """
select funnel_stage, count(*) as persons
from marts.fct_funnel_stages
group by funnel_stage, funnel_stage_rank
order by funnel_stage_rank
"""


#: The configured funnels (seeds funnel_definitions, funnel_steps): per funnel, its latest
#: period whose entries all had their whole conversion window within the data (else its
#: latest period with entries), each step as a whole (breakdown `all`).
FUNNELS_SQL = """
with

conversion as (select * from marts.rpt_funnel_conversion where breakdown_type = 'all'),

chosen_periods as (
    select
        funnel_name,
        coalesce(
            max(period_start_date) filter (where is_period_complete and is_window_complete),
            max(period_start_date) filter (where persons_entered > 0)
        ) as period_start_date
    from conversion
    group by funnel_name
)

select conversion.*
from conversion
inner join chosen_periods using (funnel_name, period_start_date)
order by conversion.funnel_name, conversion.step_number
"""


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()[0][0]
    )


def _pct(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None else f"{value * 100:.{digits}f}%"


def collect(con: duckdb.DuckDBPyConnection) -> dict:
    """Every figure the report prints, as plain data (also the --json output)."""
    report: dict = {
        "headline": _rows(con, HEADLINE_SQL)[0],
        "case_study": _rows(con, CASE_STUDY_SQL)[0],
        "stages": _rows(con, STAGES_SQL),
    }
    report["missing"] = [
        message
        for relation, message in MISSING_DATA
        if con.execute(f"select count(*) from {relation}").fetchall()[0][0] == 0
    ]
    if _has_table(con, "marts", "rpt_vip_price_affinity"):
        report["price_affinity"] = _rows(
            con,
            "select * from marts.rpt_vip_price_affinity "
            "where segment_type = 'membership_grade' order by segment_rank",
        )
    if _has_table(con, "marts", "rpt_funnel_conversion"):
        report["funnels"] = _rows(con, FUNNELS_SQL)
    return report


def _number(value: float | None, template: str) -> str:
    return "n/a" if value is None else template.format(value)


def render(report: dict) -> str:
    head = report["headline"]
    case = report["case_study"]
    lines = [f"Missing data: {message}" for message in report.get("missing", [])]
    lines += [
        "Headline figures (analysis window "
        f"{case['period_start_date']} .. {case['period_end_date']})",
        f"  visitors                 {head['visitors'] or 0:>10,}",
        f"  share of new visitors    {_pct(head['new_visitor_share']):>10}"
        f"   (case study: {CASE_STUDY['new_visitor_share']})",
        f"  members                  {head['members']:>10,}",
        f"  signup rate              {_pct(head['signup_rate'], 2):>10}"
        f"   (case study: {CASE_STUDY['signup_rate']})",
        f"  buyers                   {head['buyers']:>10,}",
        f"  repeat buyers            {head['repeat_buyers']:>10,}",
        f"  loyal customers          {head['loyal_customers']:>10,}",
        "",
        "Visitor -> member: the benefit page (new visitors of the window)",
        f"  sign-ups who had viewed the benefit page     {_pct(case['signups_viewed_share']):>7}"
        f"   (case study: {CASE_STUDY['signups_viewed_share']})",
        f"  non-sign-ups who had not viewed it           "
        f"{_pct(case['non_signups_not_viewed_share']):>7}"
        f"   (case study: {CASE_STUDY['non_signups_not_viewed_share']})",
        f"  signup rate with a view / without            {_pct(case['signup_rate_viewed'], 2)}"
        f" / {_pct(case['signup_rate_not_viewed'], 2)}",
        f"  lift {_number(case['lift'], '{:.2f}x')}, z = {_number(case['z_score'], '{:.2f}')}, "
        + (
            "p < 0.000001"
            if case["p_value"] is not None and case["p_value"] < 1e-6
            else f"p = {_number(case['p_value'], '{:.2g}')}"
        ),
        "",
        "Persons by current funnel stage",
    ]
    lines += [f"  {row['funnel_stage']:<22} {row['persons']:>10,}" for row in report["stages"]]
    if "price_affinity" in report:
        lines += ["", "VIP price affinity by membership grade (at the time of the order)"]
        lines += [
            f"  {'no grade' if row['segment'] == 'UNKNOWN' else row['segment']:<10}"
            f" avg unit price {_number(row['avg_unit_price'], '{:>12,.0f}')}"
            f"   premium-tier share {_pct(row.get('premium_tier_share'))}"
            for row in report["price_affinity"]
        ]
    if report.get("funnels"):
        lines += ["", *render_funnels(report["funnels"])]
    return "\n".join(lines)


def _duration(seconds: float | None) -> str:
    """A time to convert in the largest units that fit: 45s, 3m 20s, 5h 02m, 2d 04h."""
    if seconds is None:
        return "n/a"
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _change(row: dict) -> str:
    change = row.get("conversion_rate_change")
    if change is None:
        return ""
    text = f"{change * 100:+.1f} pts"
    p_value = row.get("conversion_rate_change_p_value")
    if p_value is not None:
        text += " (p < 0.001)" if p_value < 0.001 else f" (p = {p_value:.2g})"
    return text


def render_funnels(rows: list[dict]) -> list[str]:
    """The configured funnels: one block per funnel, one line per step."""
    lines = [
        "Configured funnels (seeds funnel_definitions, funnel_steps), latest period whose "
        "windows are complete",
        f"    {'step':<28} {'persons':>9}  {'from previous [95% CI]':<24} {'from entry':>10}"
        f"  {'median time':>11}  change from entry vs previous period",
    ]
    funnels: dict[str, list[dict]] = {}
    for row in rows:
        funnels.setdefault(row["funnel_name"], []).append(row)
    for steps in funnels.values():
        first = steps[0]
        complete = "" if first["is_window_complete"] else ", windows not complete yet"
        lines.append(
            f"  {first['funnel_label']}: {first['period_grain']} of "
            f"{first['period_start_date']}{complete}"
        )
        for row in steps:
            name = f"{row['step_number']} {row['step_name']}"
            if row["is_optional"]:
                name += " (optional)"
            line = f"    {name:<28} {row['persons']:>9,}"
            if row["step_number"] > 1:
                interval = (
                    f" [{_pct(row['step_conversion_rate_ci_lower'])}-"
                    f"{_pct(row['step_conversion_rate_ci_upper'])}]"
                    if row["step_conversion_rate_ci_lower"] is not None
                    else ""
                )
                line += (
                    f"  {_pct(row['step_conversion_rate']) + interval:<24}"
                    f" {_pct(row['conversion_rate'], 2):>10}"
                    f"  {_duration(row['median_seconds_from_previous_step']):>11}"
                    f"  {_change(row)}"
                )
            lines.append(line.rstrip())
    return lines


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="print the headline figures of a built warehouse",
        description="Read the marts of a built DuckDB file (read-only) and print the "
        "headline figures, the case study's benefit-page analysis and the funnel stages.",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=Path("data/shopfunnel.duckdb"),
        help="the built DuckDB file (default data/shopfunnel.duckdb)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.db.exists():
        print(f"report: {args.db} not found: run `make demo` (or dbt build) first", file=sys.stderr)
        return 2
    con = duckdb.connect(str(args.db), read_only=True)
    try:
        if not _has_table(con, "marts", "rpt_benefit_page_effect"):
            print(f"report: {args.db} has no marts yet: run dbt build first", file=sys.stderr)
            return 2
        report = collect(con)
    finally:
        con.close()
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(render(report))
    return 0
