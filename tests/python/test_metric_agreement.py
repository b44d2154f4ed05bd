"""The MetricFlow metrics and the marts give the same numbers for the same period.

Each metric in models/marts/metrics/_metrics__metrics.yml restates a mart's definition. This
test runs `mf query ... --csv` in a subprocess against the built test warehouse
(SHOPFUNNEL_TEST_DB), for the analysis window as a whole and month by month within it, and
compares every figure with SQL over the marts: the rate, count or amount the mart reports,
or recomputes a rate from the mart's counts where the mart reports per day. A metric whose
definition drifts from its mart (a changed numerator, a lost filter, a sign-up counted
twice) fails here with the metric's name, the period and both numbers; a rate metric
outside [0, 1] fails with the rule it broke.

How mf is run, and why:
* mf reads the semantic manifest from `<project dir>/target/semantic_manifest.json`
  whatever DBT_TARGET_PATH says, so the test runs it in a scratch project folder whose
  entries link to the repository's, with the manifest of the build (DBT_TARGET_PATH, else
  target/) copied into its own target/. Nothing is written to the repository.
* The warehouse is opened read-only by everyone here (the `built_db` fixture holds a
  read-only connection for the whole session, and DuckDB refuses a read-write open while
  it does), so mf gets a copy of profiles.yml with `access_mode: READ_ONLY`.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import yaml

pytestmark = pytest.mark.e2e

# Entries of the repository the scratch project must not link (they hold build outputs).
_NOT_LINKED = {"target", "logs", "data", ".venv", ".git", "exports", "gx_docs", ".pytest_cache"}
_MF_TIMEOUT_SECONDS = 120
# Floating point: MetricFlow and the marts divide the same integers, in different SQL.
_REL_TOL = 1e-9


# ---------------------------------------------------------------- running mf


@dataclass(frozen=True)
class MfRunner:
    """Runs `mf` against the test warehouse from a scratch project folder."""

    executable: str
    project_dir: Path
    profiles_dir: Path
    db_path: Path
    out_dir: Path

    def query(self, metrics: list[str], group_by: list[str], where: str | None) -> list[dict]:
        """`mf query --csv`; the rows as dicts of strings (empty string for null)."""
        out_csv = self.out_dir / f"query_{len(list(self.out_dir.iterdir()))}.csv"
        command = [self.executable, "query", "--metrics", ",".join(metrics)]
        if group_by:
            command += ["--group-by", ",".join(group_by), "--order", ",".join(group_by)]
        if where:
            command += ["--where", where]
        command += ["--csv", str(out_csv)]
        env = {
            **os.environ,
            "DUCKDB_PATH": str(self.db_path),
            "DBT_PROFILES_DIR": str(self.profiles_dir),
            "DBT_PROJECT_DIR": str(self.project_dir),
            "DBT_LOG_PATH": str(self.project_dir / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
        }
        env.pop("DBT_TARGET_PATH", None)
        result = subprocess.run(
            command,
            cwd=self.project_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=_MF_TIMEOUT_SECONDS,
            check=False,
        )
        if result.returncode != 0 or not out_csv.exists():
            pytest.fail(
                f"`{' '.join(command)}` failed (exit {result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        with out_csv.open(newline="") as handle:
            return list(csv.DictReader(handle))


def _semantic_manifest_path(repo_root: Path) -> Path:
    target = Path(os.environ.get("DBT_TARGET_PATH") or "target")
    if not target.is_absolute():
        target = repo_root / target
    return target / "semantic_manifest.json"


@pytest.fixture(scope="module")
def semantic_manifest_path(repo_root: Path, test_db_path: Path) -> Path:
    path = _semantic_manifest_path(repo_root)
    if not path.exists():
        pytest.fail(
            f"{path} is missing: the test build (`make test-build`) writes it; "
            "set DBT_TARGET_PATH when the build used another target folder"
        )
    return path


@pytest.fixture(scope="module")
def semantic_manifest(semantic_manifest_path: Path) -> dict:
    return json.loads(semantic_manifest_path.read_text())


@pytest.fixture(scope="module")
def mf(
    tmp_path_factory: pytest.TempPathFactory,
    repo_root: Path,
    test_db_path: Path,
    semantic_manifest_path: Path,
) -> MfRunner:
    scratch = tmp_path_factory.mktemp("mf")
    project_dir = scratch / "project"
    project_dir.mkdir()
    for entry in repo_root.iterdir():
        if entry.name not in _NOT_LINKED:
            (project_dir / entry.name).symlink_to(entry)
    (project_dir / "target").mkdir()
    shutil.copy(semantic_manifest_path, project_dir / "target" / "semantic_manifest.json")

    profiles = yaml.safe_load((repo_root / "profiles.yml").read_text())
    for profile in profiles.values():
        for output in profile["outputs"].values():
            output.setdefault("config_options", {})["access_mode"] = "READ_ONLY"
    profiles_dir = scratch / "profiles"
    profiles_dir.mkdir()
    (profiles_dir / "profiles.yml").write_text(yaml.safe_dump(profiles))

    out_dir = scratch / "out"
    out_dir.mkdir()
    executable = Path(sys.executable).with_name("mf")
    found = str(executable) if executable.exists() else shutil.which("mf")
    if found is None:
        pytest.fail("the `mf` CLI (dbt-metricflow) is not installed in this environment")
    return MfRunner(found, project_dir, profiles_dir, test_db_path, out_dir)


# ---------------------------------------------------------------- what is compared


@dataclass(frozen=True)
class Agreement:
    """A metric, the mart figure it must equal, and SQL giving that figure per period.

    `mart_sql` returns rows (period, value): period is 'window' for the whole analysis
    window and 'YYYY-MM-01' for a month (clipped to the window). `{start}` and `{end}` are
    the window's first and last day.
    """

    metric: str
    mart_figure: str
    mart_sql: str
    is_rate: bool = False
    # the mart rounds some figures (the lift to 6 decimals)
    abs_tol: float = 1e-12


def _benefit_page_effect(column: str) -> str:
    return f"""
        select
            case when period_type = 'window' then 'window'
                else strftime(period_start_date, '%Y-%m-01') end as period,
            {column} as value
        from marts.rpt_benefit_page_effect
    """


def _by_period(date_column: str, value: str, relation: str, where: str = "true") -> str:
    """SQL of `value` over `relation` for the window and each month in it."""
    return f"""
        select 'window' as period, {value} as value
        from {relation}
        where {date_column} between '{{start}}' and '{{end}}' and {where}
        union all
        select strftime({date_column}, '%Y-%m-01') as period, {value} as value
        from {relation}
        where {date_column} between '{{start}}' and '{{end}}' and {where}
        group by 1
    """


def _stage_at_period_end(stage_filter: str) -> str:
    """Stocks: persons on the last day of the period (within the window) that has data."""
    return f"""
        with daily as (
            select calendar_date, sum(persons) as persons
            from marts.fct_funnel_stage_daily
            where {stage_filter} and calendar_date between '{{start}}' and '{{end}}'
            group by calendar_date
        )
        select 'window' as period, arg_max(persons, calendar_date) as value from daily
        union all
        select strftime(calendar_date, '%Y-%m-01') as period, arg_max(persons, calendar_date)
        from daily
        group by 1
    """


AGREEMENTS: list[Agreement] = [
    Agreement("visitors", "rpt_benefit_page_effect.visitors", _benefit_page_effect("visitors")),
    Agreement(
        "new_visitors",
        "rpt_benefit_page_effect.new_visitors",
        _benefit_page_effect("new_visitors"),
    ),
    Agreement(
        "new_visitor_share",
        "rpt_benefit_page_effect.new_visitor_share",
        _benefit_page_effect("new_visitor_share"),
        is_rate=True,
    ),
    Agreement(
        "new_visitor_signups",
        "rpt_benefit_page_effect.signups",
        _benefit_page_effect("signups"),
    ),
    Agreement(
        "signup_rate",
        "rpt_benefit_page_effect.signup_rate",
        _benefit_page_effect("signup_rate"),
        is_rate=True,
    ),
    Agreement(
        "signup_rate_viewed",
        "rpt_benefit_page_effect.signup_rate_viewed",
        _benefit_page_effect("signup_rate_viewed"),
        is_rate=True,
    ),
    Agreement(
        "signup_rate_not_viewed",
        "rpt_benefit_page_effect.signup_rate_not_viewed",
        _benefit_page_effect("signup_rate_not_viewed"),
        is_rate=True,
    ),
    Agreement(
        "benefit_page_lift",
        "rpt_benefit_page_effect.lift (rounded to 6 decimals)",
        _benefit_page_effect("lift"),
        abs_tol=5e-7,
    ),
    Agreement(
        "sessions",
        "count of fct_sessions rows",
        _by_period("session_date", "count(*)::double", "marts.fct_sessions"),
    ),
    Agreement(
        "signed_up_members",
        "sum of fct_first_purchase_conversion.members",
        _by_period("signup_date", "sum(members)::double", "marts.fct_first_purchase_conversion"),
    ),
    Agreement(
        "first_buyers_long_window",
        "sum of fct_first_purchase_conversion.buyers_long_window",
        _by_period("signup_date", "sum(buyers_long_window)", "marts.fct_first_purchase_conversion"),
    ),
    Agreement(
        "first_buyers_short_window",
        "sum of fct_first_purchase_conversion.buyers_short_window",
        _by_period(
            "signup_date", "sum(buyers_short_window)", "marts.fct_first_purchase_conversion"
        ),
    ),
    Agreement(
        "first_purchase_rate",
        "sum(buyers_long_window) / sum(members) of fct_first_purchase_conversion",
        _by_period(
            "signup_date",
            "sum(buyers_long_window)::double / nullif(sum(members), 0)",
            "marts.fct_first_purchase_conversion",
        ),
        is_rate=True,
    ),
    Agreement(
        "first_purchase_rate_short_window",
        "sum(buyers_short_window) / sum(members) of fct_first_purchase_conversion",
        _by_period(
            "signup_date",
            "sum(buyers_short_window)::double / nullif(sum(members), 0)",
            "marts.fct_first_purchase_conversion",
        ),
        is_rate=True,
    ),
    Agreement(
        "loyal_customers",
        "fct_funnel_stage_daily.persons (loyal) on the period's last day",
        _stage_at_period_end("funnel_stage = 'loyal'"),
    ),
    Agreement(
        "persons_in_stage",
        "fct_funnel_stage_daily.persons, all stages, on the period's last day",
        _stage_at_period_end("true"),
    ),
    Agreement(
        "revenue",
        "sum of fct_orders.order_total where is_paid",
        _by_period("ordered_date", "sum(order_total) filter (where is_paid)", "marts.fct_orders"),
    ),
    Agreement(
        "paid_orders",
        "count of fct_orders where is_paid",
        _by_period("ordered_date", "count(*) filter (where is_paid)", "marts.fct_orders"),
    ),
    Agreement(
        "average_order_value",
        "sum(order_total) / count(*) of fct_orders where is_paid",
        _by_period(
            "ordered_date",
            "sum(order_total) filter (where is_paid)::double"
            " / nullif(count(*) filter (where is_paid), 0)",
            "marts.fct_orders",
        ),
    ),
    Agreement(
        "customers",
        "count of dim_customers by first paid order date",
        _by_period("cast(first_order_at as date)", "count(*)", "marts.dim_customers"),
    ),
    Agreement(
        "repeat_customers",
        "count of dim_customers with paid_order_count >= 2",
        _by_period(
            "cast(first_order_at as date)",
            "count(*) filter (where paid_order_count >= 2)",
            "marts.dim_customers",
        ),
    ),
    Agreement(
        "repeat_purchase_rate",
        "share of dim_customers with paid_order_count >= 2",
        _by_period(
            "cast(first_order_at as date)",
            "count(*) filter (where paid_order_count >= 2)::double / nullif(count(*), 0)",
            "marts.dim_customers",
        ),
        is_rate=True,
    ),
    Agreement(
        "paid_units",
        "sum of fct_order_items.quantity, paid orders of known persons",
        _by_period(
            "cast(ordered_at as date)",
            "sum(quantity) filter (where is_paid and person_id is not null)",
            "marts.fct_order_items",
        ),
    ),
    Agreement(
        "new_release_units",
        "sum of fct_order_items.quantity where is_new_release, paid orders of known persons",
        _by_period(
            "cast(ordered_at as date)",
            "sum(quantity) filter (where is_paid and person_id is not null and is_new_release)",
            "marts.fct_order_items",
        ),
    ),
    Agreement(
        "new_release_share_loyal",
        "new-release share of the paid units of persons in stage loyal "
        "(fct_order_items, fct_funnel_stages)",
        _by_period(
            "cast(items.ordered_at as date)",
            "(sum(items.quantity) filter (where items.is_new_release))::double"
            " / nullif(sum(items.quantity), 0)",
            "marts.fct_order_items as items inner join marts.fct_funnel_stages as stages"
            " on items.person_id = stages.person_id",
            "items.is_paid and stages.funnel_stage = 'loyal'",
        ),
        is_rate=True,
    ),
]


# ---------------------------------------------------------------- fixtures over the data


@pytest.fixture(scope="module")
def analysis_window(built_db: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date]:
    rows = built_db.execute(
        "select analysis_start_date, analysis_end_date from intermediate.int_analysis_window"
    ).fetchall()
    assert len(rows) == 1, "int_analysis_window must have exactly one row"
    return rows[0][0], rows[0][1]


def _parse(value: str) -> float | None:
    return None if value == "" else float(value)


@pytest.fixture(scope="module")
def mf_figures(mf: MfRunner, analysis_window: tuple[dt.date, dt.date]) -> dict[str, dict]:
    """metric -> period -> value, from two mf queries (the window; its months)."""
    start, end = analysis_window
    metrics = [agreement.metric for agreement in AGREEMENTS]
    where = f"{{{{ TimeDimension('metric_time', 'day') }}}} between '{start}' and '{end}'"
    figures: dict[str, dict] = {metric: {} for metric in metrics}
    (window_row,) = mf.query(metrics, [], where)
    for metric in metrics:
        figures[metric]["window"] = _parse(window_row[metric])
    for row in mf.query(metrics, ["metric_time__month"], where):
        period = row["metric_time__month"][:10]
        for metric in metrics:
            figures[metric][period] = _parse(row[metric])
    return figures


def _mart_figures(
    built_db: duckdb.DuckDBPyConnection, agreement: Agreement, window: tuple[dt.date, dt.date]
) -> dict[str, float | None]:
    sql = agreement.mart_sql.format(start=window[0], end=window[1])
    return {
        period: None if value is None else float(value)
        for period, value in built_db.execute(sql).fetchall()
    }


def _same(left: float | None, right: float | None, abs_tol: float = 1e-12) -> bool:
    if left is None or right is None:
        # a period with no rows on one side is a zero count / an undefined rate on the other
        return (left or 0.0) == (right or 0.0)
    return math.isclose(left, right, rel_tol=_REL_TOL, abs_tol=abs_tol)


# ---------------------------------------------------------------- the tests


@pytest.mark.parametrize("agreement", AGREEMENTS, ids=lambda agreement: agreement.metric)
def test_metric_agrees_with_mart(
    agreement: Agreement,
    mf_figures: dict[str, dict],
    built_db: duckdb.DuckDBPyConnection,
    analysis_window: tuple[dt.date, dt.date],
) -> None:
    from_mf = mf_figures[agreement.metric]
    from_mart = _mart_figures(built_db, agreement, analysis_window)
    assert "window" in from_mart, f"{agreement.mart_figure}: no figure for the analysis window"
    problems = [
        f"metric {agreement.metric}, period {period}: mf query gives {from_mf.get(period)}, "
        f"the mart ({agreement.mart_figure}) gives {from_mart.get(period)}"
        for period in sorted(set(from_mf) | set(from_mart))
        if not _same(from_mf.get(period), from_mart.get(period), agreement.abs_tol)
    ]
    assert not problems, "metric and mart disagree:\n" + "\n".join(problems)


@pytest.mark.parametrize(
    "agreement",
    [agreement for agreement in AGREEMENTS if agreement.is_rate],
    ids=lambda agreement: agreement.metric,
)
def test_rate_metric_within_bounds(agreement: Agreement, mf_figures: dict[str, dict]) -> None:
    broken = {
        period: value
        for period, value in mf_figures[agreement.metric].items()
        if value is not None and not 0.0 <= value <= 1.0
    }
    assert not broken, (
        f"metric {agreement.metric} breaks the rule 'a rate lies in [0, 1]': {broken}"
    )


def test_signup_rate_by_channel_agrees(
    mf: MfRunner,
    built_db: duckdb.DuckDBPyConnection,
) -> None:
    """Grouping by a dimension gives the mart's figures too (sign-up rate per channel)."""
    rows = mf.query(["new_visitors", "signup_rate"], ["signup_cohort__first_touch_channel"], None)
    from_mf = {
        row["signup_cohort__first_touch_channel"]: (
            _parse(row["new_visitors"]),
            _parse(row["signup_rate"]),
        )
        for row in rows
    }
    from_mart = {
        channel: (float(new_visitors), rate)
        for channel, new_visitors, rate in built_db.execute(
            """
            select
                first_touch_channel,
                sum(new_visitors),
                sum(signups)::double / nullif(sum(new_visitors), 0)
            from marts.fct_signup_conversion
            group by 1
            """
        ).fetchall()
    }
    assert from_mf.keys() == from_mart.keys()
    problems = [
        f"metric signup_rate, channel {channel}: mf query gives {from_mf[channel]}, "
        f"fct_signup_conversion gives {from_mart[channel]} (new_visitors, signup_rate)"
        for channel in sorted(from_mart)
        if not all(_same(a, b) for a, b in zip(from_mf[channel], from_mart[channel], strict=True))
    ]
    assert not problems, "\n".join(problems)


def test_new_release_share_loyal_agrees_with_report(
    mf: MfRunner, built_db: duckdb.DuckDBPyConnection
) -> None:
    """All time, the metric is rpt_new_release_response's figure for the loyal segment."""
    (row,) = mf.query(["new_release_share_loyal", "paid_units", "new_release_units"], [], None)
    report = built_db.execute(
        """
        select new_release_share, units, new_release_units
        from marts.rpt_new_release_response
        where segment = 'loyal'
        """
    ).fetchall()
    assert len(report) == 1, "rpt_new_release_response has no single 'loyal' row"
    share, units, new_release_units = report[0]
    assert _same(_parse(row["new_release_share_loyal"]), share), (
        f"metric new_release_share_loyal, all time: mf query gives "
        f"{row['new_release_share_loyal']}, rpt_new_release_response.new_release_share "
        f"(segment loyal) gives {share}"
    )
    # every paid unit of a known person is in one of the report's two segments
    totals = built_db.execute(
        "select sum(units), sum(new_release_units) from marts.rpt_new_release_response"
    ).fetchall()[0]
    assert (_parse(row["paid_units"]), _parse(row["new_release_units"])) == (
        float(totals[0]),
        float(totals[1]),
    ), (
        f"metrics paid_units / new_release_units, all time: mf query gives "
        f"{row['paid_units']} / {row['new_release_units']}, rpt_new_release_response "
        f"(both segments) gives {totals[0]} / {totals[1]}"
    )
    # a share over no units would agree vacuously (both null): the loyal segment must buy,
    # and buy some new releases (the generator plants a 60% new-release share for loyal types)
    assert units > 0 and 0 < new_release_units < units


def test_every_metric_is_checked(semantic_manifest: dict) -> None:
    """A new metric gets an agreement check here."""
    checked = {agreement.metric for agreement in AGREEMENTS}
    unchecked = sorted(
        metric["name"] for metric in semantic_manifest["metrics"] if metric["name"] not in checked
    )
    assert not unchecked, (
        f"metrics with no agreement check (an Agreement in {Path(__file__).name}): {unchecked}"
    )


def test_every_metric_is_documented(semantic_manifest: dict, repo_root: Path) -> None:
    text = (repo_root / "docs" / "metrics.md").read_text()
    undocumented = [
        metric["name"]
        for metric in semantic_manifest["metrics"]
        if f"`{metric['name']}`" not in text or not (metric.get("description") or "").strip()
    ]
    assert not undocumented, (
        f"metrics missing from docs/metrics.md or without a description: {undocumented}"
    )


def test_time_spine_covers_the_marts(built_db: duckdb.DuckDBPyConnection) -> None:
    spine_start, spine_end = built_db.execute(
        "select min(calendar_date), max(calendar_date) from marts.metricflow_time_spine"
    ).fetchall()[0]
    dates = {
        f"{table}.{column}": f"select min({column}), max({column}) from marts.{table}"
        for table, column in [
            ("fct_sessions", "session_date"),
            ("fct_signup_conversion", "first_visit_date"),
            ("fct_funnel_stage_daily", "calendar_date"),
            ("fct_first_purchase_conversion", "signup_date"),
            ("fct_orders", "ordered_date"),
            ("fct_order_items", "cast(ordered_at as date)"),
            ("dim_customers", "cast(first_order_at as date)"),
        ]
    }
    outside = []
    for column, sql in dates.items():
        first, last = built_db.execute(sql).fetchall()[0]
        if first is not None and (first < spine_start or last > spine_end):
            outside.append(f"{column} spans {first}..{last}")
    assert not outside, (
        f"metricflow_time_spine spans {spine_start}..{spine_end} but {outside}: widen vars "
        "metric_time_spine_start_date / metric_time_spine_end_date"
    )
