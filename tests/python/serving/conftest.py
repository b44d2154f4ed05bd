"""Fixtures of the serving tests: a small real build, published; Debian packages they need.

``published_build`` generates 2,000 visitors over 30 days, runs ``dbt build`` into a scratch
warehouse (its own target and log folders) and publishes it with the real marts gate. The
PostgreSQL and Superset tests share it (one build per pytest session).

``debian_package`` finds a Debian package's program, installs the package with apt-get when
it is missing and we are root, and otherwise fails with the exact command to run: never a
silent skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from shopfunnel.serve import publish_build

VISITORS, DAYS, SEED = 2000, 30, 31


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: starts a private PostgreSQL server")
    config.addinivalue_line("markers", "superset: starts Superset (needs .venv-bi: make bi)")


@dataclass(frozen=True)
class PublishedBuild:
    raw: Path
    build_db: Path
    serve_path: Path
    manifest: Path
    version_id: str


@pytest.fixture(scope="session")
def published_build(tmp_path_factory: pytest.TempPathFactory, repo_root: Path) -> PublishedBuild:
    root = tmp_path_factory.mktemp("published_build")
    python = sys.executable
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(repo_root),
        "DBT_TARGET_PATH": str(root / "target"),
        "DBT_LOG_PATH": str(root / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DUCKDB_PATH": str(root / "build.duckdb"),
    }
    raw = root / "raw"
    for command in (
        [python, "-m", "shopfunnel", "generate", "--visitors", str(VISITORS), "--days",
         str(DAYS), "--seed", str(SEED), "--out", str(raw), "--quiet"],
        [str(Path(python).parent / "dbt"), "build", "--vars", f"{{raw_path: '{raw}'}}"],
    ):  # fmt: skip
        done = subprocess.run(command, cwd=repo_root, env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{command[:4]} failed:\n{done.stdout[-3000:]}{done.stderr}"
    serve_path = root / "serve" / "shopfunnel.duckdb"
    result = publish_build(
        root / "build.duckdb",
        serve_path,
        project_dir=repo_root,
        manifest=root / "target" / "manifest.json",
        run_results=root / "target" / "run_results.json",
    )
    assert result.published and result.version_id, result.message
    return PublishedBuild(
        raw, root / "build.duckdb", serve_path, root / "target" / "manifest.json", result.version_id
    )


def _install_command(package: str) -> str:
    return f"sudo apt-get update && sudo apt-get install -y {package}"


@pytest.fixture(scope="session")
def debian_package() -> Callable[[str, Callable[[], str | None]], str]:
    """find(package, locate) -> path of the program; installs `package` when root."""

    def ensure(package: str, locate: Callable[[], str | None]) -> str:
        found = locate()
        if found:
            return found
        if os.geteuid() != 0:
            pytest.fail(
                f"Debian package {package} is not installed and this is not root: run "
                f"`{_install_command(package)}` (or `make test`, as root), then the tests again",
                pytrace=False,
            )
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        install = ["apt-get", "install", "-y", "-qq", package]
        if subprocess.run(install, env=env, capture_output=True).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
            done = subprocess.run(install, env=env, capture_output=True, text=True)
            assert done.returncode == 0, f"apt-get install {package} failed:\n{done.stderr}"
        found = locate()
        assert found, f"{package} installed but its program was not found"
        return found

    return ensure
