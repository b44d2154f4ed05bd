"""Slim CI: lint, build and validate only what a change touched, against production state.

The pull-request workflow (``.github/workflows/pr.yml``) and ``make ci-slim`` run this same
code, so it can be run and tested locally::

    # once: build the "production" state (what main looks like) into target-prod/
    python -m shopfunnel slim-ci build-state --state target-prod --raw data/ci/raw
    # on a branch: lint the changed SQL, build state:modified+, validate
    python -m shopfunnel slim-ci run --state target-prod

The state folder
    ``build-state`` runs a full ``dbt build`` with the state folder as dbt's target path, so
    the folder holds ``manifest.json`` (what ``--state`` reads), the warehouse file it
    describes (``prod.duckdb``) and ``slim_ci_state.json`` (the warehouse file name and the
    ``raw_path``/``raw_format`` vars of the build). With ``--validate`` it also runs the
    validation gate, whose row counts (a sidecar file of the warehouse) travel with the clone,
    so a pull request's validation compares volumes with production. On GitHub the
    push-to-main job builds it and uploads it as the ``prod-state`` artifact; pull requests
    download the newest one.

Why a clone of the production warehouse
    DuckDB has no shared warehouse that a CI run could defer to: production is a file. A run
    therefore starts from a copy of that file (the DuckDB counterpart of a zero-copy clone),
    named like it, so every relation name in the state manifest is valid in the copy. Then
    ``dbt build --select state:modified+ --defer --state DIR`` rebuilds and tests only the
    changed nodes and their children, in the copy; every other ref reads the production
    relation under the state manifest's name (present in the clone; ``--defer`` would point
    at the same name if it were not), and is never rebuilt. The validation then sees a
    complete warehouse: production where nothing changed, the branch's build where something
    did.

The steps of ``run``
    1. lint the changed SQL with sqlfluff (own target path and DuckDB file under ``--ci-dir``);
    2. clone the production warehouse into ``--ci-dir`` and ``dbt build --select
       state:modified+ --defer --state DIR`` there (artifacts in ``--ci-dir/target``);
    3. ``python -m shopfunnel validate --db <clone>`` (its options are read from its
       ``--help``);
    4. with ``--docs``: ``dbt docs generate`` into ``--ci-dir/docs``.
    Each failing step stops the run with a message naming the step (exit 1).

Which SQL is linted
    By default the SQL files of the nodes dbt itself calls modified: ``dbt ls --select
    state:modified --state DIR`` (models, snapshots, singular tests, analyses; with the
    state's vars, so the sources compare equal). dbt decides what changed (file checksums,
    configs, macros the node calls, contracts), so the lint and the build agree, and no git
    history is needed. Generic tests' instances live in YAML and their SQL in macros
    (``tests/generic``), which sqlfluff skips, so they are left out. ``--lint-base REF``
    lints instead the files changed since ``git merge-base REF HEAD`` (committed, staged,
    unstaged and untracked): the pull request's own diff; the workflow uses it.

Keep ``raw_path`` the same string as in the state build: dbt compares the rendered source
location, so a different path marks every source (and all of the project) as modified.
``run`` takes it from ``slim_ci_state.json`` unless ``--raw`` is given.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

STATE_FILE = "slim_ci_state.json"
DEFAULT_STATE = "target-prod"
DEFAULT_CI_DIR = "target/slim-ci"
DEFAULT_DB_FILE = "prod.duckdb"
# dbt_project.yml keys of the folders whose .sql files sqlfluff lints, with dbt's defaults
SQL_PATH_KEYS = {
    "model-paths": ["models"],
    "test-paths": ["tests"],
    "snapshot-paths": ["snapshots"],
    "analysis-paths": ["analyses"],
}
# node types whose .sql files are linted (dbt ls --resource-type)
LINTED_RESOURCE_TYPES = ("model", "snapshot", "test", "analysis")


class SlimCIError(RuntimeError):
    """A step failed; the message names the step."""


@dataclass(frozen=True)
class StateInfo:
    manifest: dict[str, Any]
    db_file: Path | None
    raw_path: str | None
    raw_format: str | None


# ------------------------------------------------------------------ small helpers


def _bin(name: str) -> str:
    """An executable of the running interpreter's environment (the pinned stack)."""
    candidate = Path(sys.executable).with_name(name)
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        raise SlimCIError(f"{name} not found next to {sys.executable} nor on PATH")
    return found


def _say(message: str) -> None:
    print(f"slim-ci: {message}", flush=True)


def _run(step: str, command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
    _say(f"{step}: {' '.join(command)}")
    result = subprocess.run(list(command), cwd=cwd, env=dict(env))
    if result.returncode != 0:
        raise SlimCIError(f"step {step!r} failed (exit {result.returncode}): {' '.join(command)}")


def _dbt_env(base: Mapping[str, str], project_dir: Path, db: Path, target: Path) -> dict[str, str]:
    return {
        **base,
        "DBT_PROFILES_DIR": str(project_dir),
        "DUCKDB_PATH": str(db),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(target / "logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }


def _vars(raw_path: str | None, raw_format: str | None) -> list[str]:
    values = {"raw_path": raw_path, "raw_format": raw_format}
    values = {key: value for key, value in values.items() if value}
    return ["--vars", json.dumps(values)] if values else []


def sql_dirs(project_dir: Path) -> list[str]:
    """The folders (relative to the project) that hold linted SQL, from dbt_project.yml."""
    config = yaml.safe_load((project_dir / "dbt_project.yml").read_text()) or {}
    folders: list[str] = []
    for key, default in SQL_PATH_KEYS.items():
        folders += [str(folder).rstrip("/") for folder in config.get(key, default)]
    return folders


def _under(path: str, folders: Iterable[str]) -> bool:
    return any(path == folder or path.startswith(folder + "/") for folder in folders)


# ------------------------------------------------------------------ what changed


def changed_sql_vs_state(
    project_dir: Path,
    state_dir: Path,
    work_dir: Path,
    env: Mapping[str, str],
    dbt_vars: Sequence[str] = (),
    db_name: str = DEFAULT_DB_FILE,
) -> list[str]:
    """SQL files (relative paths) of the nodes dbt calls modified against the state:
    ``dbt ls --select state:modified`` (its parse goes to ``work_dir``). ``db_name``: the
    state's warehouse file name; DuckDB names the database after the file, and a relation in
    another database would count as modified."""
    work_dir.mkdir(parents=True, exist_ok=True)
    command = [_bin("dbt"), "--quiet", "ls", "--select", "state:modified", "--state"]
    command += [str(state_dir), *dbt_vars, "--output", "json", "--output-keys"]
    command += ["original_file_path", "resource_type"]
    for resource_type in LINTED_RESOURCE_TYPES:
        command += ["--resource-type", resource_type]
    ls_env = _dbt_env(env, project_dir, work_dir / db_name, work_dir)
    result = subprocess.run(command, cwd=project_dir, env=ls_env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SlimCIError(
            f"step 'lint': dbt ls --select state:modified failed (exit {result.returncode}):\n"
            f"{result.stdout}{result.stderr}"
        )
    return sql_files_of(result.stdout)


def sql_files_of(ls_output: str) -> list[str]:
    """The .sql files named by ``dbt ls --output json`` lines (other lines are dbt's log)."""
    files = set()
    for line in ls_output.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        path = str(json.loads(line).get("original_file_path", ""))
        if path.endswith(".sql"):
            files.add(path)
    return sorted(files)


def changed_sql_vs_git(project_dir: Path, base_ref: str) -> list[str]:
    """SQL files changed since the merge-base of base_ref and HEAD, working tree included."""

    def git(*args: str) -> str:
        result = subprocess.run(
            ["git", *args], cwd=project_dir, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise SlimCIError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    base = git("merge-base", base_ref, "HEAD").strip()
    # both answer relative to the project folder, and only for files under it
    names = git("diff", "--name-only", "--diff-filter=d", "--relative", base).splitlines()
    names += git("ls-files", "--others", "--exclude-standard").splitlines()
    folders = sql_dirs(project_dir)
    return sorted(
        {
            name
            for name in names
            if name.endswith(".sql") and _under(name, folders) and (project_dir / name).exists()
        }
    )


# ------------------------------------------------------------------ state


def read_state(state_dir: Path, prod_db: Path | None = None) -> StateInfo:
    manifest_path = state_dir / "manifest.json"
    if not manifest_path.exists():
        raise SlimCIError(
            f"no production manifest at {manifest_path}: build it with "
            f"`python -m shopfunnel slim-ci build-state --state {state_dir}` (or download "
            "the prod-state artifact of the main branch)"
        )
    manifest = json.loads(manifest_path.read_text())
    info: dict[str, Any] = {}
    if (state_dir / STATE_FILE).exists():
        info = json.loads((state_dir / STATE_FILE).read_text())
    db_file = prod_db
    if db_file is None and info.get("database_file"):
        db_file = state_dir / info["database_file"]
    if db_file is None:
        candidates = sorted(state_dir.glob("*.duckdb"))
        db_file = candidates[0] if len(candidates) == 1 else None
    return StateInfo(manifest, db_file, info.get("raw_path"), info.get("raw_format"))


def clone_warehouse(prod_db: Path, ci_dir: Path) -> Path:
    """Copy the production DuckDB file (and its WAL and sidecar files) into ci_dir, keeping
    its name so the database name in the state manifest stays valid."""
    if not prod_db.exists():
        raise SlimCIError(f"production warehouse {prod_db} does not exist")
    ci_dir.mkdir(parents=True, exist_ok=True)
    clone = ci_dir / prod_db.name
    for old in ci_dir.glob(prod_db.name + "*"):
        if old.is_file():
            old.unlink()
    for file in prod_db.parent.glob(prod_db.name + "*"):
        if file.is_file():
            shutil.copy2(file, ci_dir / file.name)
    return clone


# ------------------------------------------------------------------ steps


def lint(project_dir: Path, files: Sequence[str], ci_dir: Path, env: Mapping[str, str]) -> None:
    if not files:
        _say("lint: no changed SQL file")
        return
    _say(f"lint: {len(files)} changed SQL file(s): {', '.join(files)}")
    lint_dir = ci_dir / "lint"
    lint_dir.mkdir(parents=True, exist_ok=True)
    lint_env = _dbt_env(env, project_dir, lint_dir / "lint.duckdb", lint_dir)
    _run("lint", [_bin("sqlfluff"), "lint", *files, "--format", "human"], project_dir, lint_env)


def validation_command(
    project_dir: Path,
    env: Mapping[str, str],
    db: Path,
    raw_path: str | None,
    docs_dir: Path,
    python: str = sys.executable,
) -> list[str]:
    """The `python -m shopfunnel validate` call, with the options its --help offers (the
    validation is another part of the project, and its options may change)."""
    base = [python, "-m", "shopfunnel", "validate"]
    probe = subprocess.run(
        [*base, "--help"], cwd=project_dir, env=dict(env), capture_output=True, text=True
    )
    if probe.returncode != 0:
        raise SlimCIError(
            f"step 'validate': {' '.join(base)} --help failed (exit {probe.returncode}): "
            f"{probe.stderr.strip()[-500:]}"
        )
    command = [*base, "--db", str(db)]
    if raw_path and "--raw" in probe.stdout:
        command += ["--raw", raw_path]
    if "--docs-dir" in probe.stdout:
        command += ["--docs-dir", str(docs_dir)]
    if "--project-dir" in probe.stdout:
        command += ["--project-dir", str(project_dir)]
    return command


def summarize(run_results_path: Path, manifest: Mapping[str, Any]) -> str:
    """Which nodes the build ran, by type and status, and how many models it did not touch."""
    results = json.loads(run_results_path.read_text()).get("results", [])
    ran = {result["unique_id"] for result in results}
    counts = Counter((result["unique_id"].split(".", 1)[0], result["status"]) for result in results)
    models = [uid for uid, n in manifest.get("nodes", {}).items() if n["resource_type"] == "model"]
    deferred = [uid for uid in models if uid not in ran]
    parts = [f"{count} {kind} {status}" for (kind, status), count in sorted(counts.items())]
    return (
        f"ran {len(results)} node(s): {', '.join(parts) or 'none'}; "
        f"{len(deferred)} of {len(models)} models not rebuilt (production relations)"
    )


def run(args: argparse.Namespace) -> int:
    project_dir = Path(args.project_dir).resolve()
    state_dir = (project_dir / args.state).resolve()
    ci_dir = (project_dir / args.ci_dir).resolve()
    env = _base_env()

    state = read_state(state_dir, Path(args.prod_db).resolve() if args.prod_db else None)
    raw_path = args.raw or state.raw_path
    raw_format = args.raw_format or state.raw_format
    if args.raw and state.raw_path and args.raw != state.raw_path:
        _say(
            f"warning: --raw {args.raw!r} differs from the state's raw_path "
            f"{state.raw_path!r}: every source will count as modified"
        )
    if state.db_file is None:
        raise SlimCIError(
            f"no production warehouse in {state_dir}: pass --prod-db or build the state with "
            "`build-state`"
        )

    # 1. lint the changed SQL
    if args.skip_lint:
        _say("lint: skipped (--skip-lint)")
    else:
        if args.lint_base:
            files = changed_sql_vs_git(project_dir, args.lint_base)
            _say(f"lint: SQL changed since git merge-base with {args.lint_base}")
        else:
            _say(f"lint: SQL of the nodes dbt calls state:modified against {state_dir}")
            files = changed_sql_vs_state(
                project_dir,
                state_dir,
                ci_dir / "ls",
                env,
                _vars(raw_path, raw_format),
                state.db_file.name,
            )
        lint(project_dir, files, ci_dir, env)

    # 2. build state:modified+ in a clone of production, deferring the rest
    clone = clone_warehouse(state.db_file, ci_dir)
    target = ci_dir / "target"
    shutil.rmtree(target, ignore_errors=True)
    dbt_env = _dbt_env(env, project_dir, clone, target)
    build = [
        _bin("dbt"),
        "build",
        "--select",
        "state:modified+",
        "--defer",
        "--state",
        str(state_dir),
        *_vars(raw_path, raw_format),
    ]
    try:
        _run("build", build, project_dir, dbt_env)
    finally:
        if (target / "run_results.json").exists():
            _say("build: " + summarize(target / "run_results.json", state.manifest))

    # 3. validation gate on the clone
    if args.skip_validate:
        _say("validate: skipped (--skip-validate)")
    else:
        command = validation_command(project_dir, env, clone, raw_path, ci_dir / "gx_docs")
        _run("validate", command, project_dir, env)

    # 4. dbt docs of the CI warehouse (separate target path: keeps the build's run_results)
    if args.docs:
        docs_target = ci_dir / "docs"
        shutil.rmtree(docs_target, ignore_errors=True)
        docs = [_bin("dbt"), "docs", "generate", *_vars(raw_path, raw_format)]
        _run("docs", docs, project_dir, _dbt_env(env, project_dir, clone, docs_target))
        _say(f"docs: {docs_target / 'index.html'}")
    _say(f"done: warehouse {clone}, dbt artifacts in {target}")
    return 0


def build_state(args: argparse.Namespace) -> int:
    project_dir = Path(args.project_dir).resolve()
    state_dir = (project_dir / args.state).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    db = state_dir / args.db_file
    for old in state_dir.glob(args.db_file + "*"):
        old.unlink()
    env = _dbt_env(_base_env(), project_dir, db, state_dir)
    command = [_bin("dbt"), "build", *_vars(args.raw, args.raw_format)]
    failure: SlimCIError | None = None
    try:
        _run("build-state", command, project_dir, env)
    except SlimCIError as exc:
        # dbt still wrote the manifest and built what it could: keep the state usable
        failure = exc
    if not (state_dir / "manifest.json").exists():
        raise failure or SlimCIError(f"dbt wrote no manifest.json in {state_dir}")
    info = {
        "database_file": args.db_file,
        "raw_path": args.raw,
        "raw_format": args.raw_format,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    (state_dir / STATE_FILE).write_text(json.dumps(info, indent=2) + "\n")
    _say(f"production state in {state_dir}: manifest.json, {args.db_file}, {STATE_FILE}")
    if failure:
        raise failure
    if args.validate:
        # leaves the row counts beside the warehouse (a sidecar file): the clone of a pull
        # request carries them, so its validation compares volumes with production
        command = validation_command(project_dir, env, db, args.raw, state_dir / "gx_docs")
        _run("validate", command, project_dir, env)
    return 0


def _base_env() -> dict[str, str]:
    return dict(os.environ)


def _guarded(step: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A step whose SlimCIError becomes a message and exit code 1."""

    def run_step(args: argparse.Namespace) -> int:
        try:
            return step(args)
        except SlimCIError as exc:
            print(f"slim-ci: error: {exc}", file=sys.stderr)
            return 1

    return run_step


def register(subparsers: argparse._SubParsersAction) -> None:
    """The ``slim-ci`` command of ``python -m shopfunnel`` (steps build-state and run)."""
    parser = subparsers.add_parser(
        "slim-ci",
        help="slim CI: build the production state, or check a change against it",
        description="Slim CI for the dbt project: build the production state, or lint, build "
        "(state:modified+ with --defer) and validate a change against it.",
    )
    commands = parser.add_subparsers(dest="slim_ci_step", required=True, metavar="STEP")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--project-dir", default=".", help="dbt project folder (default: .)")
    common.add_argument(
        "--state",
        default=DEFAULT_STATE,
        help=f"production state folder with manifest.json (default: {DEFAULT_STATE})",
    )
    common.add_argument("--raw-format", choices=["parquet", "csv"], default=None)

    state = commands.add_parser(
        "build-state", parents=[common], help="full dbt build into the state folder"
    )
    state.add_argument("--raw", required=True, help="raw data folder (dbt var raw_path)")
    state.add_argument("--db-file", default=DEFAULT_DB_FILE, help="warehouse file name")
    state.add_argument(
        "--validate", action="store_true", help="also run the validation gate on the state"
    )
    state.set_defaults(func=_guarded(build_state))

    slim = commands.add_parser(
        "run", parents=[common], help="lint changed SQL, build state:modified+, validate"
    )
    slim.add_argument("--raw", default=None, help="raw data folder (default: the state's)")
    slim.add_argument("--prod-db", default=None, help="production warehouse (default: state's)")
    slim.add_argument(
        "--ci-dir",
        default=DEFAULT_CI_DIR,
        help=f"work folder: warehouse clone, dbt target, lint, gx_docs (default: {DEFAULT_CI_DIR})",
    )
    slim.add_argument(
        "--lint-base", default=None, help="lint SQL changed since git merge-base REF HEAD"
    )
    slim.add_argument("--skip-lint", action="store_true")
    slim.add_argument("--skip-validate", action="store_true")
    slim.add_argument("--docs", action="store_true", help="also run dbt docs generate")
    slim.set_defaults(func=_guarded(run))
