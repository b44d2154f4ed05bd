"""The SQL of the configured-funnel nodes as dbt compiles it, once per test session.

``test_funnels_journeys`` runs the journey model and ``test_funnels_config`` the definition
test on tables of their own; both need the compiled SQL, and one ``dbt compile`` serves both.
"""

from __future__ import annotations

import functools
import os
import subprocess
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
NODES = ("int_funnel_steps_reached", "assert_funnel_definitions_are_valid")


@functools.cache
def _compiled() -> dict[str, str]:
    work = Path(tempfile.mkdtemp(prefix="funnel_compile_"))
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(REPO_ROOT),
        "DUCKDB_PATH": str(work / "compile.duckdb"),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "dbt"), "compile", "--select", *NODES, "--quiet"],
        cwd=REPO_ROOT, env=env, check=True, capture_output=True, text=True,
    )
    compiled = work / "target" / "compiled"
    return {node: next(compiled.rglob(f"{node}.sql")).read_text() for node in NODES}


def compiled_sql(node: str) -> str:
    """The compiled SQL of one of NODES (a select statement)."""
    return _compiled()[node]
