"""Apache Superset on the serving file: provisioned as code, numbers checked, a screenshot.

Superset 6.1 runs from its own virtualenv (``make bi`` creates .venv-bi) on 127.0.0.1 with
its own metadata database in a temporary folder and a generated SECRET_KEY. bi/provision.py
creates the read-only connection to the serving file, the datasets and the dashboard; the
tests read every chart through Superset's chart-data API and compare it with the marts
queried directly, check the datasets' column descriptions against the dbt manifest, and take
a screenshot of the dashboard with Debian's headless Chromium (the dashboard's own chart-data
replies are compared with the API's too).
"""

from __future__ import annotations

import json
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shopfunnel.serve.docs import mart_docs

pytestmark = pytest.mark.superset

REPO_ROOT = Path(__file__).resolve().parents[3]
BI_PYTHON = REPO_ROOT / ".venv-bi" / "bin" / "python"
SUPERSET = REPO_ROOT / ".venv-bi" / "bin" / "superset"
sys.path.insert(0, str(REPO_ROOT / "bi"))

from dashboard import Z_95, charts  # noqa: E402
from superset_client import SupersetClient  # noqa: E402

SCREENSHOT_ENV = "SHOPFUNNEL_SCREENSHOT_OUT"  # also copy the screenshot there (docs/)


@dataclass
class Superset:
    client: SupersetClient
    summary: dict[str, Any]
    password: str
    serve_path: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def superset(tmp_path_factory, published_build, debian_package) -> Iterator[Superset]:
    if not SUPERSET.exists():
        pytest.fail(f"{SUPERSET} not found: run `make bi` first (make test does)", pytrace=False)
    debian_package("chromium", lambda: shutil.which("chromium"))
    home = tmp_path_factory.mktemp("superset_home")
    password = secrets.token_urlsafe(12)
    env = {
        **os.environ,
        "SUPERSET_CONFIG_PATH": str(REPO_ROOT / "bi" / "superset_config.py"),
        "SUPERSET_SECRET_KEY": secrets.token_urlsafe(42),
        "SHOPFUNNEL_SUPERSET_HOME": str(home),
        "FLASK_APP": "superset.app:create_app()",
    }
    for command in (
        ["db", "upgrade"],
        ["fab", "create-admin", "--username", "admin", "--firstname", "BI", "--lastname",
         "Admin", "--email", "admin@localhost", "--password", password],
        ["init"],
    ):  # fmt: skip
        done = subprocess.run([str(SUPERSET), *command], env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"superset {command[0]} failed:\n{done.stderr[-3000:]}"
    port = _free_port()
    log = (home / "server.log").open("w")
    server = subprocess.Popen(
        [str(SUPERSET), "run", "-h", "127.0.0.1", "-p", str(port), "--with-threads"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(base + "/health", timeout=5) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, (home / "server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "Superset did not answer /health in 180 s"
            time.sleep(1)
        summary_file = home / "provisioned.json"
        done = subprocess.run(
            [sys.executable, str(REPO_ROOT / "bi" / "provision.py"), "--url", base,
             "--password", password, "--serve-path", str(published_build.serve_path),
             "--manifest", str(published_build.manifest), "--out", str(summary_file)],
            cwd=REPO_ROOT, capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode == 0, f"provisioning failed:\n{done.stdout}\n{done.stderr}"
        client = SupersetClient(base)
        client.login("admin", password)
        yield Superset(
            client, json.loads(summary_file.read_text()), password, published_build.serve_path
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def _query(serve_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach '{serve_path}' as served (read_only)")
        con.execute("use served")
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _wilson(successes: int, trials: int, sign: int) -> float:
    p, n, z = successes / trials, trials, Z_95
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre + sign * spread) / (1 + z * z / n)


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return (
            a is None
            and b is None
            or (
                isinstance(a or b, float) and math.isnan(a or b)  # NaN in DuckDB, null in JSON
            )
        )
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def _rows_equal(got: list[dict], expected: list[tuple], keys: list[str]) -> None:
    as_tuples = sorted((tuple(row[key] for key in keys) for row in got), key=repr)
    expected = sorted(expected, key=repr)
    assert len(as_tuples) == len(expected), (as_tuples, expected)
    for found, wanted in zip(as_tuples, expected, strict=True):
        assert all(_close(a, b) for a, b in zip(found, wanted, strict=True)), (found, wanted)


def test_a_duckdb_1_4_client_opens_the_serving_file(published_build) -> None:
    probe = (
        "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
        "print(duckdb.__version__, con.execute('select count(*) from marts.dim_persons')"
        ".fetchone()[0])"
    )
    done = subprocess.run([str(BI_PYTHON), "-c", probe, str(published_build.serve_path)],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    version, persons = done.stdout.split()
    assert version.startswith("1.4.")
    assert int(persons) > 0


def test_datasets_carry_the_dbt_column_descriptions(superset: Superset, published_build) -> None:
    docs = mart_docs(published_build.manifest)
    marts = [
        key.split(".", 1)[1] for key in superset.summary["datasets"] if key.startswith("marts.")
    ]
    served = {
        row[0]
        for row in _query(
            superset.serve_path,
            "select table_name from duckdb_tables() where schema_name = 'marts'",
        )
    }
    assert set(marts) == served
    described = 0
    for mart in marts:
        dataset = superset.client.request(
            "GET", f"/api/v1/dataset/{superset.summary['datasets'][f'marts.{mart}']}"
        )["result"]
        assert dataset["description"] == (docs[mart].description or None), mart
        for column in dataset["columns"]:
            expected = docs[mart].columns.get(column["column_name"]) or None
            assert column["description"] == expected, f"{mart}.{column['column_name']}"
            described += expected is not None
    assert described > 100


def test_each_chart_equals_the_marts(superset: Superset) -> None:
    ids = superset.summary["charts"]
    assert set(ids) == {chart.name for chart in charts()}
    data = {name: superset.client.chart_data(chart_id) for name, chart_id in ids.items()}
    serve = superset.serve_path

    _rows_equal(
        data["Persons by current funnel stage"],
        _query(serve, "select funnel_stage_rank || ' ' || funnel_stage, count(*) "
                      "from marts.fct_funnel_stages group by all"),
        ["funnel stage", "persons"],
    )  # fmt: skip

    (signup,) = data["Signup rate with and without the benefit page (Wilson 95% interval)"]
    ((viewed_rate, not_viewed_rate, lift, p_value, signups, signups_viewed, new_visitors,
      viewers),) = _query(serve, "select signup_rate_viewed, signup_rate_not_viewed, lift, "
                                 "p_value, signups, signups_viewed, new_visitors, "
                                 "benefit_page_viewers from marts.rpt_benefit_page_effect "
                                 "where period_type = 'window'")  # fmt: skip
    expected = {
        "rate with a view": viewed_rate,
        "with: lower": _wilson(signups_viewed, viewers, -1),
        "with: upper": _wilson(signups_viewed, viewers, +1),
        "rate without": not_viewed_rate,
        "without: lower": _wilson(signups - signups_viewed, new_visitors - viewers, -1),
        "without: upper": _wilson(signups - signups_viewed, new_visitors - viewers, +1),
        "lift": lift,
        "p-value": p_value,
    }
    for key, value in expected.items():
        assert _close(signup[key], value), (key, signup[key], value)
    assert signup["with: lower"] <= signup["rate with a view"] <= signup["with: upper"]

    _rows_equal(
        data["First-purchase conversion of new members"],
        _query(serve, "select short_window_days || ' / ' || long_window_days, sum(members), "
                      "sum(buyers_short_window), sum(buyers_long_window), "
                      "sum(buyers_short_window) / sum(members), "
                      "sum(buyers_long_window) / sum(members) "
                      "from marts.fct_first_purchase_conversion where is_window_complete "
                      "group by all"),
        ["windows (days)", "members", "bought within the short window",
         "bought within the long window", "short-window rate", "long-window rate"],
    )  # fmt: skip

    _rows_equal(
        data["Average unit price by membership grade (at the time of the order)"],
        _query(serve, "select segment_rank || ' ' || segment, avg_unit_price "
                      "from marts.rpt_vip_price_affinity where segment_type = 'membership_grade'"),
        ["grade", "average unit price"],
    )  # fmt: skip

    lift_rows = data["Audience sizes and measured lift"]
    _rows_equal(
        lift_rows,
        _query(serve, "select audience_name, cast(as_of_date as varchar), exported_persons, "
                      "holdout_persons, exported_rate, holdout_rate, lift, p_value "
                      "from marts.rpt_audience_lift"),
        ["audience", "as of", "exported persons", "holdout persons", "exported rate",
         "holdout rate", "lift", "p-value"],
    )  # fmt: skip
    for row in lift_rows:  # the sizes are the audience marts' own counts
        ((exported, holdout),) = _query(
            serve,
            f"select count(*) filter (where not is_holdout), count(*) filter (where is_holdout) "
            f"from marts.{row['audience']}",
        )
        assert (row["exported persons"], row["holdout persons"]) == (exported, holdout)
        (big,) = data[f"{row['audience']}: persons to export"]
        assert big["persons to export"] == exported

    (served,) = data["Served version of the marts"]
    ((version, rows),) = _query(
        serve, "select version_id, total_row_count from meta.published_versions where is_current"
    )
    assert (served["version"], served["rows"]) == (version, rows)


def _numbers(rows: list[dict]) -> list[float]:
    values = []
    for row in rows:
        for value in row.values():
            if isinstance(value, int | float) and not isinstance(value, bool):
                values.append(round(float(value), 9))
    return sorted(values)


def test_dashboard_screenshot_shows_the_same_numbers(superset: Superset, tmp_path: Path) -> None:
    out = tmp_path / "superset-dashboard.png"
    replies_file = tmp_path / "chart-data.json"
    done = subprocess.run(
        [str(BI_PYTHON), str(REPO_ROOT / "bi" / "screenshot.py"), "--url",
         superset.client.base_url, "--password", superset.password, "--charts",
         str(len(superset.summary["charts"])), "--out", str(out), "--chart-data",
         str(replies_file)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    png = out.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    replies = json.loads(replies_file.read_text())
    by_chart = {}
    for reply in replies:
        slice_id = reply["request"]["form_data"]["slice_id"]
        results = reply["reply"]["result"]
        assert all(result.get("error") is None for result in results), results
        by_chart[slice_id] = [row for result in results for row in result["data"]]
    assert set(by_chart) == set(superset.summary["charts"].values())
    for name, chart_id in superset.summary["charts"].items():
        shown = by_chart[chart_id]
        assert _numbers(shown) == _numbers(superset.client.chart_data(chart_id)), name
    target = os.environ.get(SCREENSHOT_ENV)
    if target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, target)
