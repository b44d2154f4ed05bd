"""The audit before a publish: did the dbt build succeed, does the marts gate pass?"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# statuses of run_results.json that mean the build did not succeed
FAILED_STATUSES = ("error", "fail", "runtime error")
_SUMMARY = re.compile(r"^validate: \d+ passed, \d+ failed.*$", re.MULTILINE)


@dataclass(frozen=True)
class GateResult:
    """The marts gate's verdict on one build file."""

    passed: bool
    summary: str
    failures: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return "passed" if self.passed else "failed"


def failed_dbt_nodes(run_results: Path) -> list[str]:
    """Nodes that failed in the dbt invocation recorded in `run_results` (empty if none)."""
    try:
        document = json.loads(run_results.read_text())
        results = document["results"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"cannot read dbt results from {run_results}: {exc}") from exc
    return [
        f"{result.get('unique_id', '?')} ({result.get('status')})"
        for result in results
        if str(result.get("status", "")).lower() in FAILED_STATUSES
    ]


def run_marts_gate(build_db: Path, project_dir: Path, docs_dir: Path | None = None) -> GateResult:
    """Run ``python -m shopfunnel validate --db <build_db> --stage marts`` and read its verdict.

    The gate runs in its own process (as ``make`` runs it), so its exit code is the verdict
    and its Great Expectations import stays out of this process.
    """
    command = [
        sys.executable,
        "-m",
        "shopfunnel",
        "validate",
        "--db",
        str(build_db),
        "--stage",
        "marts",
        "--project-dir",
        str(project_dir),
    ]
    command += ["--docs-dir", str(docs_dir)] if docs_dir is not None else ["--no-docs"]
    completed = subprocess.run(
        command, cwd=project_dir, capture_output=True, text=True, check=False
    )
    matches = _SUMMARY.findall(completed.stdout)
    summary = matches[-1].removeprefix("validate: ").strip() if matches else ""
    failures = tuple(
        line.removeprefix("FAIL ").strip()
        for line in completed.stderr.splitlines()
        if line.startswith("FAIL ")
    )
    if completed.returncode != 0 and not failures:
        errors = [
            line.strip()
            for line in completed.stderr.splitlines()
            if line.strip() and not line.startswith(("nanobind", " - ", "See https://nanobind"))
        ]
        failures = tuple(errors[-5:]) or (f"validate exited {completed.returncode}",)
    if not summary:
        summary = f"validate exited {completed.returncode}"
    return GateResult(completed.returncode == 0, summary, failures)
