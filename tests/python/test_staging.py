"""Staging on generated data: nothing lost, every kind of dirt caught exactly as planted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from shopfunnel.generate import Generator, Params

pytestmark = pytest.mark.e2e

TABLES = ("events", "members", "member_grade_history", "orders", "order_items", "products")

# manifest dirt key -> (staging table, quarantine rule) for rows staging must quarantine
QUARANTINED = {
    "duplicate_events": ("events", "duplicate"),
    "future_events": ("events", "future_event_at"),
    "null_anonymous_ids": ("events", "missing_anonymous_id"),
    "malformed_anonymous_ids": ("events", "malformed_anonymous_id"),
    "malformed_member_ids": ("events", "malformed_member_id"),
    "duplicate_member_exports": ("members", "duplicate"),
    "duplicate_order_exports": ("orders", "duplicate"),
    "non_positive_unit_price_lines": ("order_items", "non_positive_unit_price"),
}
# manifest dirt key -> SQL count over staged events for rows kept and flagged
FLAGGED = {
    "unknown_event_names": "not is_known_event_name",
    "bot_events": "is_bot",
    "late_events": "is_late_arriving",
    "malformed_urls": "is_url_malformed",
}


def test_raw_rows_reconcile_per_table(built_db, raw_manifest) -> None:
    for table in TABLES:
        staged = built_db.execute(f"select count(*) from staging.stg_shop__{table}").fetchall()
        quarantined = built_db.execute(
            f"select count(*) from staging.stg_shop__{table}_quarantine"
        ).fetchall()
        raw = raw_manifest["tables"][table]["rows"]
        assert staged[0][0] + quarantined[0][0] == raw, (
            f"{table}: raw {raw} != staged {staged[0][0]} + quarantined {quarantined[0][0]}"
        )


def test_every_quarantine_rule_count_equals_planted_dirt(built_db, raw_manifest) -> None:
    dirt = raw_manifest["dirt"]
    for key, (table, rule) in QUARANTINED.items():
        found = built_db.execute(
            f"select count(*) from staging.stg_shop__{table}_quarantine where quarantine_rule = ?",
            [rule],
        ).fetchall()[0][0]
        assert found == dirt[key], f"{key}: planted {dirt[key]}, quarantined as {rule}: {found}"
    # nothing else was quarantined: clean rows stay staged
    planted_total = sum(dirt[key] for key in QUARANTINED)
    total = sum(
        built_db.execute(f"select count(*) from staging.stg_shop__{table}_quarantine").fetchall()[
            0
        ][0]
        for table in TABLES
    )
    assert total == planted_total


def test_every_flag_count_equals_planted_dirt(built_db, raw_manifest) -> None:
    dirt = raw_manifest["dirt"]
    for key, condition in FLAGGED.items():
        found = built_db.execute(
            f"select count(*) from staging.stg_shop__events where {condition}"
        ).fetchall()[0][0]
        assert found == dirt[key], f"{key}: planted {dirt[key]}, flagged {found}"


def test_status_dirt_never_counts_as_paid(built_db, raw_manifest) -> None:
    dirt = raw_manifest["dirt"]
    rows = dict(
        built_db.execute(
            "select order_status, count(*) from staging.stg_shop__orders "
            "where not is_paid group by 1"
        ).fetchall()
    )
    assert rows.get("cancelled", 0) == dirt["cancelled_orders"]
    assert rows.get("refunded", 0) == dirt["refunded_orders"]
    assert rows.get("test", 0) == dirt["test_orders"]


@pytest.mark.slow
def test_csv_export_builds_and_reconciles(tmp_path: Path, repo_root: Path) -> None:
    """The same models run on a CSV export (raw_format: csv), dirt and offsets included."""
    raw = tmp_path / "raw"
    manifest = Generator(Params(visitors=600, days=10, history_days=10, seed=4), raw, "csv").run()
    env = dict(
        os.environ,
        DUCKDB_PATH=str(tmp_path / "csv.duckdb"),
        DBT_TARGET_PATH=str(tmp_path / "target"),
        DBT_LOG_PATH=str(tmp_path / "logs"),
        DBT_PROFILES_DIR=str(repo_root),
    )
    dbt = str(Path(sys.executable).parent / "dbt")
    dbt_vars = json.dumps({"raw_path": str(raw), "raw_format": "csv"})
    staging_only = [
        "build",
        "--select",
        "staging",
        "tests/staging",
        "--indirect-selection",
        "cautious",
    ]
    for command in (["seed"], staging_only):
        result = subprocess.run(
            [dbt, *command, "--vars", dbt_vars],
            cwd=repo_root,
            env=env,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stdout[-3000:]
    con = duckdb.connect(str(tmp_path / "csv.duckdb"), read_only=True)
    for table in TABLES:
        staged = con.execute(f"select count(*) from staging.stg_shop__{table}").fetchall()[0][0]
        quarantined = con.execute(
            f"select count(*) from staging.stg_shop__{table}_quarantine"
        ).fetchall()[0][0]
        assert staged + quarantined == manifest["tables"][table]["rows"], table
    con.close()
