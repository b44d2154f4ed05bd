"""Slim CI (src/shopfunnel/slim_ci.py): the pull-request logic, run locally.

The slow test copies the dbt project into a scratch folder, builds the production state on
a tiny generated data set, edits one intermediate model, runs the slim CI and proves from
run_results.json that the edited model, its children and their tests were built while no
other model was (their refs resolved to the production relations). A tiny dbt project shows
which SQL `dbt ls --select state:modified` hands to the lint. The fast tests cover the
pieces: reading dbt ls output, the git diff, the warehouse clone, the validation probe.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shopfunnel import cli, slim_ci

# What a scratch copy of the project needs (never .venv, data, target).
PROJECT_ITEMS = [
    "dbt_project.yml",
    "selectors.yml",
    "profiles.yml",
    ".sqlfluff",
    ".sqlfluffignore",
    ".dbtignore",
    "models",
    "macros",
    "seeds",
    "tests",
    "snapshots",
    "analyses",
    "docs",
]


def _copy_project(repo_root: Path, destination: Path) -> Path:
    destination.mkdir(parents=True)
    for item in PROJECT_ITEMS:
        source = repo_root / item
        if source.is_dir():
            shutil.copytree(
                source,
                destination / item,
                ignore=shutil.ignore_patterns("python", "__pycache__", ".pytest_cache"),
            )
        elif source.is_file():
            shutil.copy2(source, destination / item)
    return destination


def _descendants(manifest: dict[str, Any], unique_id: str) -> set[str]:
    found: set[str] = set()
    pending = [unique_id]
    while pending:
        for child in manifest["child_map"].get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


def _model_to_edit(manifest: dict[str, Any]) -> str:
    """The intermediate model with the fewest (but at least one) downstream models: the
    cheapest edit that still has children to rebuild."""
    candidates = []
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] == "model" and node["path"].startswith("intermediate/"):
            children = {d for d in _descendants(manifest, unique_id) if d.startswith("model.")}
            if children:
                candidates.append((len(children), unique_id))
    assert candidates, "no intermediate model with children in the project"
    return min(candidates)[1]


@pytest.mark.slow
def test_slim_ci_builds_only_the_edited_model_and_its_children(
    repo_root: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = _copy_project(repo_root, tmp_path / "project")
    raw = tmp_path / "raw"
    generate = [
        sys.executable,
        "-m",
        "shopfunnel",
        "generate",
        "--visitors",
        "500",
        "--days",
        "20",
        "--seed",
        "3",
        "--out",
        str(raw),
        "--quiet",
    ]
    subprocess.run(generate, check=True, cwd=project)

    # production state: a full build, its manifest and warehouse in target-prod/. A failing
    # test elsewhere in the project is `make test`'s to report; the state is usable anyway.
    build_state = ["slim-ci", "build-state", "--project-dir", str(project), "--raw", str(raw)]
    if cli.main(build_state) != 0:
        warnings.warn("build-state: the production build had failures", stacklevel=1)
    state = project / "target-prod"
    state_info = json.loads((state / slim_ci.STATE_FILE).read_text())
    assert (state_info["database_file"], state_info["raw_path"]) == ("prod.duckdb", str(raw))
    prod_manifest = json.loads((state / "manifest.json").read_text())

    # the change: a harmless comment at the end of one intermediate model
    edited = _model_to_edit(prod_manifest)
    edited_file = project / prod_manifest["nodes"][edited]["original_file_path"]
    edited_file.write_text(edited_file.read_text().rstrip("\n") + "\n-- edited by slim CI test\n")
    capfd.readouterr()

    assert cli.main(["slim-ci", "run", "--project-dir", str(project), "--skip-validate"]) == 0
    output = capfd.readouterr().out
    edited_path = prod_manifest["nodes"][edited]["original_file_path"]
    assert f"lint: 1 changed SQL file(s): {edited_path}" in output, output

    ci_dir = project / "target" / "slim-ci"
    results = json.loads((ci_dir / "target" / "run_results.json").read_text())["results"]
    status = {result["unique_id"]: result["status"] for result in results}

    downstream = _descendants(prod_manifest, edited)
    expected_models = {edited} | {d for d in downstream if d.startswith("model.")}
    built_models = {uid for uid in status if uid.startswith("model.")}
    # the edited model and every model downstream of it were built, and nothing else
    assert built_models == expected_models, (built_models, expected_models)
    assert all(status[uid] == "success" for uid in built_models), status
    assert not [uid for uid in status if uid.startswith(("seed.", "snapshot."))]

    # every data test and unit test on those models ran and passed
    expected_tests = {
        uid
        for uid, node in prod_manifest["nodes"].items()
        if node["resource_type"] == "test" and set(node["depends_on"]["nodes"]) & expected_models
    }
    expected_tests |= {
        uid
        for uid, test in prod_manifest.get("unit_tests", {}).items()
        if set(test["depends_on"]["nodes"]) & expected_models
    }
    assert expected_tests, "the edited model has no tests to run"
    assert expected_tests <= set(status), expected_tests - set(status)
    assert all(status[uid] == "pass" for uid in expected_tests), status

    # untouched models were not rebuilt: the edited model read its parents from the
    # production relations (the state manifest's names), which the clone holds as built
    models = {uid for uid, n in prod_manifest["nodes"].items() if n["resource_type"] == "model"}
    untouched = models - expected_models
    assert untouched and not untouched & set(status)
    compiled = next(r["compiled_code"] for r in results if r["unique_id"] == edited)
    for parent in prod_manifest["nodes"][edited]["depends_on"]["nodes"]:
        relation = prod_manifest["nodes"][parent]["relation_name"]
        assert relation in compiled, (relation, compiled)
    con = duckdb.connect(str(ci_dir / "prod.duckdb"), read_only=True)
    try:
        tables = {
            (schema, name)
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
    finally:
        con.close()
    prod_results = json.loads((state / "run_results.json").read_text())["results"]
    built_in_prod = {r["unique_id"] for r in prod_results if r["status"] == "success"}
    for uid in untouched & built_in_prod:
        node = prod_manifest["nodes"][uid]
        assert (node["schema"], node["alias"]) in tables, uid
    assert (
        f"{len(untouched)} of {len(models)} models not rebuilt (production relations)" in output
    ), output


# ------------------------------------------------------------------ fast pieces


IS_EVEN = (
    "{{% test is_even(model, column_name) %}}\n"
    "select * from {{{{ model }}}} where {{{{ column_name }}}} % 2 = {kept}\n"
    "{{% endtest %}}\n"
)


def _tiny_project(root: Path) -> dict[str, str]:
    (root / "models" / "staging").mkdir(parents=True)
    (root / "tests" / "generic").mkdir(parents=True)
    (root / "dbt_project.yml").write_text("name: tiny\nmodel-paths: [models]\n")
    files = {
        "models/staging/stg_a.sql": "select 1 as id\n",
        "models/staging/stg_b.sql": "select 2 as id\n",
        "tests/assert_a.sql": "select * from a where false\n",
    }
    for path, text in files.items():
        (root / path).write_text(text)
    (root / "tests/generic/is_even.sql").write_text(IS_EVEN.format(kept="0"))
    return files


LS_OUTPUT = """\
12:00:00  Running with dbt=1.11.16
{"original_file_path": "models/staging/stg_a.sql", "resource_type": "model"}
{"original_file_path": "models/staging/_staging__models.yml", "resource_type": "test"}
{"original_file_path": "tests/assert_a.sql", "resource_type": "test"}
{"original_file_path": "models/staging/stg_a.sql", "resource_type": "model"}
"""


def test_sql_files_of_dbt_ls_output() -> None:
    # log lines skipped; a generic test's instance (YAML) is not a file to lint; no repeats
    assert slim_ci.sql_files_of(LS_OUTPUT) == ["models/staging/stg_a.sql", "tests/assert_a.sql"]


TINY_PROFILE = """\
tiny:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{ env_var('DUCKDB_PATH') }}"
"""


@pytest.mark.slow
def test_changed_sql_vs_state_asks_dbt(tmp_path: Path) -> None:
    """What dbt calls state:modified is what gets linted: an edited model, a model whose
    config changed in YAML (its file did not), a new model; not a model whose parent
    changed, nor a generic test's instance."""
    project = tmp_path / "project"
    _tiny_project(project)
    (project / "dbt_project.yml").write_text(
        "name: tiny\nprofile: tiny\nconfig-version: 2\nmodel-paths: [models]\n"
    )
    (project / "profiles.yml").write_text(TINY_PROFILE)
    (project / "models/staging/stg_a_child.sql").write_text("select id from {{ ref('stg_a') }}\n")
    schema = project / "models/staging/_staging__models.yml"
    schema.write_text(
        "models:\n"
        "  - name: stg_b\n"
        "    config: {materialized: table}\n"
        "    columns: [{name: id, data_tests: [is_even]}]\n"
    )
    state = tmp_path / "state"
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    parse = subprocess.run(
        [slim_ci._bin("dbt"), "parse", "--quiet"],
        cwd=project,
        env=slim_ci._dbt_env(env, project, state / "prod.duckdb", state),
        capture_output=True,
        text=True,
    )
    assert parse.returncode == 0, parse.stdout + parse.stderr

    (project / "models/staging/stg_a.sql").write_text("select 10 as id\n")
    schema.write_text(schema.read_text().replace("materialized: table", "materialized: view"))
    (project / "tests/generic/is_even.sql").write_text(IS_EVEN.format(kept="1"))
    (project / "models/staging/stg_c.sql").write_text("select 3 as id\n")
    changed = slim_ci.changed_sql_vs_state(project, state, tmp_path / "ls", env)
    assert changed == [
        "models/staging/stg_a.sql",
        "models/staging/stg_b.sql",
        "models/staging/stg_c.sql",
    ]


def test_changed_sql_vs_git(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    project = repo / "project"
    project.mkdir(parents=True)
    _tiny_project(project)
    (repo / "README.md").write_text("top\n")
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    git("checkout", "-q", "-b", "feature")
    (project / "models/staging/stg_a.sql").write_text("select 10 as id\n")
    git("commit", "-qam", "change a")
    (project / "tests/assert_a.sql").write_text("select 1 where false\n")  # unstaged
    (project / "models/staging/stg_new.sql").write_text("select 5 as id\n")  # untracked
    (project / "models/staging/stg_b.sql").unlink()  # deleted: nothing to lint
    (repo / "other.sql").write_text("select 1\n")  # outside the project
    assert slim_ci.changed_sql_vs_git(project, "main") == [
        "models/staging/stg_a.sql",
        "models/staging/stg_new.sql",
        "tests/assert_a.sql",
    ]


def test_clone_keeps_the_name_and_sidecars(tmp_path: Path) -> None:
    prod = tmp_path / "state" / "prod.duckdb"
    prod.parent.mkdir()
    con = duckdb.connect(str(prod))
    con.execute("create table t as select 1 as id")
    con.close()
    (prod.parent / "prod.duckdb.validation_state.json").write_text("{}")
    (prod.parent / "other.duckdb").write_text("not copied")
    ci_dir = tmp_path / "ci"
    ci_dir.mkdir()
    (ci_dir / "prod.duckdb.stale").write_text("removed")
    clone = slim_ci.clone_warehouse(prod, ci_dir)
    assert clone == ci_dir / "prod.duckdb"
    assert sorted(path.name for path in ci_dir.iterdir()) == [
        "prod.duckdb",
        "prod.duckdb.validation_state.json",
    ]
    con = duckdb.connect(str(clone), read_only=True)
    assert con.execute("select id from t").fetchall() == [(1,)]
    con.close()


def test_missing_state_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(slim_ci.SlimCIError, match="build-state"):
        slim_ci.read_state(tmp_path / "target-prod")


def test_state_finds_its_warehouse(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text('{"nodes": {}}')
    (tmp_path / "prod.duckdb").write_text("")
    (tmp_path / slim_ci.STATE_FILE).write_text(
        json.dumps({"database_file": "prod.duckdb", "raw_path": "data/ci/raw"})
    )
    info = slim_ci.read_state(tmp_path)
    assert info.db_file == tmp_path / "prod.duckdb"
    assert info.raw_path == "data/ci/raw"


def _fake_python(tmp_path: Path, script: str) -> str:
    path = tmp_path / "fake_python"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)
    return str(path)


def test_validation_that_cannot_start_stops_the_run(tmp_path: Path) -> None:
    python = _fake_python(tmp_path, "echo \"invalid choice: 'validate'\" >&2; exit 2\n")
    with pytest.raises(slim_ci.SlimCIError, match="step 'validate'.*invalid choice"):
        slim_ci.validation_command(
            tmp_path, os.environ, tmp_path / "db.duckdb", "raw", tmp_path / "gx", python=python
        )


def test_validation_uses_the_options_the_command_has(tmp_path: Path) -> None:
    python = _fake_python(tmp_path, "echo 'usage: validate --db DB --raw RAW --docs-dir DIR'\n")
    command = slim_ci.validation_command(
        tmp_path, os.environ, tmp_path / "db.duckdb", "raw", tmp_path / "gx", python=python
    )
    assert command == [
        python,
        "-m",
        "shopfunnel",
        "validate",
        "--db",
        str(tmp_path / "db.duckdb"),
        "--raw",
        "raw",
        "--docs-dir",
        str(tmp_path / "gx"),
    ]
