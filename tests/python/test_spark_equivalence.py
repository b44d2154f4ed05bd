"""Same answers on DuckDB and on Apache Spark (README "Running on Spark").

One small generated data set, delivered as daily loads with every kind of dirt and the planted
incremental cases (late events, re-sent rows, late first logins, grade changes, refunds in
later loads), is built on the DuckDB target in one full build, and on the ``spark`` target
(pyspark in local mode) in two runs: a first build of every load but the last two (seeds and
models), then an incremental ``dbt build`` that reads the last two loads (every data test and
unit test included, the ``rerun`` unit tests too). Every mart is then read from both and
compared row for row: Spark's incremental runs (key-bucket partitions rewritten) must give what
DuckDB's full build gives. The only tolerance is for floating point: a double may differ by
1e-9 relative (the engines sum in another order). Spark's incremental tables carry one more
column, ``key_bucket`` (their partition), which is left out.

Runs only with SHOPFUNNEL_TEST_SPARK=1 (``make test-spark``): it needs Java and pyspark,
and takes minutes.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

PROJECT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
REL_TOLERANCE = 1e-9

pytestmark = pytest.mark.skipif(
    os.environ.get("SHOPFUNNEL_TEST_SPARK") != "1",
    reason="Spark comparison: run with SHOPFUNNEL_TEST_SPARK=1 (make test-spark)",
)


def _spark_env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DBT_PROFILES_DIR=str(PROJECT),
        DBT_TARGET="spark",
        SPARK_WAREHOUSE=str(work / "spark" / "warehouse"),
        SPARK_METASTORE_HOME=str(work / "spark"),
        SPARK_LOCAL_IP="127.0.0.1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        # most of the run is hundreds of small test queries whose time is planning in the
        # driver, not Spark's two executor cores: four dbt threads keep both cores busy
        DBT_THREADS=os.environ.get("DBT_THREADS", "4"),
    )
    return env


def _dbt(args: list[str], env: dict[str, str], log: Path) -> None:
    with log.open("a", encoding="utf-8") as out:
        done = subprocess.run(
            [str(BIN / "dbt"), *args], cwd=PROJECT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    if done.returncode != 0:
        tail = log.read_text(encoding="utf-8").splitlines()[-60:]
        pytest.fail(f"dbt {' '.join(args)} failed (log {log}):\n" + "\n".join(tail))


def _deliver(daily: Path, raw: Path, through: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "shopfunnel", "generate", "deliver", "--from", str(daily),
         "--to", str(raw), "--through", through],
        cwd=PROJECT, check=True, stdout=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = Path(os.environ.get("SHOPFUNNEL_SPARK_WORK") or tmp_path_factory.mktemp("spark"))
    daily, raw = work / "daily", work / "raw"
    if not (daily / "events").exists():
        subprocess.run(
            [sys.executable, "-m", "shopfunnel", "generate", "--visitors", "2000", "--days", "30",
             "--seed", "7", "--dirt", "on", "--layout", "daily", "--out", str(daily), "--quiet"],
            cwd=PROJECT, check=True,
        )
    loads = sorted(path.name.split("=", 1)[1] for path in (daily / "events").glob("load_date=*"))
    variables = json.dumps({"raw_path": str(raw)})
    spark_env = _spark_env(work)
    spark_target = ["--target-path", str(work / "target-spark")]
    # Spark, first run: every load but the last two, seeds and models in one invocation (each
    # dbt invocation on local Spark pays a minute or more for the JVM and the metastore; the
    # tests run after the incremental run below, on the final tables)
    _deliver(daily, raw, loads[-3])
    _dbt(["build", "--vars", variables, "--full-refresh", "--resource-type", "seed",
          "--resource-type", "model", *spark_target], spark_env, work / "spark.log")
    # Spark, incremental run: the last two loads, every data test and unit test, including
    # the `rerun` unit tests (of a later incremental run against the stored table), which
    # `make test` runs after its build because they need the tables this first run made
    _deliver(daily, raw, loads[-1])
    _dbt(["build", "--vars", variables, "--select", "fqn:*", *spark_target], spark_env,
         work / "spark.log")
    # DuckDB: one full run of every load (its tests run in `make test`)
    duck_env = dict(os.environ, DBT_PROFILES_DIR=str(PROJECT), DBT_TARGET="dev",
                    DUCKDB_PATH=str(work / "duck.duckdb"),
                    DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    (work / "duck.duckdb").unlink(missing_ok=True)
    _dbt(["build", "--vars", variables, "--resource-type", "seed", "--resource-type", "model",
          "--target-path", str(work / "target-duckdb")], duck_env, work / "duckdb.log")
    return {"work": work, "manifest": work / "target-duckdb" / "manifest.json"}


def _marts(manifest: Path) -> list[str]:
    nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"].values()
    return sorted(
        node["name"] for node in nodes
        if node["resource_type"] == "model" and node["schema"] == "marts"
    )


def _normal(value: Any) -> Any:
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, Decimal):
        return value.normalize() if value == value.to_integral() else value
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return value


def _sort_key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((value is None, str(round(value, 6)) if isinstance(value, float) else str(value))
                 for value in row)


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) or isinstance(right, float):
        if left is None or right is None:
            return left is right
        return math.isclose(float(left), float(right), rel_tol=REL_TOLERANCE, abs_tol=1e-12)
    if isinstance(left, Decimal) or isinstance(right, Decimal):
        return left is not None and right is not None and Decimal(left) == Decimal(right)
    return left == right


def test_every_mart_is_the_same_on_duckdb_and_spark(builds: dict[str, Path]) -> None:
    from pyspark.sql import SparkSession

    work = builds["work"]
    marts = _marts(builds["manifest"])
    assert len(marts) >= 15, marts
    os.environ.update({k: v for k, v in _spark_env(work).items() if k.startswith("SPARK")})
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.memory", "2g")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.warehouse.dir", str(work / "spark" / "warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={work / 'spark'}")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .enableHiveSupport()
        .getOrCreate()
    )
    duck = duckdb.connect(str(work / "duck.duckdb"), read_only=True)
    differences: list[str] = []
    try:
        for mart in marts:
            columns = [row[0] for row in duck.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                [mart],
            ).fetchall()]
            duck_rows = [tuple(_normal(v) for v in row) for row in duck.execute(
                f"select {', '.join(columns)} from marts.{mart}").fetchall()]
            spark_rows = [tuple(_normal(v) for v in row) for row in spark.sql(
                f"select {', '.join(f'`{c}`' for c in columns)} from marts.{mart}").collect()]
            if len(duck_rows) != len(spark_rows):
                differences.append(f"{mart}: {len(duck_rows)} rows on DuckDB, "
                                   f"{len(spark_rows)} on Spark")
                continue
            for duck_row, spark_row in zip(sorted(duck_rows, key=_sort_key),
                                           sorted(spark_rows, key=_sort_key), strict=True):
                unequal = [
                    f"{column}: {left!r} != {right!r}"
                    for column, left, right in zip(columns, duck_row, spark_row, strict=True)
                    if not _same(left, right)
                ]
                if unequal:
                    differences.append(f"{mart}: first differing row: {'; '.join(unequal[:5])}")
                    break
    finally:
        duck.close()
        spark.stop()
    assert not differences, "\n".join(differences)
