"""Descriptions of the marts and their columns, as written in the dbt YAML.

Read from ``target/manifest.json`` (written by every dbt command), so the serving file and
the BI tool's datasets carry the same text as ``dbt docs``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

MARTS_SCHEMA = "marts"


@dataclass(frozen=True)
class RelationDoc:
    description: str
    columns: dict[str, str] = field(default_factory=dict)


def mart_docs(manifest_path: Path, schema: str = MARTS_SCHEMA) -> dict[str, RelationDoc]:
    """Relation name -> its description and column descriptions, for models in `schema`.

    Returns an empty mapping when the manifest does not exist (nothing to describe); a
    manifest that cannot be read is an error naming the file.
    """
    if not manifest_path.is_file():
        return {}
    try:
        manifest = json.loads(manifest_path.read_text())
        nodes = manifest["nodes"].values()
    except (OSError, ValueError, KeyError, AttributeError) as exc:
        raise ValueError(f"cannot read model descriptions from {manifest_path}: {exc}") from exc
    docs: dict[str, RelationDoc] = {}
    for node in nodes:
        if node.get("resource_type") not in ("model", "seed", "snapshot"):
            continue
        if str(node.get("schema", "")).lower() != schema:
            continue
        name = str(node.get("alias") or node.get("name"))
        columns = {
            str(column.get("name", key)): str(column.get("description") or "")
            for key, column in (node.get("columns") or {}).items()
        }
        docs[name] = RelationDoc(str(node.get("description") or ""), columns)
    return docs
