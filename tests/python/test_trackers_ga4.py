"""The GA4 adapter (var ``event_source: ga4``) against the native path, on generated data.

The generator writes the same data set twice (seed 7, 2,000 visitors, 30 days, every kind
of dirt): in the shop's own shape, and with ``--shape ga4``, whose events table is a GA4
BigQuery export of the same hits (Parquet, GA4's nested types; the shop's other tables
unchanged). Both are built; then

* **every mart is equal, row for row** (EXCEPT ALL both ways on every column): no mart
  column differs. What legitimately differs lies in staging only, and the test pins it
  down: GA4 drops the hits of known bots before export, so ``stg_shop__events`` lacks the
  native rows with a bot user agent (which no mart counts); GA4 exports no user agent, so
  ``user_agent`` holds the device summary; every other staged column is equal (but
  ``source_file``, which names each data set's folder);
* the planted truths that the known-answer tests check exactly on the native build hold on
  the GA4 build (visitors, new visitors, benefit-page viewers, members, persons, buyers,
  repeat buyers, paid orders, members on several devices);
* an events-only GA4 site (no shop folders) builds green with orders from its purchase
  events, counted here from the Parquet files directly; an orders-only site (no export yet)
  builds green with the shop's orders and no sessions.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
WORK = REPO / "data" / "trackers" / "ga4"
GENERATE = ["--visitors", "2000", "--days", "30", "--seed", "7", "--dirt", "on", "--quiet"]
SHOP_TABLES = ("members", "member_grade_history", "orders", "order_items", "products")
BOT_AGENT_PATTERN = "(bot|crawl|spider|headless|python-requests)"


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), cwd=REPO, env=env, capture_output=True, text=True, check=False
    )


def generate(out: Path, *extra: str) -> None:
    done = run(sys.executable, "-m", "shopfunnel", "generate", *GENERATE, "--out", str(out), *extra)
    assert done.returncode == 0, done.stderr[-3000:]


def dbt(work: Path, raw: Path, source: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    variables = json.dumps({"raw_path": str(raw), "event_source": source})
    dbt_bin = str(Path(sys.executable).with_name("dbt"))
    return run(dbt_bin, *args, "--vars", variables, env=env)


def build(work: Path, raw: Path, source: str, *args: str) -> str:
    for step in (("seed", "--quiet"), ("build", *args) if args else ("build",)):
        done = dbt(work, raw, source, *step)
        assert done.returncode == 0, f"dbt {' '.join(step)} failed:\n{done.stdout[-6000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def data_sets() -> dict[str, Path]:
    """The native and the GA4-shaped raw folders of one seed."""
    shutil.rmtree(WORK, ignore_errors=True)
    generate(WORK / "native" / "raw")
    generate(WORK / "ga4" / "raw", "--shape", "ga4")
    return {"native": WORK / "native" / "raw", "ga4": WORK / "ga4" / "raw"}


@pytest.fixture(scope="module")
def both(data_sets: dict[str, Path]) -> Iterator[duckdb.DuckDBPyConnection]:
    """One connection with the native build attached as `native`, the GA4 one as `ga4`."""
    # the native path's tests run in make test's own build; here its models are enough
    native = WORK / "native"
    done = dbt(native, data_sets["native"], "shop", "seed", "--quiet")
    assert done.returncode == 0, done.stdout[-4000:]
    done = dbt(native, data_sets["native"], "shop", "run", "--quiet")
    assert done.returncode == 0, done.stdout[-4000:]
    # the GA4 path: every data test and the adapter's unit tests
    build(WORK / "ga4", data_sets["ga4"], "ga4")
    con = duckdb.connect()
    con.execute(f"attach '{native / 'warehouse.duckdb'}' as native (read_only)")
    con.execute(f"attach '{WORK / 'ga4' / 'warehouse.duckdb'}' as ga4 (read_only)")
    yield con
    con.close()


def columns_of(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "select column_name from duckdb_columns() where database_name = 'native' "
            "and schema_name = ? and table_name = ? order by column_index",
            [schema, table],
        ).fetchall()
    ]


def one_way(con: duckdb.DuckDBPyConnection, left: str, right: str, columns: str) -> int:
    return con.execute(
        f"select count(*) from (select {columns} from {left} except all "
        f"select {columns} from {right})"
    ).fetchall()[0][0]


def test_every_mart_is_equal_row_for_row(both: duckdb.DuckDBPyConnection) -> None:
    marts = [
        row[0]
        for row in both.execute(
            "select table_name from duckdb_tables() where database_name = 'native' "
            "and schema_name = 'marts' order by 1"
        ).fetchall()
    ]
    assert len(marts) >= 20
    differing = {}
    for mart in marts:
        columns = ", ".join(f'"{c}"' for c in columns_of(both, "marts", mart))
        rows = both.execute(f"select count(*) from native.marts.{mart}").fetchall()[0][0]
        extra = one_way(both, f"native.marts.{mart}", f"ga4.marts.{mart}", columns)
        missing = one_way(both, f"ga4.marts.{mart}", f"native.marts.{mart}", columns)
        if extra or missing:
            differing[mart] = (rows, extra, missing)
        if mart in ("fct_sessions", "dim_persons", "fct_orders"):
            assert rows > 100, f"{mart} has only {rows} rows: not a meaningful comparison"
    assert differing == {}, "marts that differ (rows, native only, GA4 only)"


def test_staging_differs_only_where_ga4_does(both: duckdb.DuckDBPyConnection) -> None:
    # source_file names each data set's own folder
    columns = [
        c
        for c in columns_of(both, "staging", "stg_shop__events")
        if c not in ("user_agent", "source_file")
    ]
    listed = ", ".join(f'"{c}"' for c in columns)
    humans = (
        "(select * from native.staging.stg_shop__events "
        f"where not regexp_matches(lower(coalesce(user_agent, '')), '{BOT_AGENT_PATTERN}'))"
    )
    bots = both.execute(
        "select count(*) from native.staging.stg_shop__events "
        f"where regexp_matches(lower(coalesce(user_agent, '')), '{BOT_AGENT_PATTERN}')"
    ).fetchall()[0][0]
    assert bots > 0
    assert one_way(both, humans, "ga4.staging.stg_shop__events", listed) == 0
    assert one_way(both, "ga4.staging.stg_shop__events", humans, listed) == 0
    # the GA4 rows' user agent is the device summary, never a bot's
    agents = both.execute(
        "select count(*) filter (where is_bot), count(distinct user_agent) "
        "from ga4.staging.stg_shop__events"
    ).fetchall()[0]
    assert agents[0] == 0 and agents[1] > 1
    # as many raw rows quarantined, for the same rules (bots' hits are clean rows)
    rules = (
        "select quarantine_rule, count(*) from {}.staging.stg_shop__events_quarantine "
        "group by 1 order by 1"
    )
    native_rules = both.execute(rules.format("native")).fetchall()
    assert len(native_rules) >= 5
    assert both.execute(rules.format("ga4")).fetchall() == native_rules


def test_known_answers_hold_through_ga4(
    both: duckdb.DuckDBPyConnection, data_sets: dict[str, Path]
) -> None:
    realized = json.loads((data_sets["ga4"] / "manifest.json").read_text())["realized"]
    window = both.execute(
        "select visitors, new_visitors, benefit_page_viewers "
        "from ga4.marts.rpt_benefit_page_effect where period_type = 'window'"
    ).fetchall()
    assert window == [
        (
            realized["human_visitors"],
            realized["new_visitors"],
            realized["new_visitors_viewed_benefit"],
        )
    ]
    persons, members, paid_orders, multi_device = both.execute(
        "select count(*), count(*) filter (where is_member), sum(paid_order_count), "
        "count(*) filter (where member_id is not null and anonymous_id_count > 1) "
        "from ga4.marts.dim_persons"
    ).fetchall()[0]
    assert members == realized["members"]
    assert persons == realized["human_visitors"] + realized["members_without_events"]
    assert paid_orders == realized["paid_member_orders"]
    assert multi_device == realized["multi_device_members"]
    stages = dict(
        both.execute(
            "select funnel_stage, count(*) from ga4.marts.fct_funnel_stages group by 1"
        ).fetchall()
    )
    buyers = sum(stages.get(stage, 0) for stage in ("first_time_buyer", "repeat_buyer", "loyal"))
    assert buyers == realized["buyers"]
    assert stages.get("repeat_buyer", 0) + stages.get("loyal", 0) == realized["repeat_buyers"]


def test_the_export_has_ga4s_shape(data_sets: dict[str, Path]) -> None:
    con = duckdb.connect()
    files = f"'{data_sets['ga4']}/events/**/*.parquet'"
    described = con.execute(f"describe select * from read_parquet({files})").fetchall()
    types = {row[0]: row[1] for row in described}
    value = (
        "STRUCT(string_value VARCHAR, int_value BIGINT, float_value DOUBLE, double_value DOUBLE)"
    )
    assert types["event_params"] == f'STRUCT("key" VARCHAR, "value" {value})[]'
    assert types["event_timestamp"] == "BIGINT"
    assert types["items"].startswith("STRUCT(item_id VARCHAR") and types["items"].endswith("[]")
    for record in ("device", "geo", "traffic_source", "collected_traffic_source", "ecommerce"):
        assert types[record].startswith("STRUCT("), record
    assert "user_agent" not in types and "event_id" not in types
    native = duckdb.connect().execute(
        f"select count(*) from read_parquet('{data_sets['native']}/events/**/*.parquet')"
    ).fetchall()[0][0]
    ga4 = con.execute(f"select count(*) from read_parquet({files})").fetchall()[0][0]
    manifest = json.loads((data_sets["ga4"] / "manifest.json").read_text())
    assert manifest["shape"] == "ga4"
    assert manifest["ga4"]["known_bot_events_excluded"] == manifest["dirt"]["bot_events"] > 0
    assert ga4 == native - manifest["dirt"]["bot_events"] == manifest["ga4"]["events_written"]


def test_an_events_only_ga4_site_takes_orders_from_purchases(data_sets: dict[str, Path]) -> None:
    work = WORK / "events_only"
    raw = work / "raw"
    shutil.copytree(data_sets["ga4"] / "events", raw / "events")
    build(work, raw, "ga4", "--exclude", "test_type:unit")
    files = f"read_parquet('{raw}/events/**/*.parquet')"
    reader = duckdb.connect()
    purchases, order_ids, lines = reader.execute(
        f"select count(*), count(distinct ecommerce.transaction_id), sum(len(items)) "
        f"from {files} where event_name = 'purchase'"
    ).fetchall()[0]
    duplicated = purchases - order_ids  # re-delivered purchase hits
    con = duckdb.connect(str(work / "warehouse.duckdb"), read_only=True)
    orders, paid, staged_lines, products = con.execute(
        "select (select count(*) from marts.fct_orders), "
        "(select count(*) from marts.fct_orders where is_paid), "
        "(select count(*) from marts.fct_order_items), "
        "(select count(*) from staging.stg_shop__products)"
    ).fetchall()[0]
    assert orders == paid == order_ids > 0
    quarantined_lines, duplicate_lines = con.execute(
        "select count(*), count(*) filter (where quarantine_rule = 'duplicate') "
        "from staging.stg_shop__order_items_quarantine"
    ).fetchall()[0]
    assert staged_lines + quarantined_lines == lines
    assert duplicate_lines >= duplicated
    distinct_items = reader.execute(
        f"select count(distinct item.item_id) from (select unnest(items) as item from {files})"
    ).fetchall()[0][0]
    assert products == distinct_items
    # no member table: sign-ups are seen, purchases belong to no person (no member export)
    stages = dict(
        con.execute(
            "select funnel_stage, count(*) from marts.fct_funnel_stages group by 1"
        ).fetchall()
    )
    assert set(stages) == {"visitor", "member_no_purchase"}


def test_an_orders_only_ga4_site_builds_green(data_sets: dict[str, Path]) -> None:
    work = WORK / "orders_only"
    raw = work / "raw"
    for table in SHOP_TABLES:
        shutil.copytree(data_sets["ga4"] / table, raw / table)
    output = build(work, raw, "ga4", "--exclude", "test_type:unit")
    assert "raw table events not provided" in output
    con = duckdb.connect(str(work / "warehouse.duckdb"), read_only=True)
    sessions, orders = con.execute(
        "select (select count(*) from marts.fct_sessions), (select count(*) from marts.fct_orders)"
    ).fetchall()[0]
    native_orders = duckdb.connect().execute(
        f"select count(distinct order_id) from read_parquet('{raw}/orders/**/*.parquet') "
        "where order_id is not null"
    ).fetchall()[0][0]
    assert sessions == 0 and orders == native_orders > 0


def test_ga4_needs_parquet(data_sets: dict[str, Path]) -> None:
    work = WORK / "csv"
    env = {
        **os.environ,
        "DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    variables = json.dumps(
        {"raw_path": str(data_sets["ga4"]), "event_source": "ga4", "raw_format": "csv"}
    )
    dbt_bin = str(Path(sys.executable).with_name("dbt"))
    done = run(dbt_bin, "run", "--select", "base_ga4__events", "--vars", variables, env=env)
    assert done.returncode != 0
    assert "event_source ga4 reads the GA4 export as Parquet" in done.stdout
