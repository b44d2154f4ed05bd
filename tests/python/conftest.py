"""Shared pytest fixtures.

End-to-end tests read the DuckDB file built by ``make test`` and the raw data set it was
built from (with the generator's manifest.json). ``make pytest`` passes them as
SHOPFUNNEL_TEST_DB and SHOPFUNNEL_TEST_RAW; when they are unset those tests are skipped with
a message saying how to run them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _env_path(name: str) -> Path:
    value = os.environ.get(name)
    if not value:
        pytest.skip(f"{name} is not set: run `make test` (it builds the test data set first)")
    path = Path(value)
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.exists():
        pytest.skip(f"{name}={value} does not exist: run `make test-build` first")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def test_db_path() -> Path:
    """The DuckDB file built from the test data set."""
    return _env_path("SHOPFUNNEL_TEST_DB")


@pytest.fixture(scope="session")
def test_raw_path() -> Path:
    """The raw folder the test build read (one sub-folder per table, manifest.json)."""
    return _env_path("SHOPFUNNEL_TEST_RAW")


@pytest.fixture(scope="session")
def raw_manifest(test_raw_path: Path) -> dict:
    """The generator's manifest.json of the test data set: parameters, planted rates, dirt."""
    return json.loads((test_raw_path / "manifest.json").read_text())


@pytest.fixture(scope="session")
def built_db(test_db_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the built warehouse."""
    con = duckdb.connect(str(test_db_path), read_only=True)
    try:
        yield con
    finally:
        con.close()
