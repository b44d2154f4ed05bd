"""A workspace for hostile-input builds (issue 13): one generated shop, broken one way at a
time, each version built by dbt (and checked by the raw gate) in a scratch folder.

Every scenario is a copy of one clean data set (``generate --visitors 2000 --days 30 --seed
3``) changed by a few DuckDB statements on its files. To keep dbt's partial parsing (a full
parse costs seconds on a shared machine), every build reads the same raw path and writes the
same warehouse file: the scenario's folder is renamed to ``<root>/raw`` for the build and back
afterwards, and the warehouse is moved to ``<root>/db/<scenario>.duckdb``. The gate is run in
this process (its dbt compile of the contract is cached per raw path).

``SHOPFUNNEL_HOSTILE_PROJECT`` points the builds, the gate and the CLI at another checkout
of the project (e.g. the project before issue 13: ``git worktree add /tmp/old 75a84e3``), so
the same tests show how the old code failed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = Path(os.environ.get("SHOPFUNNEL_HOSTILE_PROJECT") or REPO_ROOT).resolve()
DBT = str(Path(sys.executable).with_name("dbt"))

#: the data set every scenario starts from
GENERATE_ARGS = ("--visitors", "2000", "--days", "30", "--seed", "3")
#: a value that must never reach an artifact (the old code read a salt from this variable)
SALT_MARKER = "hostile-salt-5b9e1c"


@dataclass
class Run:
    """What one command did: its exit code and everything it printed."""

    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def sql_path(path: Path) -> str:
    """A path as a SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


class HostileShop:
    """Scenario folders, their builds and their gate runs, under one scratch root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.raw = root / "raw"
        self.scenarios = root / "scenarios"
        self.dbs = root / "db"
        self.warehouse = root / "warehouse.duckdb"
        self.target = root / "target"
        self.logs = root / "logs"
        for folder in (self.scenarios, self.dbs):
            folder.mkdir(parents=True, exist_ok=True)
        self.clean = self.scenarios / "clean"

    # ------------------------------------------------------------ data
    def generate(self, out: Path, *extra: str) -> Run:
        """A data set from this checkout's generator (the data is the input; the project
        under test may be another checkout)."""
        done = subprocess.run(
            [sys.executable, "-m", "shopfunnel", "generate", *GENERATE_ARGS, "--out", str(out),
             "--quiet", *extra],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        return Run(done.returncode, done.stdout + done.stderr)

    def scenario(self, name: str) -> Path:
        """A fresh copy of the clean data set, to be broken by the caller."""
        folder = self.scenarios / name
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(self.clean, folder)
        return folder

    @contextlib.contextmanager
    def mounted(self, name: str) -> Iterator[Path]:
        """The scenario's folder at the one raw path every build reads."""
        folder = self.scenarios / name
        os.rename(folder, self.raw)
        try:
            yield self.raw
        finally:
            os.rename(self.raw, folder)

    # ------------------------------------------------------------ commands
    def env(self, warehouse: Path | None = None, target: Path | None = None) -> dict[str, str]:
        logs = target.with_name(f"logs-{target.name}") if target else self.logs
        env = {
            **os.environ,
            "DBT_PROFILES_DIR": str(PROJECT),
            "DUCKDB_PATH": str(warehouse or self.warehouse),
            "DBT_TARGET_PATH": str(target or self.target),
            "DBT_LOG_PATH": str(logs),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
            "SHOPFUNNEL_HASH_SALT": SALT_MARKER,
        }
        if PROJECT != REPO_ROOT:
            env["PYTHONPATH"] = str(PROJECT / "src")
        return env

    def cli(self, *args: str) -> Run:
        """``python -m shopfunnel ...`` of the project under test."""
        done = subprocess.run(
            [sys.executable, "-m", "shopfunnel", *args],
            cwd=PROJECT,
            env=self.env(),
            capture_output=True,
            text=True,
            check=False,
        )
        return Run(done.returncode, done.stdout + done.stderr)

    def dbt(
        self,
        *args: str,
        dbt_vars: dict[str, Any] | None = None,
        raw: Path | None = None,
        warehouse: Path | None = None,
        target: Path | None = None,
    ) -> Run:
        """A dbt command on the raw path (or ``raw``), in the warehouse and target folder of
        the builds (or ``warehouse``, ``target``: changed vars or raw path force a full parse,
        so such runs keep their own target folder)."""
        variables = {"raw_path": str(raw or self.raw), **(dbt_vars or {})}
        done = subprocess.run(
            [DBT, *args, "--vars", json.dumps(variables)],
            cwd=PROJECT,
            env=self.env(warehouse, target),
            capture_output=True,
            text=True,
            check=False,
        )
        return Run(done.returncode, done.stdout + done.stderr)

    def build(
        self,
        name: str,
        *select: str,
        dbt_vars: dict[str, Any] | None = None,
        keep: str | None = None,
        data_tests: bool = True,
    ) -> Run:
        """``dbt build`` of scenario ``name`` in a new warehouse, kept as
        ``db/<keep or name>.duckdb``: seeds, models and data tests (unit tests do not read
        the data; ``data_tests=False`` leaves the data tests out too, for a scenario that is
        only compared with another)."""
        self.warehouse.unlink(missing_ok=True)
        skipped = ["unit_test"] + ([] if data_tests else ["test"])
        with self.mounted(name):
            run = self.dbt(
                "build",
                *(option for kind in skipped for option in ("--exclude-resource-type", kind)),
                *select,
                dbt_vars=dbt_vars,
            )
        if self.warehouse.exists():
            os.replace(self.warehouse, self.db(keep or name))
        return run

    def db(self, name: str) -> Path:
        return self.dbs / f"{name}.duckdb"

    def gate(self, name: str) -> Run:
        """The raw gate (``validate --stage raw``) on scenario ``name``."""
        with self.mounted(name):
            args = ["validate", "--raw", str(self.raw), "--stage", "raw", "--no-docs"]
            if PROJECT != REPO_ROOT:
                return self.cli(*args)
            from shopfunnel.cli import main

            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main([*args, "--project-dir", str(PROJECT)])
            return Run(code, out.getvalue() + err.getvalue())

    # ------------------------------------------------------------ queries
    def query(self, name: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.db(name)), read_only=True) as con:
            con.execute("set TimeZone = 'UTC'")
            return con.execute(sql, list(params)).fetchall()

    def add_file(self, folder: Path, table: str, file: str, select: str) -> Path:
        """Write the rows of ``select`` as a new file of ``table``; ``{rows}`` in the query
        is the table as it is before the file is added."""
        path = folder / table / file
        scratch = self.root / ("scratch-" + file.replace("/", "-"))
        rows = f"read_parquet({sql_path(folder / table)} || '/**/*.parquet', union_by_name = true)"
        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            con.execute(
                f"copy ({select.replace('{rows}', rows)}) to {sql_path(scratch)} (format parquet)"
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(scratch, path)
        return path

    def replace_table(self, folder: Path, table: str, select: str) -> Path:
        """Replace every file of ``table`` by one file holding the rows of ``select``
        (``{rows}``: the table as it was)."""
        path = self.add_file(folder, table, "replaced.parquet.tmp", select)
        for old in (folder / table).rglob("*.parquet"):
            old.unlink()
        return Path(shutil.move(path, folder / table / "part-00000.parquet"))

    def run_on(self, db: str, scenario: str, *args: str, dbt_vars: dict[str, Any] | None = None,
               keep: str | None = None) -> Run:
        """A dbt command on a copy of built warehouse ``db``, scenario ``scenario`` at the
        raw path; the warehouse is kept as ``db/<keep>.duckdb`` (dropped without ``keep``).
        With other vars it runs in a target folder of its own (vars force a full parse)."""
        warehouse = self.root / "warehouse-vars.duckdb" if dbt_vars else self.warehouse
        target = self.root / "target-vars" if dbt_vars else None
        warehouse.unlink(missing_ok=True)
        shutil.copy(self.db(db), warehouse)
        with self.mounted(scenario):
            run = self.dbt(*args, dbt_vars=dbt_vars, warehouse=warehouse, target=target)
        if keep:
            os.replace(warehouse, self.db(keep))
        else:
            warehouse.unlink(missing_ok=True)
        return run

    def build_elsewhere(self, raw: Path, name: str, *select: str) -> Run:
        """``dbt build`` (no unit tests) of the raw folder ``raw`` wherever it is, kept as
        ``db/<name>.duckdb``."""
        self.db(name).unlink(missing_ok=True)
        return self.dbt("build", "--exclude-resource-type", "unit_test", *select, raw=raw,
                        warehouse=self.db(name), target=self.root / f"target-{name}")

    def run_scoped(self) -> set[str]:
        """Models that describe a run, not the data (tag run_scoped, the batch views of the
        run's files), by the last build's manifest."""
        manifest = json.loads((self.target / "manifest.json").read_text())
        return {
            node["name"]
            for node in manifest["nodes"].values()
            if node["resource_type"] == "model"
            and ("run_scoped" in node.get("tags", []) or node["name"].endswith("_batch"))
        }

    def relations(self, name: str, schemas: tuple[str, ...]) -> dict[str, list[str]]:
        """``schema.relation`` -> its columns, for every table and view of ``schemas``."""
        rows = self.query(
            name,
            "select schema_name || '.' || table_name, list(column_name order by column_index) "
            "from duckdb_columns() where database_name = current_database() "
            f"and schema_name in ({', '.join(repr(schema) for schema in schemas)}) "
            "group by all order by 1",
        )
        return {relation: columns for relation, columns in rows}

    def differences(
        self,
        left: str,
        right: str,
        relations: list[str],
        skip_columns: frozenset[str] = frozenset(),
    ) -> list[str]:
        """One line per relation whose rows differ between warehouses ``left`` and ``right``
        (multisets: EXCEPT ALL both ways, NULL-safe), leaving out ``skip_columns``."""
        found = []
        with duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            con.execute(f"attach {sql_path(self.db(left))} as l (read_only)")
            con.execute(f"attach {sql_path(self.db(right))} as r (read_only)")
            for relation in relations:
                schema, table = relation.split(".")
                columns = [
                    row[0]
                    for row in con.execute(
                        "select column_name from duckdb_columns() where database_name = 'l' "
                        "and schema_name = ? and table_name = ? order by column_index",
                        [schema, table],
                    ).fetchall()
                    if row[0] not in skip_columns
                ]
                if not columns:
                    found.append(f"{relation}: not in {left}")
                    continue
                listed = ", ".join(f'"{column}"' for column in columns)
                counts = [
                    con.execute(
                        f"select count(*) from (select {listed} from {a}.{relation} "
                        f"except all select {listed} from {b}.{relation})"
                    ).fetchall()[0][0]
                    for a, b in (("l", "r"), ("r", "l"))
                ]
                if counts != [0, 0]:
                    found.append(
                        f"{relation}: {counts[0]} row(s) only in {left}, "
                        f"{counts[1]} only in {right}"
                    )
        return found
