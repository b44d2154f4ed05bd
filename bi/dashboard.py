"""The case-study dashboard, as code: one chart per question of the case study.

Each chart names its mart, its Superset chart type, its query (group-by columns, metrics as
SQL over the mart's columns, filters) and how Superset draws it. ``bi/provision.py`` turns
this into Superset datasets, charts and a dashboard; the test compares every chart's numbers,
read through Superset's chart-data API, with the marts queried directly.

The signup-rate interval is the Wilson 95% score interval of the pooled counts of the window
(successes / trials from ``rpt_benefit_page_effect``), the same formula as the dbt macro
``wilson_bound`` (macros/stats/stats.sql).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DASHBOARD_TITLE = "Shopfunnel: the case study"
DASHBOARD_SLUG = "shopfunnel-case-study"
DATABASE_NAME = "shopfunnel (serving file, read-only)"
Z_95 = 1.96


def wilson(successes: str, trials: str, side: str, z: float = Z_95) -> str:
    """SQL of one bound of the Wilson score interval of successes / trials."""
    sign = {"lower": "-", "upper": "+"}[side]
    n = f"nullif({trials}, 0)"
    p = f"({successes}) * 1.0 / {n}"
    return (
        f"(({p}) + {z * z} / (2 * {n}) {sign} {z} * sqrt(({p}) * (1 - ({p})) / {n} "
        f"+ {z * z} / (4 * {n} * {n}))) / (1 + {z * z} / {n})"
    )


VIEWED = ("max(signups_viewed)", "max(benefit_page_viewers)")
NOT_VIEWED = (
    "max(signups) - max(signups_viewed)",
    "max(new_visitors) - max(benefit_page_viewers)",
)


@dataclass(frozen=True)
class Metric:
    label: str
    sql: str
    number_format: str | None = None  # d3 format shown by tables, e.g. ".2%"

    def adhoc(self) -> dict[str, Any]:
        return {
            "expressionType": "SQL",
            "sqlExpression": self.sql,
            "label": self.label,
            "hasCustomLabel": True,
            "optionName": "metric_" + "".join(ch if ch.isalnum() else "_" for ch in self.label),
        }


@dataclass(frozen=True)
class Chart:
    """One chart. `x_axis` (bars) or `groupby` (tables) are SQL expressions with a label."""

    name: str
    mart: str
    viz_type: str
    metrics: tuple[Metric, ...]
    groupby: tuple[tuple[str, str], ...] = ()
    filters: tuple[tuple[str, str, Any], ...] = ()
    width: int = 4
    options: dict[str, Any] = field(default_factory=dict)
    schema: str = "marts"
    height: int = 50  # grid rows of 8 px

    def columns(self) -> list[dict[str, Any]]:
        return [
            {"expressionType": "SQL", "sqlExpression": sql, "label": label}
            for label, sql in self.groupby
        ]

    def form_data(self, dataset_id: int) -> dict[str, Any]:
        """The chart's ``params``: what Superset's explore view and dashboard read."""
        data: dict[str, Any] = {
            "datasource": f"{dataset_id}__table",
            "viz_type": self.viz_type,
            "metrics": [metric.adhoc() for metric in self.metrics],
            "adhoc_filters": [
                {
                    "expressionType": "SIMPLE",
                    "subject": column,
                    "operator": operator,
                    "comparator": value,
                    "clause": "WHERE",
                }
                for column, operator, value in self.filters
            ],
            "row_limit": 1000,
            **self.options,
        }
        if self.viz_type == "big_number_total":
            (metric,) = self.metrics
            data.update(metric=metric.adhoc(), header_font_size=0.4, subheader_font_size=0.15)
        elif self.viz_type == "echarts_timeseries_bar":
            (axis,) = self.columns()
            data.update(
                x_axis=axis,
                groupby=[],
                x_axis_sort=axis["label"],
                x_axis_sort_asc=True,
                show_value=True,
                show_legend=False,
                orientation="vertical",
                xAxisLabelRotation=30,
            )
        elif self.viz_type == "table":
            data.update(
                query_mode="aggregate",
                groupby=self.columns(),
                all_columns=[],
                column_config={
                    metric.label: {"d3NumberFormat": metric.number_format}
                    for metric in self.metrics
                    if metric.number_format
                },
            )
        return data

    def query_context(self, dataset_id: int) -> dict[str, Any]:
        """The saved query of the chart: what the chart-data API runs for it."""
        columns = self.columns()
        first = columns[0]["label"] if columns else None
        return {
            "datasource": {"id": dataset_id, "type": "table"},
            "force": False,
            "form_data": self.form_data(dataset_id),
            "result_format": "json",
            "result_type": "full",
            "queries": [
                {
                    "columns": columns,
                    "metrics": [metric.adhoc() for metric in self.metrics],
                    "filters": [
                        {"col": column, "op": operator, "val": value}
                        for column, operator, value in self.filters
                    ],
                    "orderby": [[columns[0], True]] if first else [],
                    "row_limit": 1000,
                    "extras": {"having": "", "where": ""},
                }
            ],
        }


def charts() -> list[Chart]:
    """The dashboard's charts, in reading order (rows of 12 grid columns)."""
    stage = "cast(funnel_stage_rank as varchar) || ' ' || funnel_stage"
    grade = "cast(segment_rank as varchar) || ' ' || segment"
    return [
        Chart(
            "Persons by current funnel stage",
            "fct_funnel_stages",
            "echarts_timeseries_bar",
            (Metric("persons", "count(*)"),),
            groupby=(("funnel stage", stage),),
            width=6,
        ),
        Chart(
            "Signup rate with and without the benefit page (Wilson 95% interval)",
            "rpt_benefit_page_effect",
            "table",
            (
                Metric("rate with a view", "max(signup_rate_viewed)", ".2%"),
                Metric("with: lower", wilson(*VIEWED, "lower"), ".2%"),
                Metric("with: upper", wilson(*VIEWED, "upper"), ".2%"),
                Metric("rate without", "max(signup_rate_not_viewed)", ".2%"),
                Metric("without: lower", wilson(*NOT_VIEWED, "lower"), ".2%"),
                Metric("without: upper", wilson(*NOT_VIEWED, "upper"), ".2%"),
                Metric("lift", "max(lift)", ".2f"),
                Metric("p-value", "max(p_value)", ".1e"),
            ),
            filters=(("period_type", "==", "window"),),
            width=6,
            height=20,
        ),
        Chart(
            "First-purchase conversion of new members",
            "fct_first_purchase_conversion",
            "table",
            (
                Metric("members", "sum(members)"),
                Metric("bought within the short window", "sum(buyers_short_window)"),
                Metric("bought within the long window", "sum(buyers_long_window)"),
                Metric(
                    "short-window rate",
                    "sum(buyers_short_window) * 1.0 / nullif(sum(members), 0)",
                    ".2%",
                ),
                Metric(
                    "long-window rate",
                    "sum(buyers_long_window) * 1.0 / nullif(sum(members), 0)",
                    ".2%",
                ),
            ),
            groupby=(("windows (days)", "short_window_days || ' / ' || long_window_days"),),
            filters=(("is_window_complete", "==", True),),
            width=6,
            height=20,
        ),
        Chart(
            "Average unit price by membership grade (at the time of the order)",
            "rpt_vip_price_affinity",
            "echarts_timeseries_bar",
            (Metric("average unit price", "max(avg_unit_price)"),),
            groupby=(("grade", grade),),
            filters=(("segment_type", "==", "membership_grade"),),
            width=6,
        ),
        Chart(
            "Audience sizes and measured lift",
            "rpt_audience_lift",
            "table",
            (
                Metric("exported persons", "sum(exported_persons)"),
                Metric("holdout persons", "sum(holdout_persons)"),
                Metric("exported rate", "max(exported_rate)", ".2%"),
                Metric("holdout rate", "max(holdout_rate)", ".2%"),
                Metric("lift", "max(lift)", ".2f"),
                Metric("p-value", "max(p_value)", ".1e"),
            ),
            groupby=(("audience", "audience_name"), ("as of", "cast(as_of_date as varchar)")),
            width=12,
            height=24,
        ),
        *[
            Chart(
                f"{audience}: persons to export",
                audience,
                "big_number_total",
                (Metric("persons to export", "count(*) filter (where not is_holdout)"),),
                width=4,
                height=22,
                options={"subheader": "outside the holdout"},
            )
            for audience in (
                "aud_signup_retargeting",
                "aud_first_purchase_coupon",
                "aud_vip_new_release_sms",
            )
        ],
        Chart(
            "Served version of the marts",
            "published_versions",
            "table",
            (Metric("marts", "max(mart_count)"), Metric("rows", "max(total_row_count)")),
            groupby=(
                ("version", "version_id"),
                ("published at (UTC)", "cast(published_at as varchar)"),
                ("git", "git_sha"),
                ("gate", "gate_result"),
            ),
            filters=(("is_current", "==", True),),
            width=12,
            height=18,
            schema="meta",
        ),
    ]
