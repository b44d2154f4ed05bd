"""Project structure checks over dbt's ``target/manifest.json``.

dbt-project-evaluator cannot be installed here (``dbt deps`` cannot reach the package hub),
so these are our own rules in the same spirit. Each rule is a function that reads a manifest
(a plain ``dict`` shaped like dbt's) and returns the violations it finds, each naming the
rule and the node. ``tests/python/test_structure.py`` runs them on the real project (from a
fresh ``dbt parse``) and, rule by rule, on tiny bad manifests to prove each one can fail.

Run it through the one CLI::

    python -m shopfunnel structure --parse                 # dbt parse, then every rule
    python -m shopfunnel structure target/manifest.json    # an existing manifest
    python -m shopfunnel structure --parse --severity duckdb_only_sql=error

It exits 1 when a rule set to ``error`` finds something; rules set to ``warn`` are printed
and do not fail. The severity of each rule is ``error`` unless ``dbt_project.yml`` says
otherwise in ``vars: {structure_severity: {<rule>: error|warn|off}}`` (read from
``--project-dir``), and ``--severity RULE=LEVEL`` overrides both for one run.

Exemptions. Where dbt-project-evaluator has an exceptions seed, a model (or source table)
here says in its own ``meta`` which rule does not apply to it and why:
``meta: {structure_exempt: {<rule>: <reason>}}``. Only the rules in ``EXEMPTABLE_RULES``
accept one, and rule ``exemption_documented`` checks every entry names such a rule and gives
a reason (a blank reason exempts nothing).

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
    Every column a built model has is in its YAML: ``check_warehouse_columns``
    (``structure --db FILE``).
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
``fan_out`` (evaluator: ``fct_model_fanout``)
    No model has ``FAN_OUT_THRESHOLD`` (the evaluator's default, 3) or more direct *leaf*
    children: models that nothing else (no model, snapshot, exposure, metric or semantic
    model) reads. Exemptable.
``rejoining_of_upstream_concepts`` (evaluator: ``fct_rejoining_of_upstream_concepts``)
    A model C that reads a node P directly and also through a model M that reads P, where M
    feeds nothing but C (exposures and metrics left out, as the evaluator does): M is a step
    of C and belongs in C as a CTE. Reported on C. Exemptable.
``root_models`` (evaluator: ``fct_root_models``)
    Every model reads something through ``ref()`` or ``source()`` (a model with no parent
    hides its lineage); MetricFlow's time spine is the one built-in exception. Exemptable.
``unused_sources`` (evaluator: ``fct_unused_sources``)
    Every declared source table is read by a model or snapshot. Exemptable (in the source
    table's ``meta``).
``exemption_documented``
    Every ``structure_exempt`` entry names a rule of ``EXEMPTABLE_RULES`` and gives a reason.
``join_count`` (evaluator: ``fct_too_many_joins``)
    No model has more than ``JOIN_COUNT_THRESHOLD`` direct parents (models, seeds, sources).
``duckdb_only_sql``
    No model, snapshot or singular data test contains a construct of
    ``shopfunnel.engine_sql.DUCKDB_ONLY_SQL`` (SQL that Apache Spark rejects or answers
    differently) outside a macro: every hit is
    reported with its file, line and construct. Jinja, comments and the contents of string
    literals are not SQL and are not searched. The SQL types declared in YAML (a seed's
    ``column_types``, an enforced contract's ``data_type``) are checked too, and so are
    disabled models and tests (enabled by a var, such as the tracker adapters). Exemptable
    (in the node's ``meta``), for what runs on DuckDB only by design and stops with a
    message on Spark.
``duckdb_only_sql_in_macros``
    The same constructs inside the project's macros, except in ``duckdb__*`` and ``spark__*``
    macros (one engine's implementation of an ``adapter.dispatch`` macro, written in that
    engine's SQL and checked by the cross-engine known-value tests): a ``default__`` or plain
    macro must be SQL that both engines run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shopfunnel.engine_sql import find_duckdb_only_sql

# A model with this many direct leaf children (or more) is where reports fan out of the DAG:
# maybe the BI layer's job, or shared logic to move upstream. dbt-project-evaluator's
# default models_fanout_threshold.
FAN_OUT_THRESHOLD = 3

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

# meta: {structure_exempt: {<rule>: <reason>}} on a model or source table; these rules honour it.
STRUCTURE_EXEMPT = "structure_exempt"
EXEMPTABLE_RULES = frozenset(
    {
        "fan_out",
        "rejoining_of_upstream_concepts",
        "root_models",
        "unused_sources",
        "source_freshness",
        "duckdb_only_sql",
    }
)

# dbt_project.yml: vars: {structure_severity: {<rule>: error|warn|off}}
SEVERITY_VAR = "structure_severity"
SEVERITIES = ("error", "warn", "off")

# Materializations that leave a table behind (what an exposure may read).
TABLE_MATERIALIZATIONS = frozenset({"table", "incremental", "snapshot"})

MART_PREFIXES = ("fct_", "dim_", "rpt_", "aud_")
TIME_SPINE_NAME = "metricflow_time_spine"

# What dbt-project-evaluator's DAG holds besides sources: tests, unit tests and analyses are
# not nodes of it.
DAG_KINDS = frozenset(
    {"model", "seed", "snapshot", "exposure", "metric", "semantic_model", "saved_query"}
)
# The rejoining rule leaves exposures and metrics (and what hangs off them) out.
MODEL_DAG_KINDS = frozenset({"model", "seed", "snapshot"})

Manifest = Mapping[str, Any]
Node = Mapping[str, Any]


@dataclass(frozen=True, order=True)
class Violation:
    """One broken rule: which rule, which node, and what is wrong (``line``: of the node's
    file, where the rule knows it; ``severity``: error or warn, set by ``check_manifest``)."""

    rule: str
    node: str
    message: str
    severity: str = "error"
    line: int = 0

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


def _dag_children(manifest: Manifest, kinds: frozenset[str] = DAG_KINDS) -> dict[str, set[str]]:
    """unique_id -> its direct children of the given kinds (any package)."""
    children: dict[str, set[str]] = defaultdict(set)
    for key in ("nodes", "exposures", "metrics", "semantic_models", "saved_queries"):
        for unique_id, node in manifest.get(key, {}).items():
            if _kind(unique_id) in kinds:
                for parent in _parents(node):
                    children[parent].add(unique_id)
    return children


def _meta(node: Node) -> dict[str, Any]:
    return {**(node.get("meta") or {}), **((node.get("config") or {}).get("meta") or {})}


def _exempt(node: Node, rule: str) -> bool:
    """The node's meta exempts it from the rule, with a reason."""
    exemptions = _meta(node).get(STRUCTURE_EXEMPT)
    return isinstance(exemptions, Mapping) and not _blank(exemptions.get(rule))


def _exempt_hint(rule: str) -> str:
    return f"(or say why not in meta: {{{STRUCTURE_EXEMPT}: {{{rule}: <reason>}}}})"


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
    """One raw table's chain: base_s__t_batch -> base_s__t (the run's raw rows into the
    incremental base table), base_s__t -> stg_s__t and stg_s__t_quarantine (the views over
    it), stg_s__t -> stg_s__t_quarantine."""
    parent_parts, child_parts = _staging_parts(parent), _staging_parts(child)
    if not parent_parts or not child_parts:
        return False
    parent_prefix, parent_source, parent_table = parent_parts
    child_prefix, child_source, child_entity = child_parts
    if parent_source != child_source:
        return False
    if parent_prefix == "base" and child_prefix == "base":
        return parent_table == f"{child_entity}_batch"
    if child_prefix != "stg":
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
                        "base_<s>__<t>_batch -> base_<s>__<t> -> stg_<s>__<t> (and "
                        "stg_<s>__<t>_quarantine) is allowed",
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
        meta = _meta(node)
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
        if _exempt(source, rule):
            continue
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
    children = _dag_children(manifest)
    found = []
    for unique_id, node in _models(manifest):
        leaves = sorted(
            child
            for child in children.get(unique_id, ())
            if _kind(child) == "model" and not children.get(child)
        )
        if len(leaves) >= FAN_OUT_THRESHOLD and not _exempt(node, rule):
            found.append(
                Violation(
                    rule,
                    unique_id,
                    f"{len(leaves)} direct leaf models (FAN_OUT_THRESHOLD={FAN_OUT_THRESHOLD}): "
                    f"{', '.join(leaves)}; move shared logic upstream or to the BI layer "
                    + _exempt_hint(rule),
                )
            )
    return found


def check_rejoining_of_upstream_concepts(manifest: Manifest) -> list[Violation]:
    rule = "rejoining_of_upstream_concepts"
    children = _dag_children(manifest, MODEL_DAG_KINDS)
    models = dict(_models(manifest))
    found = []
    for parent, direct in sorted(children.items()):
        for child in sorted(direct):
            if child not in models or _exempt(models[child], rule):
                continue
            for step in sorted(direct - {child}):
                if children.get(step) == {child}:
                    step_name = step.rsplit(".", 1)[-1]
                    found.append(
                        Violation(
                            rule,
                            child,
                            f"reads {parent} directly and through {step_name}, which reads "
                            f"it too and feeds nothing but this model: make {step_name} a "
                            "CTE here " + _exempt_hint(rule),
                        )
                    )
    return found


def check_root_models(manifest: Manifest) -> list[Violation]:
    rule = "root_models"
    found = []
    for unique_id, node in _models(manifest):
        if _parents(node) or _is_time_spine(node) or _exempt(node, rule):
            continue
        found.append(
            Violation(
                rule,
                unique_id,
                "reads no ref() or source(): a table named in the SQL hides the lineage "
                + _exempt_hint(rule),
            )
        )
    return found


def check_unused_sources(manifest: Manifest) -> list[Violation]:
    rule = "unused_sources"
    children = _dag_children(manifest, frozenset({"model", "snapshot"}))
    return [
        Violation(
            rule,
            unique_id,
            "no model or snapshot reads this source table: remove it from the YAML "
            + _exempt_hint(rule),
        )
        for unique_id, source in _sources(manifest)
        if not children.get(unique_id) and not _exempt(source, rule)
    ]


def check_exemption_documented(manifest: Manifest) -> list[Violation]:
    rule = "exemption_documented"
    found = []
    checked = [
        *_models(manifest),
        *_sources(manifest),
        *_nodes(manifest, "test"),
        *_disabled_nodes(manifest, "model"),
        *_disabled_nodes(manifest, "test"),
    ]
    for unique_id, node in checked:
        exemptions = _meta(node).get(STRUCTURE_EXEMPT)
        if exemptions is None:
            continue
        if not isinstance(exemptions, Mapping):
            found.append(
                Violation(
                    rule,
                    unique_id,
                    f"{STRUCTURE_EXEMPT} must map a rule to the reason, got {exemptions!r}",
                )
            )
            continue
        for name, reason in sorted(exemptions.items()):
            if name not in EXEMPTABLE_RULES:
                found.append(
                    Violation(
                        rule,
                        unique_id,
                        f"{STRUCTURE_EXEMPT} names {name!r}, which takes no exemption "
                        f"(exemptable: {', '.join(sorted(EXEMPTABLE_RULES))})",
                    )
                )
            elif _blank(reason):
                found.append(
                    Violation(
                        rule,
                        unique_id,
                        f"{STRUCTURE_EXEMPT}.{name} gives no reason: a blank reason exempts "
                        "nothing",
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


def _macro_line_offset(macro: Node, project_dir: Path | None) -> int:
    """Lines of the macro's file before its ``{% macro %}`` block (0 when unknown)."""
    if project_dir is None:
        return 0
    path = project_dir / str(macro.get("original_file_path", ""))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return 0
    start = text.find(str(macro.get("macro_sql", "")))
    return text.count("\n", 0, start) if start > 0 else 0


def _duckdb_hits(
    rule: str, unique_id: str, path: str, raw: str, offset: int = 0
) -> list[Violation]:
    return [
        Violation(
            rule,
            unique_id,
            f"{path}:{line + offset}: {construct.name} ({matched}): use {construct.instead}",
            line=line + offset,
        )
        for line, construct, matched in find_duckdb_only_sql(raw)
    ]


def _disabled_nodes(manifest: Manifest, resource_type: str) -> Iterator[tuple[str, Node]]:
    """Disabled nodes of one type that belong to this project (a model enabled by a var,
    such as a tracker adapter, is still SQL of the project)."""
    project = _project(manifest)
    for unique_id, versions in sorted((manifest.get("disabled") or {}).items()):
        for node in versions:
            if node.get("resource_type") != resource_type:
                continue
            if project and node.get("package_name", project) != project:
                continue
            yield unique_id, node


def _declared_types(node: Node) -> Iterator[tuple[str, str]]:
    """(column, SQL type) a node declares in YAML: a seed's ``column_types``, an enforced
    contract's ``data_type`` (both become DDL on the engine)."""
    config = node.get("config") or {}
    if node.get("resource_type") == "seed":
        for column, data_type in sorted((config.get("column_types") or {}).items()):
            yield str(column), str(data_type)
    elif (config.get("contract") or {}).get("enforced"):
        for column, spec in sorted((node.get("columns") or {}).items()):
            if spec.get("data_type"):
                yield str(column), str(spec["data_type"])


def check_duckdb_only_sql(manifest: Manifest) -> list[Violation]:
    rule = "duckdb_only_sql"
    found = []
    for resource_type in ("model", "seed"):
        for unique_id, node in _nodes(manifest, resource_type):
            path = str(node.get("original_file_path") or node.get("path", ""))
            for column, data_type in _declared_types(node):
                for _, construct, matched in find_duckdb_only_sql(f"cast(x as {data_type})"):
                    found.append(
                        Violation(
                            rule,
                            unique_id,
                            f"{path}: column {column} is declared {data_type!r} in YAML: "
                            f"{construct.name} ({matched}): use {construct.instead}",
                        )
                    )
    for resource_type in ("model", "snapshot", "test"):
        nodes = [*_nodes(manifest, resource_type), *_disabled_nodes(manifest, resource_type)]
        for unique_id, node in nodes:
            if resource_type == "test" and node.get("test_metadata"):
                continue  # a generic test's SQL is its macro's (duckdb_only_sql_in_macros)
            if _exempt(node, rule):
                continue
            path = str(node.get("original_file_path") or node.get("path", ""))
            found += _duckdb_hits(rule, unique_id, path, str(node.get("raw_code") or ""))
    return found


def check_duckdb_only_sql_in_macros(
    manifest: Manifest, project_dir: Path | None = None
) -> list[Violation]:
    rule = "duckdb_only_sql_in_macros"
    project = _project(manifest)
    found = []
    for unique_id, macro in sorted(manifest.get("macros", {}).items()):
        if project and macro.get("package_name", project) != project:
            continue
        if str(macro.get("name", "")).startswith(("duckdb__", "spark__")):
            continue  # one engine's side of an adapter.dispatch macro, in that engine's SQL
        found += _duckdb_hits(
            rule,
            unique_id,
            str(macro.get("original_file_path", "")),
            str(macro.get("macro_sql") or ""),
            _macro_line_offset(macro, project_dir),
        )
    return found


RULES: dict[str, Callable[..., list[Violation]]] = {
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
    "rejoining_of_upstream_concepts": check_rejoining_of_upstream_concepts,
    "root_models": check_root_models,
    "unused_sources": check_unused_sources,
    "exemption_documented": check_exemption_documented,
    "join_count": check_join_count,
    "duckdb_only_sql": check_duckdb_only_sql,
    "duckdb_only_sql_in_macros": check_duckdb_only_sql_in_macros,
}
# rules that read files of the project (line numbers of macros inside their files)
_RULES_WITH_PROJECT_DIR = frozenset({"duckdb_only_sql_in_macros"})


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


# ------------------------------------------------------------------ running the rules


def _check_severity(severity: Mapping[str, str], where: str) -> dict[str, str]:
    unknown = sorted(set(severity) - set(RULES))
    if unknown:
        raise ValueError(f"{where}: unknown rule(s) {unknown}; known: {sorted(RULES)}")
    bad = {rule: level for rule, level in severity.items() if level not in SEVERITIES}
    if bad:
        raise ValueError(f"{where}: severity must be one of {', '.join(SEVERITIES)}, got {bad}")
    return dict(severity)


def load_severity(project_dir: str | Path) -> dict[str, str]:
    """Severity per rule from ``vars: {structure_severity: ...}`` of dbt_project.yml (rules
    it does not name are ``error``)."""
    path = Path(project_dir) / "dbt_project.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    severity = (config.get("vars") or {}).get(SEVERITY_VAR) or {}
    if not isinstance(severity, Mapping):
        raise ValueError(f"{path}: vars.{SEVERITY_VAR} must map rule names to a severity")
    return _check_severity({str(k): str(v) for k, v in severity.items()}, f"{path}")


def check_manifest(
    manifest: Manifest,
    rules: Iterable[str] | None = None,
    *,
    severity: Mapping[str, str] | None = None,
    project_dir: Path | None = None,
) -> list[Violation]:
    """Every violation of the given rules (default: all), sorted by rule, node and line.
    ``severity`` maps rule -> error|warn|off (default error); an ``off`` rule is not run."""
    names = list(rules) if rules is not None else list(RULES)
    unknown = [name for name in names if name not in RULES]
    if unknown:
        raise KeyError(f"unknown rule(s) {unknown}; known: {sorted(RULES)}")
    levels = _check_severity(severity or {}, "severity")
    found = []
    for name in names:
        level = levels.get(name, "error")
        if level == "off":
            continue
        extra = {"project_dir": project_dir} if name in _RULES_WITH_PROJECT_DIR else {}
        found += [
            dataclasses.replace(violation, severity=level)
            for violation in RULES[name](manifest, **extra)
        ]
    return sorted(found, key=lambda v: (v.rule, v.node, v.line, v.message))


def errors(violations: Iterable[Violation]) -> list[Violation]:
    return [violation for violation in violations if violation.severity == "error"]


def load_manifest(path: str | Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def parse_project(project_dir: str | Path, scratch: str | Path) -> dict[str, Any]:
    """``dbt parse`` of the project into ``scratch`` (target, logs, an empty DuckDB file),
    with the dbt of the running environment; returns the manifest."""
    project_dir, scratch = Path(project_dir).resolve(), Path(scratch).resolve()
    env = {
        **os.environ,
        "DBT_TARGET_PATH": str(scratch / "target"),
        "DBT_LOG_PATH": str(scratch / "logs"),
        "DUCKDB_PATH": str(scratch / "parse.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if (project_dir / "profiles.yml").exists():
        env["DBT_PROFILES_DIR"] = str(project_dir)
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt) if dbt.exists() else "dbt", "parse", "--no-partial-parse", "--quiet"]
    result = subprocess.run(
        command, cwd=project_dir, env=env, capture_output=True, text=True, timeout=600
    )
    if result.returncode != 0:
        raise RuntimeError(f"dbt parse failed in {project_dir}:\n{result.stdout}\n{result.stderr}")
    return load_manifest(scratch / "target" / "manifest.json")


def format_report(violations: Sequence[Violation]) -> str:
    if not violations:
        return "structure checks: every rule passes"
    failing = errors(violations)
    warnings = [violation for violation in violations if violation.severity != "error"]
    lines = [f"structure checks: {len(failing)} violation(s), {len(warnings)} warning(s)"]
    lines += [f"  {violation}" for violation in failing]
    if warnings:
        counts: dict[str, int] = defaultdict(int)
        for violation in warnings:
            counts[violation.rule] += 1
        lines.append(
            "warnings (rules set to warn: "
            + ", ".join(f"{rule} {count}" for rule, count in sorted(counts.items()))
            + "):"
        )
        lines += [f"  {violation}" for violation in warnings]
    return "\n".join(lines)


# ------------------------------------------------------------------ command line


def _severity_option(text: str) -> tuple[str, str]:
    rule, _, level = text.partition("=")
    if rule not in RULES or level not in SEVERITIES:
        raise argparse.ArgumentTypeError(
            f"expected RULE=LEVEL with a rule of {sorted(RULES)} and a level of "
            f"{'|'.join(SEVERITIES)}, got {text!r}"
        )
    return rule, level


def register(subparsers: argparse._SubParsersAction) -> None:
    """The ``structure`` command of ``python -m shopfunnel``."""
    parser = subparsers.add_parser(
        "structure",
        help="check the dbt project's structure rules on its manifest",
        description="Check the dbt project's structure rules (src/shopfunnel/structure.py) on "
        "a manifest.json; exit 1 when a rule set to error finds something.",
    )
    parser.add_argument(
        "manifest", nargs="?", default=None, help="default: target/manifest.json of the project"
    )
    parser.add_argument(
        "--parse", action="store_true", help="dbt parse the project first (into a temp folder)"
    )
    parser.add_argument(
        "--project-dir", default=".", help="dbt project (its dbt_project.yml sets severities)"
    )
    parser.add_argument(
        "--rule", action="append", choices=sorted(RULES), help="run only this rule (repeatable)"
    )
    parser.add_argument(
        "--severity",
        action="append",
        type=_severity_option,
        default=[],
        metavar="RULE=LEVEL",
        help="override one rule's severity (error, warn, off) for this run (repeatable)",
    )
    parser.add_argument(
        "--db",
        default=None,
        help="a built DuckDB file: also check every built column is documented",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    project_dir = Path(args.project_dir).resolve()
    if args.parse and args.manifest:
        print("structure: give a manifest or --parse, not both", file=sys.stderr)
        return 2
    try:
        severity = {**load_severity(project_dir), **dict(args.severity)}
        if args.parse:
            with tempfile.TemporaryDirectory(prefix="structure-") as scratch:
                manifest = parse_project(project_dir, scratch)
        else:
            manifest = load_manifest(args.manifest or project_dir / "target" / "manifest.json")
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"structure: error: {exc}", file=sys.stderr)
        return 2
    violations = check_manifest(manifest, args.rule, severity=severity, project_dir=project_dir)
    if args.db:
        import duckdb

        connection = duckdb.connect(args.db, read_only=True)
        try:
            violations += check_warehouse_columns(manifest, warehouse_columns(connection))
        finally:
            connection.close()
    print(format_report(violations))
    return 1 if errors(violations) else 0
