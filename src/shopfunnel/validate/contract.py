"""The raw-data contract and the one raw reader, exactly as dbt renders them.

Nothing about the raw files is written twice. One ``dbt compile --inline`` of the project,
with the run's ``raw_path`` (and ``raw_format``) vars, in a scratch target folder, gives:

* ``target/manifest.json``: per source table of ``models/staging/shop/_shop__sources.yml``,
  its reader (``relation_name``: the rendered ``external_location``, so globbing,
  ``union_by_name``, ``allow_quoted_nulls`` and the quoting of a path like ``shop's data``
  are dbt's own);
* the contract itself, var ``raw_contract`` of ``dbt_project.yml`` rendered as JSON into the
  compiled SQL (per table, its columns with ``required`` and ``type``);
* the compiled inline SQL: how staging parses each type, rendered from the project's own
  macros (:data:`~shopfunnel.validate.settings.TYPE_PARSERS`), so "readable" means what it
  means to the build.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shopfunnel.validate.settings import ID_PREDICATE, TYPE_PARSERS, UNCHECKED_TYPES

#: Stands for the column in the rendered macros; replaced by the quoted column name.
VALUE_PLACEHOLDER = "__shopfunnel_value__"
_CONTRACT_MARKER = re.compile(r"^-- shopfunnel-contract: (.*)$", re.MULTILINE)
_CHECK_MARKER = re.compile(
    r"^\s*-- shopfunnel-check: (\w+)\s*\n(.*?) as check_\1,?\s*$", re.MULTILINE | re.DOTALL
)


class ContractError(Exception):
    """The dbt project, its manifest or its raw-data contract cannot be read."""


def find_project_dir(start: Path | None = None) -> Path:
    """The folder holding dbt_project.yml: ``start`` or a parent, else the package's repo."""
    candidates = [start.resolve()] if start is not None else []
    candidates += [Path.cwd().resolve(), Path(__file__).resolve()]
    for candidate in candidates:
        for folder in (candidate, *candidate.parents):
            if (folder / "dbt_project.yml").is_file():
                return folder
    raise ContractError(
        "cannot find dbt_project.yml in the current folder or its parents; "
        "run from the project or pass --project-dir"
    )


@dataclass(frozen=True)
class RawColumn:
    name: str
    required: bool
    type: str


@dataclass(frozen=True)
class RawTable:
    """One source table: its reader (a DuckDB table function) and its columns."""

    name: str
    reader: str
    columns: tuple[RawColumn, ...]
    yaml_path: str


@dataclass(frozen=True)
class RawContract:
    tables: tuple[RawTable, ...]
    #: type -> SQL predicate over :data:`VALUE_PLACEHOLDER`, true when a non-null value
    #: is readable as that type
    readable: dict[str, str]

    def readable_sql(self, type_name: str, column_sql: str) -> str | None:
        """The predicate for one column, or None for a type without a rule (text)."""
        template = self.readable.get(type_name)
        return None if template is None else template.replace(VALUE_PLACEHOLDER, column_sql)

    def rule_of(self, type_name: str) -> str:
        """The macro behind a type's rule, for messages."""
        return ID_PREDICATE if type_name == "id" else TYPE_PARSERS.get(type_name, "")


def inline_sql() -> str:
    """One inline query rendering every type rule from the project's macros."""
    value = f"'{VALUE_PLACEHOLDER}'"
    checks = [
        f"    -- shopfunnel-check: {type_name}\n"
        f"    ({{{{ {macro}({value}) }}}}) is not null as check_{type_name},"
        for type_name, macro in TYPE_PARSERS.items()
    ]
    checks.append(
        f"    -- shopfunnel-check: id\n"
        f"    coalesce({{{{ {ID_PREDICATE}({value}) }}}}, false) as check_id"
    )
    contract = "-- shopfunnel-contract: {{ tojson(var('raw_contract')) }}\n"
    return contract + "select\n" + "\n".join(checks) + "\n"


def _dbt_executable() -> str:
    beside_python = Path(sys.executable).with_name("dbt")
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("dbt")
    if found is None:
        raise ContractError("dbt is not installed (run `make install`)")
    return found


def compile_project(
    project_dir: Path, dbt_vars: dict[str, str], scratch: Path
) -> tuple[dict[str, Any], str]:
    """Run ``dbt compile --inline`` in a scratch target; the manifest and compiled SQL."""
    target = scratch / "dbt_target"
    command = [
        _dbt_executable(),
        "compile",
        "--inline",
        inline_sql(),
        "--vars",
        json.dumps(dbt_vars),
        "--target-path",
        str(target),
        "--log-path",
        str(scratch / "dbt_logs"),
        "--output",
        "json",
        "--quiet",
    ]
    # the compile opens a connection: a scratch file, never the warehouse
    env = {**os.environ, "DUCKDB_PATH": str(scratch / "dbt_compile.duckdb")}
    done = subprocess.run(
        command, cwd=project_dir, env=env, capture_output=True, text=True, check=False
    )
    output = done.stdout.strip()
    if done.returncode != 0 or not output.startswith("{"):
        lines = (done.stdout + done.stderr).strip().splitlines()
        raise ContractError(
            "dbt could not render the raw-data contract (dbt compile --inline, vars "
            f"{json.dumps(dbt_vars)}): " + " | ".join(lines[-8:])
        )
    compiled = str(json.loads(output)["compiled"])
    manifest = json.loads((target / "manifest.json").read_text())
    return manifest, compiled


#: (project folder, vars) -> contract: one dbt compile per process and vars (the contract
#: depends on the project and the vars, never on the raw files' content)
_CONTRACTS: dict[tuple[Path, str], RawContract] = {}


def load_contract(project_dir: Path, dbt_vars: dict[str, str], scratch: Path) -> RawContract:
    key = (project_dir.resolve(), json.dumps(dbt_vars, sort_keys=True))
    if key not in _CONTRACTS:
        manifest, compiled = compile_project(project_dir, dbt_vars, scratch)
        _CONTRACTS[key] = contract_from(manifest, compiled)
    return _CONTRACTS[key]


def contract_from(manifest: dict[str, Any], compiled: str) -> RawContract:
    """The raw tables of the project's sources with a reader, and the type predicates."""
    project = manifest.get("metadata", {}).get("project_name")
    found = _CONTRACT_MARKER.search(compiled)
    if found is None:
        raise ContractError("dbt did not render var raw_contract (dbt_project.yml)")
    contract: dict[str, dict[str, dict[str, Any]]] = json.loads(found.group(1))
    tables: list[RawTable] = []
    for node in manifest.get("sources", {}).values():
        if node.get("package_name") != project or not node.get("config", {}).get(
            "external_location"
        ):
            continue
        where = f"dbt_project.yml: var raw_contract.{node['name']}"
        if node["name"] not in contract:
            raise ContractError(f"{where}: the raw table has no contract")
        columns = []
        for name, meta in contract[node["name"]].items():
            type_name = meta.get("type")
            required = meta.get("required")
            if not isinstance(required, bool) or type_name not in known_types():
                raise ContractError(
                    f"{where}.{name}: needs required: true|false and type: "
                    f"{'|'.join(known_types())} (got {meta or 'none'})"
                )
            columns.append(RawColumn(name, required, type_name))
        tables.append(
            RawTable(
                node["name"], node["relation_name"], tuple(columns), node["original_file_path"]
            )
        )
    if not tables:
        raise ContractError("the dbt manifest has no source with an external_location")
    readable = {match[0]: match[1].strip() for match in _CHECK_MARKER.findall(compiled)}
    if set(readable) != {*TYPE_PARSERS, "id"}:
        raise ContractError(f"cannot read the rendered type rules from: {compiled[:300]}")
    return RawContract(tuple(tables), readable)


def known_types() -> tuple[str, ...]:
    return (*TYPE_PARSERS, "id", *UNCHECKED_TYPES)
