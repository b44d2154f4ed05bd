"""Project structure checks over dbt's ``target/manifest.json``.

dbt-project-evaluator cannot be installed here (``dbt deps`` cannot reach the package hub),
so these are our own rules in the same spirit. Each rule is a function that reads a manifest
(a plain ``dict`` shaped like dbt's) and returns the violations it finds, each naming the
rule and the node. ``tests/python/test_structure.py`` runs them on the real project (from a
fresh ``dbt parse``) and, rule by rule, on tiny bad manifests to prove each one can fail.

Run by hand on any manifest::

    python -m shopfunnel.structure target/manifest.json        # exit 1 on any violation

The rules (ids as printed in messages):

``layer_naming``
    A model's folder says its layer and its name says the same layer:
    ``models/staging/<source>/`` (sub-folders allowed, e.g. ``base/``) holds
    ``stg_<source>__*`` and ``base_<source>__*`` and reads only source ``<source>``;
    ``models/intermediate/`` holds ``int_*``; ``models/marts/<area>/`` holds ``fct_``,
    ``dim_``, ``rpt_`` and ``aud_`` models, plus MetricFlow's time spine (a model with a
    ``time_spine`` config, or named ``metricflow_time_spine``). No model elsewhere.
``source_outside_staging``
    Only models under ``models/staging/`` call ``source()``. (This is also the
    "direct join to a source" of the issue: a non-staging model with a source parent.)
``direct_join_to_source``
    A model that reads a source reads nothing else (no model, seed or second source): raw
    data is cast and cleaned by one staging model before it meets anything.
``staging_dependency``
    A staging model reads sources, seeds and, of other models, only the staging models of
    the same raw table further up its own chain: ``base_<s>__<t>`` -> ``stg_<s>__<t>`` ->
    ``stg_<s>__<t>_quarantine`` (``<t>_quarantine`` may also read ``base_<s>__<t>``). Never
    another table's staging model, an intermediate model or a mart.
``model_documented`` / ``source_documented``
    Every model and every source (and source table) has a description, documents at least
    one column, and every documented column has a description. (The manifest only knows the
    columns written in YAML; marts' enforced contracts list them all.)
``warehouse_columns_documented`` (needs a built warehouse, not only the manifest)
    Every column a built model has is in its YAML: ``check_warehouse_columns``.
``primary_key_test``
    Every model has a primary-key test: ``unique`` and ``not_null`` on the same column (or
    expression), or a combination-unique generic test (see ``COMBINATION_UNIQUE_TESTS``).
    A model without a key says why in ``meta: {primary_key_exempt: <reason>}`` (the staging
    base views, set once in dbt_project.yml).
``source_freshness``
    Every source table has a ``loaded_at_field`` (or ``loaded_at_query``) and a freshness
    ``warn_after`` or ``error_after``.
``mart_contract``
    Every model under ``models/marts/`` has ``contract: {enforced: true}`` and a
    ``data_type`` on every column.
``exposure_parents``
    Every exposure reads tables: its model parents (and the models behind the metrics and
    semantic models it reads) are materialized as table, incremental or snapshot (or are
    seeds), never a view or an ephemeral model, and it reads no source directly.
``fan_out``
    No model has more than ``FAN_OUT_THRESHOLD`` direct model children.
``join_count``
    No model has more than ``JOIN_COUNT_THRESHOLD`` direct parents (models, seeds, sources).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A model with more direct model children than this is a hub that every change ripples
# through: split it, or push shared logic into a macro. Today's widest hubs
# (stg_shop__events, int_analysis_window, int_as_of_date) have 5 children each.
FAN_OUT_THRESHOLD = 8

# A model joining more direct parents than this does too much in one step: build an
# intermediate model. Same default as dbt-project-evaluator's too_many_joins_threshold;
# today's most joined model (rpt_audience_lift) has 6 parents.
JOIN_COUNT_THRESHOLD = 7

# Generic tests that prove a multi-column key unique (our own, or the usual package names).
COMBINATION_UNIQUE_TESTS = frozenset(
    {
        "unique_combination_of_columns",
        "unique_combination",
        "unique_key_combination",
        "expect_compound_columns_to_be_unique",
    }
)

# A model whose meta holds this key, with the reason as its value, needs no primary-key test
# (e.g. the staging base views: every raw row, duplicates included).
PRIMARY_KEY_EXEMPT = "primary_key_exempt"

# Materializations that leave a table behind (what an exposure may read).
TABLE_MATERIALIZATIONS = frozenset({"table", "incremental", "snapshot"})

MART_PREFIXES = ("fct_", "dim_", "rpt_", "aud_")
TIME_SPINE_NAME = "metricflow_time_spine"

Manifest = Mapping[str, Any]
Node = Mapping[str, Any]


@dataclass(frozen=True, order=True)
class Violation:
    """One broken rule: which rule, which node, and what is wrong."""

    rule: str
    node: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.node}: {self.message}"


# ------------------------------------------------------------------ manifest helpers


def _project(manifest: Manifest) -> str | None:
    return manifest.get("metadata", {}).get("project_name")


def _nodes(manifest: Manifest, resource_type: str) -> Iterator[tuple[str, Node]]:
    """Nodes of one type that belong to this project (packages are not ours to judge)."""
    project = _project(manifest)
    for unique_id, node in sorted(manifest.get("nodes", {}).items()):
        if node.get("resource_type") != resource_type:
            continue
        if project and node.get("package_name", project) != project:
            continue
        yield unique_id, node


def _models(manifest: Manifest) -> Iterator[tuple[str, Node]]:
    return _nodes(manifest, "model")


def _sources(manifest: Manifest) -> Iterator[tuple[str, Node]]:
    project = _project(manifest)
    for unique_id, source in sorted(manifest.get("sources", {}).items()):
        if project and source.get("package_name", project) != project:
            continue
        yield unique_id, source


def _parents(node: Node) -> list[str]:
    return list(node.get("depends_on", {}).get("nodes", []))


def _path_parts(node: Node) -> list[str]:
    """Folders and file name of a model relative to its model path (``models/``)."""
    return [part for part in str(node.get("path", "")).replace("\\", "/").split("/") if part]


def _layer(node: Node) -> str:
    parts = _path_parts(node)
    return parts[0] if len(parts) > 1 else ""


def _kind(unique_id: str) -> str:
    return unique_id.split(".", 1)[0]


def _is_time_spine(node: Node) -> bool:
    return bool(node.get("time_spine")) or node.get("name") == TIME_SPINE_NAME


def _children(manifest: Manifest) -> dict[str, list[str]]:
    """unique_id -> the project models that depend on it directly."""
    children: dict[str, list[str]] = defaultdict(list)
    for unique_id, node in _models(manifest):
        for parent in _parents(node):
            children[parent].append(unique_id)
    return children


def _blank(text: Any) -> bool:
    return not str(text or "").strip()


# ------------------------------------------------------------------ rules


def check_layer_naming(manifest: Manifest) -> list[Violation]:
    rule = "layer_naming"
    found = []
    for unique_id, node in _models(manifest):
        name = node.get("name", "")
        parts = _path_parts(node)
        where = "models/" + "/".join(parts)
        layer = _layer(node)
        if layer == "staging":
            if len(parts) < 3:
                found.append(
                    Violation(
                        rule,
                        unique_id,
                        f"{where}: a staging model lives in models/staging/<source>/",
                    )
                )
                continue
            source_name = parts[1]
            if not re.fullmatch(rf"(stg|base)_{re.escape(source_name)}__[a-z0-9_]+", name):
                found.append(
                    Violation(
                        rule,
                        unique_id,
                        f"{where}: a model under models/staging/{source_name}/ is named "
                        f"stg_{source_name}__<entity> or base_{source_name}__<entity>",
                    )
                )
            for parent in _parents(node):
                parent_source = manifest.get("sources", {}).get(parent, {}).get("source_name")
                if parent_source and parent_source != source_name:
                    found.append(
                        Violation(
                            rule,
                            unique_id,
                            f"{where} reads source {parent_source!r}: the staging folder must "
                            f"be named like its source (models/staging/{parent_source}/)",
                        )
                    )
        elif layer == "intermediate":
            if not name.startswith("int_"):
                found.append(
                    Violation(rule, unique_id, f"{where}: an intermediate model is named int_*")
                )
        elif layer == "marts":
            if len(parts) < 3:
                found.append(
                    Violation(
                        rule,
                        unique_id,
                        f"{where}: a mart lives in an area folder, models/marts/<area>/",
                    )
                )
            elif not (name.startswith(MART_PREFIXES) or _is_time_spine(node)):
                found.append(
                    Violation(
                        rule,
                        unique_id,
                        f"{where}: a mart is named fct_*, dim_*, rpt_* or aud_* "
                        "(or is MetricFlow's time spine)",
                    )
                )
        else:
            found.append(
                Violation(
                    rule,
                    unique_id,
                    f"{where}: models live under models/staging/<source>/, "
                    "models/intermediate/ or models/marts/<area>/",
                )
            )
    return found


def check_source_outside_staging(manifest: Manifest) -> list[Violation]:
    rule = "source_outside_staging"
    found = []
    for resource_type in ("model", "snapshot"):
        for unique_id, node in _nodes(manifest, resource_type):
            if resource_type == "model" and _layer(node) == "staging":
                continue
            sources = sorted(p for p in _parents(node) if _kind(p) == "source")
            if sources:
                found.append(
                    Violation(
                        rule,
                        unique_id,
                        f"reads {', '.join(sources)} outside models/staging/: "
                        "ref() the staging model of that table instead",
                    )
                )
    return found


def check_direct_join_to_source(manifest: Manifest) -> list[Violation]:
    rule = "direct_join_to_source"
    found = []
    for unique_id, node in _models(manifest):
        parents = _parents(node)
        sources = [p for p in parents if _kind(p) == "source"]
        others = sorted(p for p in parents if p not in sources)
        if sources and (others or len(sources) > 1):
            found.append(
                Violation(
                    rule,
                    unique_id,
                    f"joins source {', '.join(sorted(sources))} with "
                    f"{', '.join(others or sorted(sources)[1:])}: stage the source in a model "
                    "of its own first",
                )
            )
    return found


def _staging_parts(name: str) -> tuple[str, str, str] | None:
    """``stg_shop__orders_quarantine`` -> ("stg", "shop", "orders_quarantine")."""
    match = re.fullmatch(r"(stg|base)_([a-z0-9_]+?)__([a-z0-9_]+)", name)
    return (match.group(1), match.group(2), match.group(3)) if match else None


def _allowed_staging_edge(parent: str, child: str) -> bool:
    """base_s__t -> stg_s__t, base_s__t -> stg_s__t_quarantine, stg_s__t -> stg_s__t_quarantine."""
    parent_parts, child_parts = _staging_parts(parent), _staging_parts(child)
    if not parent_parts or not child_parts:
        return False
    parent_prefix, parent_source, parent_table = parent_parts
    child_prefix, child_source, child_entity = child_parts
    if parent_source != child_source or child_prefix != "stg":
        return False
    if parent_prefix == "base":
        return child_entity in (parent_table, f"{parent_table}_quarantine")
    return child_entity == f"{parent_table}_quarantine"


def check_staging_dependency(manifest: Manifest) -> list[Violation]:
    rule = "staging_dependency"
    nodes = manifest.get("nodes", {})
    found = []
    for unique_id, node in _models(manifest):
        if _layer(node) != "staging":
            continue
        for parent in _parents(node):
            if _kind(parent) != "model":
                continue  # sources, seeds (lookups) and snapshots are fine
            parent_node = nodes.get(parent, {})
            parent_name = parent_node.get("name", parent.rsplit(".", 1)[-1])
            parent_layer = _layer(parent_node) if parent_node else "?"
            if parent_layer != "staging":
                found.append(
                    Violation(
                        rule,
                        unique_id,
                        f"a staging model reads {parent} from layer {parent_layer!r}: staging "
                        "reads only sources, seeds and its own base model",
                    )
                )
            elif not _allowed_staging_edge(parent_name, node.get("name", "")):
                found.append(
                    Violation(
                        rule,
                        unique_id,
                        f"a staging model reads staging model {parent}: only "
                        "base_<s>__<t> -> stg_<s>__<t> -> stg_<s>__<t>_quarantine is allowed",
                    )
                )
    return found


def _column_problems(columns: Mapping[str, Any]) -> list[str]:
    if not columns:
        return ["documents no column"]
    blank = sorted(name for name, column in columns.items() if _blank(column.get("description")))
    return [f"column(s) without a description: {', '.join(blank)}"] if blank else []


def check_model_documented(manifest: Manifest) -> list[Violation]:
    rule = "model_documented"
    found = []
    for unique_id, node in _models(manifest):
        problems = ["has no description"] if _blank(node.get("description")) else []
        problems += _column_problems(node.get("columns", {}))
        found += [Violation(rule, unique_id, problem) for problem in problems]
    return found


def check_source_documented(manifest: Manifest) -> list[Violation]:
    rule = "source_documented"
    found = []
    for unique_id, source in _sources(manifest):
        problems = []
        if _blank(source.get("source_description")):
            problems.append(f"source {source.get('source_name')!r} has no description")
        if _blank(source.get("description")):
            problems.append("table has no description")
        problems += _column_problems(source.get("columns", {}))
        found += [Violation(rule, unique_id, problem) for problem in problems]
    return found


def _test_target(test: Node) -> str | None:
    attached = test.get("attached_node")
    if attached:
        return str(attached)
    parents = [p for p in _parents(test) if _kind(p) in ("model", "seed", "snapshot")]
    return parents[0] if len(parents) == 1 else None


def check_primary_key_test(manifest: Manifest) -> list[Violation]:
    rule = "primary_key_test"
    tests_by_node: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for _, test in _nodes(manifest, "test"):
        metadata = test.get("test_metadata") or {}
        test_name = metadata.get("name")
        target = _test_target(test)
        if not test_name or not target:
            continue
        column = test.get("column_name") or metadata.get("kwargs", {}).get("column_name") or ""
        tests_by_node[target][test_name].add(str(column).strip().lower())

    found = []
    for unique_id, node in _models(manifest):
        meta = {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}
        if not _blank(meta.get(PRIMARY_KEY_EXEMPT)):
            continue
        tests = tests_by_node.get(unique_id, {})
        unique_columns = tests.get("unique", set()) - {""}
        not_null_columns = tests.get("not_null", set())
        if unique_columns & not_null_columns:
            continue
        if any(name in COMBINATION_UNIQUE_TESTS for name in tests):
            continue
        hint = (
            f" (unique on {', '.join(sorted(unique_columns))} has no not_null)"
            if unique_columns
            else ""
        )
        found.append(
            Violation(
                rule,
                unique_id,
                "no primary-key test: unique + not_null on the key column, or a "
                f"combination-unique test{hint}",
            )
        )
    return found


def check_source_freshness(manifest: Manifest) -> list[Violation]:
    rule = "source_freshness"
    found = []
    for unique_id, source in _sources(manifest):
        config = source.get("config", {}) or {}
        freshness = source.get("freshness") or config.get("freshness") or {}
        loaded_at = (
            source.get("loaded_at_field")
            or source.get("loaded_at_query")
            or config.get("loaded_at_field")
            or config.get("loaded_at_query")
        )
        has_threshold = any(
            (freshness.get(key) or {}).get("count") and (freshness.get(key) or {}).get("period")
            for key in ("warn_after", "error_after")
        )
        if not loaded_at:
            found.append(Violation(rule, unique_id, "no loaded_at_field for freshness"))
        if not has_threshold:
            found.append(Violation(rule, unique_id, "no freshness warn_after or error_after"))
    return found


def check_mart_contract(manifest: Manifest) -> list[Violation]:
    rule = "mart_contract"
    found = []
    for unique_id, node in _models(manifest):
        if _layer(node) != "marts":
            continue
        contract = (node.get("config", {}) or {}).get("contract") or node.get("contract") or {}
        if not contract.get("enforced"):
            found.append(Violation(rule, unique_id, "a mart needs contract: {enforced: true}"))
        untyped = sorted(
            name
            for name, column in (node.get("columns", {}) or {}).items()
            if _blank(column.get("data_type"))
        )
        if untyped:
            found.append(
                Violation(rule, unique_id, f"column(s) without data_type: {', '.join(untyped)}")
            )
    return found


def _lookup(manifest: Manifest, unique_id: str) -> Node:
    for key in ("nodes", "sources", "metrics", "semantic_models", "saved_queries", "exposures"):
        node = manifest.get(key, {}).get(unique_id)
        if node is not None:
            return node
    return {}


def _tables_behind(manifest: Manifest, unique_id: str, seen: set[str]) -> Iterator[str]:
    """Models, seeds, snapshots and sources an exposure reads, through metrics and
    semantic models."""
    if unique_id in seen:
        return
    seen.add(unique_id)
    if _kind(unique_id) in ("model", "seed", "snapshot", "source"):
        yield unique_id
        return
    for parent in _parents(_lookup(manifest, unique_id)):
        yield from _tables_behind(manifest, parent, seen)


def check_exposure_parents(manifest: Manifest) -> list[Violation]:
    rule = "exposure_parents"
    found = []
    for unique_id, exposure in sorted(manifest.get("exposures", {}).items()):
        seen: set[str] = set()
        tables = sorted(
            {
                table
                for parent in _parents(exposure)
                for table in _tables_behind(manifest, parent, seen)
            }
        )
        if not tables:
            found.append(Violation(rule, unique_id, "depends on no model"))
        for table in tables:
            kind = _kind(table)
            if kind == "source":
                found.append(
                    Violation(rule, unique_id, f"reads source {table}: expose a mart instead")
                )
            elif kind == "model":
                node = manifest.get("nodes", {}).get(table, {})
                materialized = (node.get("config", {}) or {}).get("materialized", "?")
                if materialized not in TABLE_MATERIALIZATIONS:
                    found.append(
                        Violation(
                            rule,
                            unique_id,
                            f"reads {table}, materialized as {materialized!r}: exposures "
                            "read tables (table, incremental, snapshot)",
                        )
                    )
    return found


def check_fan_out(manifest: Manifest) -> list[Violation]:
    rule = "fan_out"
    children = _children(manifest)
    found = []
    for unique_id, _ in _models(manifest):
        count = len(children.get(unique_id, []))
        if count > FAN_OUT_THRESHOLD:
            found.append(
                Violation(
                    rule,
                    unique_id,
                    f"{count} direct model children, more than FAN_OUT_THRESHOLD="
                    f"{FAN_OUT_THRESHOLD}: {', '.join(sorted(children[unique_id]))}",
                )
            )
    return found


def check_join_count(manifest: Manifest) -> list[Violation]:
    rule = "join_count"
    found = []
    for unique_id, node in _models(manifest):
        parents = sorted(
            p for p in set(_parents(node)) if _kind(p) in ("model", "seed", "snapshot", "source")
        )
        if len(parents) > JOIN_COUNT_THRESHOLD:
            found.append(
                Violation(
                    rule,
                    unique_id,
                    f"{len(parents)} direct parents, more than JOIN_COUNT_THRESHOLD="
                    f"{JOIN_COUNT_THRESHOLD}: {', '.join(parents)}",
                )
            )
    return found


RULES: dict[str, Callable[[Manifest], list[Violation]]] = {
    "layer_naming": check_layer_naming,
    "source_outside_staging": check_source_outside_staging,
    "direct_join_to_source": check_direct_join_to_source,
    "staging_dependency": check_staging_dependency,
    "model_documented": check_model_documented,
    "source_documented": check_source_documented,
    "primary_key_test": check_primary_key_test,
    "source_freshness": check_source_freshness,
    "mart_contract": check_mart_contract,
    "exposure_parents": check_exposure_parents,
    "fan_out": check_fan_out,
    "join_count": check_join_count,
}


def check_warehouse_columns(
    manifest: Manifest, warehouse: Mapping[tuple[str, str], Sequence[str]]
) -> list[Violation]:
    """Rule ``warehouse_columns_documented``: every column a built model has in the warehouse
    is documented in its YAML. The manifest alone only knows the YAML's columns, so this
    needs the built tables: ``warehouse`` maps (schema, table) to column names (see
    ``warehouse_columns``). Models not in the warehouse (not built) are not judged."""
    rule = "warehouse_columns_documented"
    found = []
    for unique_id, node in _models(manifest):
        key = (str(node.get("schema", "")).lower(), str(node.get("alias") or node["name"]).lower())
        actual = warehouse.get(key)
        if actual is None:
            continue
        documented = {name.lower() for name in node.get("columns", {})}
        missing = [column for column in actual if column.lower() not in documented]
        if missing:
            found.append(
                Violation(
                    rule,
                    unique_id,
                    f"column(s) in {key[0]}.{key[1]} missing from its YAML: {', '.join(missing)}",
                )
            )
    return found


def warehouse_columns(connection: Any) -> dict[tuple[str, str], list[str]]:
    """(schema, table) -> column names, in order, from a DB-API connection's
    information_schema (e.g. a read-only duckdb connection to the built file)."""
    rows = connection.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "order by table_schema, table_name, ordinal_position"
    ).fetchall()
    columns: dict[tuple[str, str], list[str]] = defaultdict(list)
    for schema, table, column in rows:
        columns[(str(schema).lower(), str(table).lower())].append(str(column))
    return dict(columns)


def check_manifest(manifest: Manifest, rules: Iterable[str] | None = None) -> list[Violation]:
    """Every violation of the given rules (default: all), sorted by rule and node."""
    names = list(rules) if rules is not None else list(RULES)
    unknown = [name for name in names if name not in RULES]
    if unknown:
        raise KeyError(f"unknown rule(s) {unknown}; known: {sorted(RULES)}")
    return sorted(violation for name in names for violation in RULES[name](manifest))


def load_manifest(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def format_report(violations: Sequence[Violation]) -> str:
    if not violations:
        return "structure checks: every rule passes"
    lines = [f"structure checks: {len(violations)} violation(s)"]
    lines += [f"  {violation}" for violation in violations]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shopfunnel.structure",
        description="Check the dbt project's structure rules on a manifest.json.",
    )
    parser.add_argument("manifest", nargs="?", default="target/manifest.json")
    parser.add_argument(
        "--rule", action="append", choices=sorted(RULES), help="run only this rule (repeatable)"
    )
    args = parser.parse_args(argv)
    violations = check_manifest(load_manifest(args.manifest), args.rule)
    print(format_report(violations))
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
