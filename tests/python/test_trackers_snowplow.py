"""The Snowplow adapter on a real Snowplow export (var ``event_source: snowplow``).

The sample is the integration-test data of snowplow/dbt-snowplow-ecommerce 0.6.1
(tests/fixtures/snowplow_ecommerce, Apache-2.0): 833 rows of atomic.events as CSV, 59
domain_userids, 63 domain_sessionids, 14 events whose ecommerce action is `transaction`, and
the entity tables of those events. It is laid out three ways and built with dbt:

* **shredded** (Redshift/Postgres): ``events/`` and one folder per entity table; a full
  ``dbt build`` (every data test and the adapter's unit tests) must pass;
* **wide-row** (BigQuery-style columns in the events file, JSON text in CSV): ``events/``
  only; ``dbt run`` must give the same marts;
* **without ecommerce**: the events file without its ecommerce columns and no entity
  folder (a Snowplow site without the ecommerce plugin; the client session stays): it
  builds green, warns, and has no orders;
* **daily loads**: the shredded export cut into one load partition per collector day,
  delivered in two steps; the incremental run (the run manifest lists the tracker's files
  for events, orders, order lines and products) must give every mart of the shredded build
  (the whole export read at once).

The counts the marts must show are derived here from the CSV files with Python's csv module,
not through dbt: a session is a device's run of events with gaps of at most 30 minutes
(the device is domain_userid, on mobile the client-session entity's user_id; the time is
derived_tstamp); a person is a device (the sample has no user_id); an order is an event
whose action is `transaction` and that carries a transaction entity; its lines are its
product entities.

Why 63 sessions: the 62 web sessions (62 domain_sessionids with a domain_userid, each a
run of events within 30 minutes) and 1 mobile session; the 63rd domain_sessionid belongs to
the one `skip-me` event, which has no device id and is quarantined (missing_anonymous_id).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "tests" / "fixtures" / "snowplow_ecommerce"
WORK = REPO / "data" / "trackers" / "snowplow"
EVENTS_FILE = "snowplow_ecommerce_events.csv"
# sample file -> the entity table (folder) a shredded export has
ENTITY_TABLES = {
    "com_snowplowanalytics_snowplow_ecommerce_action_1.csv": (
        "com_snowplowanalytics_snowplow_ecommerce_snowplow_ecommerce_action_1"
    ),
    "com_snowplowanalytics_snowplow_ecommerce_product_1.csv": (
        "com_snowplowanalytics_snowplow_ecommerce_product_1"
    ),
    "com_snowplowanalytics_snowplow_ecommerce_transaction_1.csv": (
        "com_snowplowanalytics_snowplow_ecommerce_transaction_1"
    ),
    "com_snowplowanalytics_snowplow_client_session_1.csv": (
        "com_snowplowanalytics_snowplow_client_session_1"
    ),
}
SESSION_GAP = timedelta(minutes=30)
# ecommerce action types that are events of the raw-data contract; other types keep theirs
ACTION_NAMES = {
    "product_view": "product_view",
    "add_to_cart": "add_to_cart",
    "transaction": "purchase",
}
NO_ECOMMERCE_WARNING = "snowplow export without ecommerce transactions"


def dbt(work: Path, raw: Path, *args: str, extra_vars: dict | None = None) -> str:
    """Run dbt on a raw folder with event_source snowplow; its output (it must succeed)."""
    env = {
        **os.environ,
        "DUCKDB_PATH": str(work / "warehouse.duckdb"),
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    variables = {"raw_path": str(raw), "raw_format": "csv", "event_source": "snowplow"}
    variables.update(extra_vars or {})
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), *args, "--vars", json.dumps(variables)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"dbt {' '.join(args)} failed:\n{done.stdout[-6000:]}"
    return done.stdout


def build(name: str, lay_out: object, *command: str) -> tuple[Path, str]:
    """Lay out a raw folder under data/trackers/snowplow/<name>, seed it and run a dbt
    command on it (default: build); the warehouse file and the command's output."""
    work = WORK / name
    shutil.rmtree(work, ignore_errors=True)
    raw = work / "raw"
    (raw / "events").mkdir(parents=True)
    lay_out(raw)  # type: ignore[operator]
    dbt(work, raw, "seed", "--quiet")
    output = dbt(work, raw, *(command or ("build",)))
    return work / "warehouse.duckdb", output


# ------------------------------------------------------------------ the files, read directly


def read_csv(name: str) -> list[dict[str, str]]:
    with (SAMPLE / name).open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def instant(text: str) -> datetime:
    """A sample timestamp ('2022-12-22 13:25:47.779000+00:00', '2022-11-20 11:53:01.336',
    '... UTC') as an aware UTC datetime."""
    text = text.removesuffix(" UTC")
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Expected:
    rows: int
    domain_userids: int
    domain_sessionids: int
    transaction_actions: int
    events_with_a_device: int
    devices: int
    sessions: int
    orders: dict[str, Decimal]
    order_lines: Counter
    products: set[str]
    event_names: dict[str, int]
    event_at_range: tuple[datetime, datetime]
    loaded_at_range: tuple[datetime, datetime]


def expected_from_files() -> Expected:
    events = read_csv(EVENTS_FILE)
    action_type = {
        row["root_id"]: row["type"]
        for row in read_csv("com_snowplowanalytics_snowplow_ecommerce_action_1.csv")
    }
    transaction = {
        row["root_id"]: row
        for row in read_csv("com_snowplowanalytics_snowplow_ecommerce_transaction_1.csv")
    }
    products = read_csv("com_snowplowanalytics_snowplow_ecommerce_product_1.csv")
    products_per_event = Counter(row["root_id"] for row in products)
    client_user = {
        row["root_id"]: row["user_id"]
        for row in read_csv("com_snowplowanalytics_snowplow_client_session_1.csv")
    }

    times_per_device: dict[str, list[datetime]] = defaultdict(list)
    names: Counter = Counter()
    event_at: list[datetime] = []
    loaded_at: list[datetime] = []
    for event in events:
        device = event["domain_userid"] or client_user.get(event["event_id"])
        if device:
            happened = instant(event["derived_tstamp"] or event["collector_tstamp"])
            times_per_device[device].append(happened)
            event_at.append(happened)
            loaded_at.append(instant(event["collector_tstamp"]))
            action = action_type.get(event["event_id"]) or event["event_name"]
            names[ACTION_NAMES.get(action, action)] += 1
    sessions = 0
    for times in times_per_device.values():
        times.sort()
        gaps = (later - earlier for earlier, later in zip(times, times[1:], strict=False))
        sessions += 1 + sum(1 for gap in gaps if gap > SESSION_GAP)

    orders: dict[str, Decimal] = {}
    order_lines: Counter = Counter()
    for event in events:
        event_id = event["event_id"]
        if action_type.get(event_id) == "transaction" and event_id in transaction:
            order_id = transaction[event_id]["transaction_id"]
            orders[order_id] = Decimal(transaction[event_id]["revenue"]).quantize(Decimal("0.01"))
            order_lines[order_id] += products_per_event[event_id]
    return Expected(
        rows=len(events),
        domain_userids=len({e["domain_userid"] for e in events if e["domain_userid"]}),
        domain_sessionids=len({e["domain_sessionid"] for e in events if e["domain_sessionid"]}),
        transaction_actions=sum(1 for t in action_type.values() if t == "transaction"),
        events_with_a_device=sum(len(times) for times in times_per_device.values()),
        devices=len(times_per_device),
        sessions=sessions,
        orders=orders,
        order_lines=order_lines,
        products={row["id"] for row in products},
        event_names=dict(names),
        event_at_range=(naive(min(event_at)), naive(max(event_at))),
        loaded_at_range=(naive(min(loaded_at)), naive(max(loaded_at))),
    )


def naive(value: datetime) -> datetime:
    """A UTC datetime as the warehouse holds it (timestamp without zone)."""
    return value.astimezone(UTC).replace(tzinfo=None)


# ------------------------------------------------------------------ the three layouts


def shredded(raw: Path) -> None:
    shutil.copy(SAMPLE / EVENTS_FILE, raw / "events" / EVENTS_FILE)
    for name, table in ENTITY_TABLES.items():
        (raw / table).mkdir()
        shutil.copy(SAMPLE / name, raw / table / name)


def wide_row(raw: Path) -> None:
    shutil.copy(SAMPLE / EVENTS_FILE, raw / "events" / EVENTS_FILE)


def without_ecommerce(raw: Path) -> None:
    with (SAMPLE / EVENTS_FILE).open(newline="", encoding="utf-8") as source:
        reader = csv.DictReader(source)
        kept = [name for name in reader.fieldnames or [] if "snowplow_ecommerce" not in name]
        with (raw / "events" / EVENTS_FILE).open("w", newline="", encoding="utf-8") as target:
            writer = csv.DictWriter(target, fieldnames=kept, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(reader)


@pytest.fixture(scope="module")
def expected() -> Expected:
    return expected_from_files()


@pytest.fixture(scope="module")
def shredded_db() -> Iterator[duckdb.DuckDBPyConnection]:
    warehouse, _ = build("shredded", shredded)
    con = duckdb.connect(str(warehouse), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def wide_row_db() -> Iterator[duckdb.DuckDBPyConnection]:
    # the same marts as the shredded build, which runs every test: its models are enough
    warehouse, _ = build("wide_row", wide_row, "run")
    con = duckdb.connect(str(warehouse), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def no_ecommerce() -> Iterator[tuple[duckdb.DuckDBPyConnection, str]]:
    # every data test (the adapter's unit tests ran in the shredded build)
    warehouse, output = build(
        "no_ecommerce", without_ecommerce, "build", "--exclude", "test_type:unit"
    )
    con = duckdb.connect(str(warehouse), read_only=True)
    yield con, output
    con.close()


# ------------------------------------------------------------------ tests


def test_the_sample_is_what_its_readme_says(expected: Expected) -> None:
    assert expected.rows == 833
    assert expected.domain_userids == 59
    assert expected.domain_sessionids == 63
    assert expected.transaction_actions == 14
    # 59 web devices and one mobile device (client session); the `skip-me` event has none
    assert (expected.devices, expected.events_with_a_device) == (60, 832)
    assert (expected.sessions, len(expected.orders), sum(expected.order_lines.values())) == (
        63,
        14,
        17,
    )


def check_marts(con: duckdb.DuckDBPyConnection, expected: Expected) -> None:
    """Sessions, persons, orders and order lines of a build against the files."""
    sessions, hits = con.execute(
        "select count(*), sum(event_count) from marts.fct_sessions"
    ).fetchall()[0]
    assert (sessions, hits) == (expected.sessions, expected.events_with_a_device)
    persons, members = con.execute(
        "select count(*), count(member_id) from marts.dim_persons"
    ).fetchall()[0]
    assert (persons, members) == (expected.devices, 0)
    orders = dict(con.execute("select order_id, order_total from marts.fct_orders").fetchall())
    assert orders == expected.orders
    paid = con.execute("select count(*) from marts.fct_orders where is_paid").fetchall()[0][0]
    assert paid == len(expected.orders)
    lines = Counter(
        dict(
            con.execute(
                "select order_id, count(*) from marts.fct_order_items group by order_id"
            ).fetchall()
        )
    )
    assert lines == expected.order_lines
    staged = con.execute("select product_id from staging.stg_shop__products").fetchall()
    products = {row[0] for row in staged}
    assert products == expected.products


def test_shredded_export_builds_green_and_matches_the_files(
    shredded_db: duckdb.DuckDBPyConnection, expected: Expected
) -> None:
    check_marts(shredded_db, expected)
    quarantined = shredded_db.execute(
        "select quarantine_rule, count(*) from staging.stg_shop__events_quarantine group by 1"
    ).fetchall()
    assert quarantined == [("missing_anonymous_id", 1)]  # the `skip-me` event


def test_event_names_and_times(shredded_db: duckdb.DuckDBPyConnection, expected: Expected) -> None:
    names = dict(
        shredded_db.execute(
            "select event_name, count(*) from staging.stg_shop__events group by 1"
        ).fetchall()
    )
    assert names == expected.event_names
    times = shredded_db.execute(
        "select min(event_at), max(event_at), min(loaded_at), max(loaded_at), "
        "count(*) filter (where is_late_arriving) from staging.stg_shop__events"
    ).fetchall()[0]
    # event_at is derived_tstamp, loaded_at collector_tstamp; none is a day late
    assert times == (*expected.event_at_range, *expected.loaded_at_range, 0)


def test_wide_row_export_gives_the_same_marts(
    wide_row_db: duckdb.DuckDBPyConnection,
    shredded_db: duckdb.DuckDBPyConnection,
    expected: Expected,
) -> None:
    check_marts(wide_row_db, expected)
    for mart in ("fct_sessions", "dim_persons", "fct_orders", "fct_funnel_stages"):
        left = shredded_db.execute(f"select * from marts.{mart} order by all").fetchall()
        right = wide_row_db.execute(f"select * from marts.{mart} order by all").fetchall()
        assert left == right, mart


def test_a_site_without_ecommerce_builds_green_without_orders(
    no_ecommerce: tuple[duckdb.DuckDBPyConnection, str], expected: Expected
) -> None:
    con, output = no_ecommerce
    assert NO_ECOMMERCE_WARNING in output
    counts = con.execute(
        "select (select count(*) from marts.fct_orders), "
        "(select count(*) from marts.fct_order_items), "
        "(select count(*) from staging.stg_shop__products), "
        "(select count(*) from marts.fct_sessions)"
    ).fetchall()[0]
    assert counts == (0, 0, 0, expected.sessions)
    funnel = dict(
        con.execute(
            "select funnel_stage, count(*) from marts.fct_funnel_stages group by 1"
        ).fetchall()
    )
    assert funnel == {"visitor": expected.devices}


def split_by_day(raw: Path, through: str | None = None) -> list[str]:
    """The shredded export as load partitions, one per collector day (an entity row in its
    event's load), up to a day; the load dates."""
    def day(text: str) -> str:
        return instant(text).date().isoformat()

    files = {EVENTS_FILE: ("events", "collector_tstamp")}
    files.update({name: (table, "root_tstamp") for name, table in ENTITY_TABLES.items()})
    loads: set[str] = set()
    for name, (table, stamp) in files.items():
        with (SAMPLE / name).open(newline="", encoding="utf-8") as source:
            reader = csv.DictReader(source)
            rows = list(reader)
            fieldnames = reader.fieldnames or []
        by_day: dict[str, list[dict[str, str]]] = defaultdict(list)
        for row in rows:
            by_day[day(row[stamp])].append(row)
        for load, kept in by_day.items():
            loads.add(load)
            if through is not None and load > through:
                continue
            folder = raw / table / f"load_date={load}"
            folder.mkdir(parents=True, exist_ok=True)
            with (folder / name).open("w", newline="", encoding="utf-8") as target:
                writer = csv.DictWriter(target, fieldnames=fieldnames)
                writer.writeheader()
                writer.writerows(kept)
    return sorted(loads)


def test_daily_loads_give_the_marts_of_the_whole_export(
    shredded_db: duckdb.DuckDBPyConnection, expected: Expected
) -> None:
    """Delivered as daily loads in two steps, the export gives the marts it gives at once
    (the shredded build: its files' load dates are their rows' collector dates, as here)."""
    work = WORK / "daily"
    shutil.rmtree(work, ignore_errors=True)
    raw = work / "raw"
    loads = split_by_day(raw, through="2022-11-20")
    assert len(loads) == 7  # 2022-10-25 .. 2022-12-22
    dbt(work, raw, "seed", "--quiet")
    dbt(work, raw, "run", "--quiet")
    split_by_day(raw)  # the remaining loads arrive
    dbt(work, raw, "run", "--quiet")
    incremental = duckdb.connect(str(work / "warehouse.duckdb"), read_only=True)
    runs = incremental.execute(
        "select status, files_read, last_load_date from ops.pipeline_runs order by started_at"
    ).fetchall()
    # the second run read only the new loads' events files, for each table the export gives
    assert [(status, str(last)) for status, _, last in runs] == [
        ("success", "2022-11-20"),
        ("success", "2022-12-22"),
    ]
    assert runs[1][1] == 4 * 3  # 3 new load dates x (events, orders, order_items, products)
    marts = [
        row[0]
        for row in shredded_db.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
        ).fetchall()
    ]
    differing = [
        mart
        for mart in marts
        if incremental.execute(f"select * from marts.{mart} order by all").fetchall()
        != shredded_db.execute(f"select * from marts.{mart} order by all").fetchall()
    ]
    check_marts(incremental, expected)
    incremental.close()
    assert differing == []
