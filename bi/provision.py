"""Provision Superset for shopfunnel: the connection, the datasets, the case-study dashboard.

    .venv/bin/python bi/provision.py --url http://127.0.0.1:8088 --user admin \\
        --password ... --serve-path data/serve/shopfunnel.duckdb

Idempotent: every object is found by name (database, schema + table, chart name, dashboard
slug) and updated, or created. What it makes:

* a database connection to the serving file through duckdb-engine, opened read-only
  (``connect_args: {read_only: true}``): never the build file;
* a dataset for every relation of the serving file's ``marts`` schema (as Superset lists
  them, nothing hard-coded) and for ``meta.published_versions``, with the model and column
  descriptions of the dbt YAML read from ``target/manifest.json``;
* the charts of ``bi/dashboard.py`` (each with its saved query, so the chart-data API can
  run it) on one dashboard.

Prints a JSON summary (ids of everything) on stdout, or writes it to ``--out``.
Runs on the project's own virtualenv (it reads the manifest with ``shopfunnel.serve.docs``);
Superset itself runs in ``.venv-bi``.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from dashboard import DASHBOARD_SLUG, DASHBOARD_TITLE, DATABASE_NAME, Chart, charts
from superset_client import SupersetClient

from shopfunnel.serve.docs import RelationDoc, mart_docs

COLUMN_FIELDS = (
    "id", "column_name", "type", "verbose_name", "expression", "filterable", "groupby",
    "is_active", "is_dttm", "python_date_format", "uuid",
)  # fmt: skip
SCHEMAS = ("marts", "meta")
META_TABLES = ("published_versions",)
META_DOCS = {
    "published_versions": RelationDoc(
        "Publication log of the serving file: every publish and rollback; is_current marks "
        "the version whose marts this file holds.",
        {},
    )
}


def ensure_database(client: SupersetClient, serve_path: Path) -> int:
    body = {
        "database_name": DATABASE_NAME,
        "sqlalchemy_uri": f"duckdb:///{serve_path.absolute()}",
        "expose_in_sqllab": True,
        "allow_dml": False,
        "allow_file_upload": False,
        "allow_run_async": False,
        "extra": json.dumps({"engine_params": {"connect_args": {"read_only": True}}}),
    }
    found = client.find("database", "database_name", DATABASE_NAME)
    if found:
        client.request("PUT", f"/api/v1/database/{found['id']}", body)
        return int(found["id"])
    return int(client.request("POST", "/api/v1/database/", body)["id"])


def list_tables(client: SupersetClient, database_id: int, schema: str) -> list[str]:
    reply = client.get(f"/api/v1/database/{database_id}/tables/", schema_name=schema, force=True)
    return sorted(item["value"] for item in reply["result"] if item.get("type") == "table")


def ensure_dataset(
    client: SupersetClient, database_id: int, schema: str, table: str, doc: RelationDoc
) -> int:
    reply = client.get(
        "/api/v1/dataset/",
        filters=[
            {"col": "table_name", "opr": "eq", "value": table},
            {"col": "schema", "opr": "eq", "value": schema},
        ],
    )
    if reply["result"]:
        dataset_id = int(reply["result"][0]["id"])
        # pick up columns added since (a model changed)
        client.request("PUT", f"/api/v1/dataset/{dataset_id}/refresh")
    else:
        created = client.request(
            "POST",
            "/api/v1/dataset/",
            {"database": database_id, "schema": schema, "table_name": table},
        )
        dataset_id = int(created["id"])
    current = client.request("GET", f"/api/v1/dataset/{dataset_id}")["result"]
    columns = []
    for column in current["columns"]:
        kept = {
            key: column[key] for key in COLUMN_FIELDS if key in column and column[key] is not None
        }
        kept["description"] = doc.columns.get(column["column_name"]) or None
        columns.append(kept)
    client.request(
        "PUT",
        f"/api/v1/dataset/{dataset_id}?override_columns=false",
        {"description": doc.description or None, "columns": columns},
    )
    return dataset_id


def ensure_chart(client: SupersetClient, chart: Chart, dataset_id: int) -> int:
    body = {
        "slice_name": chart.name,
        "viz_type": chart.viz_type,
        "datasource_id": dataset_id,
        "datasource_type": "table",
        "params": json.dumps(chart.form_data(dataset_id)),
        "query_context": json.dumps(chart.query_context(dataset_id)),
        "description": f"From {chart.schema}.{chart.mart} of the serving file.",
    }
    found = client.find("chart", "slice_name", chart.name)
    if found:
        client.request("PUT", f"/api/v1/chart/{found['id']}", body)
        return int(found["id"])
    return int(client.request("POST", "/api/v1/chart/", body)["id"])


def layout(placed: list[tuple[Chart, int]]) -> dict[str, Any]:
    """Dashboard position_json: charts in rows of 12 grid columns, in the given order."""
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": DASHBOARD_TITLE}},
    }
    rows: list[list[tuple[Chart, int]]] = []
    for item in placed:
        if not rows or sum(chart.width for chart, _ in rows[-1]) + item[0].width > 12:
            rows.append([])
        rows[-1].append(item)
    for number, row in enumerate(rows, start=1):
        row_id = f"ROW-{number}"
        position["GRID_ID"]["children"].append(row_id)
        position[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
        for chart, chart_id in row:
            chart_key = f"CHART-{chart_id}"
            position[row_id]["children"].append(chart_key)
            position[chart_key] = {
                "type": "CHART",
                "id": chart_key,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {
                    "chartId": chart_id,
                    "width": chart.width,
                    "height": chart.height,
                    "sliceName": chart.name,
                    "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"shopfunnel:{chart.name}")),
                },
            }
    return position


def ensure_dashboard(client: SupersetClient, placed: list[tuple[Chart, int]]) -> int:
    body = {
        "dashboard_title": DASHBOARD_TITLE,
        "slug": DASHBOARD_SLUG,
        "published": True,
        "position_json": json.dumps(layout(placed)),
        "json_metadata": json.dumps({"color_scheme": "supersetColors", "refresh_frequency": 0}),
    }
    found = client.find("dashboard", "slug", DASHBOARD_SLUG)
    if found:
        dashboard_id = int(found["id"])
        client.request("PUT", f"/api/v1/dashboard/{dashboard_id}", body)
    else:
        dashboard_id = int(client.request("POST", "/api/v1/dashboard/", body)["id"])
    for _, chart_id in placed:
        client.request("PUT", f"/api/v1/chart/{chart_id}", {"dashboards": [dashboard_id]})
    return dashboard_id


def provision(client: SupersetClient, serve_path: Path, manifest: Path) -> dict[str, Any]:
    docs = {**mart_docs(manifest), **META_DOCS}
    database_id = ensure_database(client, serve_path)
    datasets: dict[str, int] = {}
    for schema in SCHEMAS:
        tables = list_tables(client, database_id, schema)
        if schema == "meta":
            tables = [table for table in tables if table in META_TABLES]
        elif not tables:
            raise SystemExit(
                f"provision: no table in schema {schema} of {serve_path}: publish first"
            )
        for table in tables:
            key = f"{schema}.{table}"
            datasets[key] = ensure_dataset(
                client, database_id, schema, table, docs.get(table, RelationDoc(""))
            )
    placed = []
    for chart in charts():
        key = f"{chart.schema}.{chart.mart}"
        if key not in datasets:
            raise SystemExit(f"provision: chart {chart.name!r} needs {key}, not in {serve_path}")
        placed.append((chart, ensure_chart(client, chart, datasets[key])))
    dashboard_id = ensure_dashboard(client, placed)
    return {
        "database_id": database_id,
        "datasets": datasets,
        "charts": {chart.name: chart_id for chart, chart_id in placed},
        "dashboard_id": dashboard_id,
        "dashboard_url": f"{client.base_url}/superset/dashboard/{DASHBOARD_SLUG}/",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8088", help="Superset's address")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", required=True)
    parser.add_argument(
        "--serve-path", type=Path, default=Path("data/serve/shopfunnel.duckdb"),
        help="the serving file (as Superset's machine sees it)",
    )  # fmt: skip
    parser.add_argument("--manifest", type=Path, default=Path("target/manifest.json"))
    parser.add_argument("--out", type=Path, default=None, help="write the summary JSON here")
    args = parser.parse_args(argv)
    client = SupersetClient(args.url)
    client.login(args.user, args.password)
    summary = provision(client, args.serve_path, args.manifest)
    text = json.dumps(summary, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
