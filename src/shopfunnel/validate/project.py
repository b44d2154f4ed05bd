"""What the gate reads from the dbt project: the raw-data contract and the marts' YAML.

The expectations are derived from the project rather than listed by hand, so a new raw
column, a new mart or a new rate column is covered without touching the gate:

* raw tables and their required columns: ``models/staging/shop/_shop__sources.yml``;
* marts: every model described in a YAML file under ``models/marts/``, with
  - key columns: columns with a ``unique`` test, and model-level ``*unique_combination*``
    tests (compound keys);
  - not-null columns: columns with a ``not_null`` test;
  - bounded columns: columns with a ``value_between`` test (its min/max), plus every column
    named like a rate (:func:`is_rate_column`), bounded to [0, 1];
  - allowed values: columns with an ``accepted_values`` test;
* vars (``dbt_project.yml``), e.g. ``signup_conversion_window_days``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SOURCES_FILE = Path("models/staging/shop/_shop__sources.yml")
MARTS_DIR = Path("models/marts")

_RATE_NAME = re.compile(r"(^|_)(rate|share)(_|$)|(^|_)p_value$")


class ProjectError(Exception):
    """The dbt project cannot be found or read."""


def is_rate_column(name: str) -> bool:
    """True for columns that hold a proportion in [0, 1] by the naming convention.

    ``rate`` or ``share`` as a word of the name (``signup_rate``, ``new_visitor_share``,
    ``first_purchase_rate_short_window``, ``signup_rate_ci_lower``) or a name ending in
    ``p_value``. Ratios that may exceed 1 are named otherwise (``lift``, ``*_affinity``).
    """
    return bool(_RATE_NAME.search(name.lower()))


def find_project_dir(start: Path | None = None) -> Path:
    """The folder holding dbt_project.yml: ``start`` or a parent, else the package's repo."""
    candidates: list[Path] = []
    if start is not None:
        candidates.append(start.resolve())
    candidates.append(Path.cwd().resolve())
    candidates.append(Path(__file__).resolve())
    for candidate in candidates:
        for folder in (candidate, *candidate.parents):
            if (folder / "dbt_project.yml").is_file():
                return folder
    raise ProjectError(
        "cannot find dbt_project.yml in the current folder or its parents; "
        "run from the project or pass --project-dir"
    )


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ProjectError(f"cannot read {path}: {exc}") from exc


def project_vars(project_dir: Path) -> dict[str, Any]:
    """The ``vars:`` of dbt_project.yml (their documented defaults)."""
    return dict(_load_yaml(project_dir / "dbt_project.yml").get("vars") or {})


def raw_required_columns(project_dir: Path) -> dict[str, list[str]]:
    """Raw table -> the columns the raw-data contract requires, in contract order."""
    path = project_dir / SOURCES_FILE
    document = _load_yaml(path)
    tables: dict[str, list[str]] = {}
    for source in document.get("sources") or []:
        for table in source.get("tables") or []:
            tables[table["name"]] = [column["name"] for column in table.get("columns") or []]
    if not tables:
        raise ProjectError(f"{path} declares no source tables")
    return tables


@dataclass
class MartSpec:
    """What the marts' YAML says about one mart."""

    name: str
    yaml_path: Path
    key_columns: list[list[str]] = field(default_factory=list)
    not_null_columns: list[str] = field(default_factory=list)
    bounds: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    accepted_values: dict[str, list[Any]] = field(default_factory=dict)


def _test_name_and_arguments(test: Any) -> tuple[str, dict[str, Any]]:
    """``unique`` or ``{value_between: {arguments: {...}}}`` -> (name, arguments)."""
    if isinstance(test, str):
        return test, {}
    if isinstance(test, dict) and len(test) == 1:
        name, body = next(iter(test.items()))
        body = dict(body or {})
        arguments = dict(body.pop("arguments", None) or {})
        body.pop("config", None)
        return str(name), {**body, **arguments}
    return "", {}


def _tests_of(node: dict[str, Any]) -> list[Any]:
    return list(node.get("data_tests") or []) + list(node.get("tests") or [])


def _short_name(test_name: str) -> str:
    """``dbt_utils.unique_combination_of_columns`` -> ``unique_combination_of_columns``."""
    return test_name.rsplit(".", 1)[-1]


def mart_specs(project_dir: Path) -> dict[str, MartSpec]:
    """Every model described under models/marts/, with what its tests declare."""
    marts_dir = project_dir / MARTS_DIR
    specs: dict[str, MartSpec] = {}
    for path in sorted(marts_dir.rglob("*.yml")):
        for model in _load_yaml(path).get("models") or []:
            spec = MartSpec(name=model["name"], yaml_path=path.relative_to(project_dir))
            for test in _tests_of(model):
                name, arguments = _test_name_and_arguments(test)
                if "unique_combination" in _short_name(name):
                    columns = arguments.get("combination_of_columns") or arguments.get("columns")
                    if columns:
                        spec.key_columns.append([str(column) for column in columns])
            for column in model.get("columns") or []:
                column_name = column["name"]
                for test in _tests_of(column):
                    name, arguments = _test_name_and_arguments(test)
                    short = _short_name(name)
                    if short == "unique":
                        spec.key_columns.append([column_name])
                    elif short == "not_null":
                        spec.not_null_columns.append(column_name)
                    elif short == "value_between":
                        spec.bounds[column_name] = (
                            arguments.get("min_value"),
                            arguments.get("max_value"),
                        )
                    elif short == "accepted_values" and arguments.get("values") is not None:
                        spec.accepted_values[column_name] = list(arguments["values"])
            specs[spec.name] = spec
    return specs
