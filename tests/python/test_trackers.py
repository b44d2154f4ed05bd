"""Tracker exports: the var and the generator's option fail clearly on bad input.

The adapters themselves are tested on real and generated exports in
test_trackers_snowplow.py and test_trackers_ga4.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WORK = REPO / "data" / "trackers" / "checks"


def test_generate_writes_the_ga4_shape_as_parquet_only() -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "shopfunnel", "generate", "--visitors", "10", "--days", "1",
            "--shape", "ga4", "--format", "csv", "--out", str(WORK / "csv"), "--quiet",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "--shape ga4 writes Parquet only" in done.stderr
    assert not (WORK / "csv").exists()


@pytest.mark.slow
def test_an_unknown_event_source_stops_the_run() -> None:
    env = {
        **os.environ,
        "DUCKDB_PATH": str(WORK / "warehouse.duckdb"),
        "DBT_PROFILES_DIR": str(REPO),
        "DBT_TARGET_PATH": str(WORK / "target"),
        "DBT_LOG_PATH": str(WORK / "logs"),
    }
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")), "run", "--select", "int_as_of_date",
            "--vars", json.dumps({"raw_path": str(WORK / "raw"), "event_source": "matomo"}),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0
    assert "var event_source = matomo is not one of shop,snowplow,ga4" in done.stdout
