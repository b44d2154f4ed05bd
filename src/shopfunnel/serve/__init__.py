"""Serving the marts to BI tools: write, audit, publish.

``dbt build`` writes the build warehouse; BI tools never open it. After the build and the
marts gate pass, :func:`publish_build` copies every relation of the ``marts`` schema (nothing
from staging, intermediate or seeds: no clear-text PII) into a new DuckDB file in the format
DuckDB 1.4+ clients open, archives it as a version and renames it over the serving file
(``SHOPFUNNEL_SERVE_PATH``, default ``data/serve/shopfunnel.duckdb``). Readers that already
have the old file open keep it; new connections see the new one. Every serving file holds
``meta.published_versions`` and ``meta.published_mart_rows`` (the publication log).

Commands: ``publish`` (also ``--to postgres``), ``rollback``, ``versions``.
"""

from shopfunnel.serve.publish import GateResult, PublishResult, publish_build
from shopfunnel.serve.rollback import rollback
from shopfunnel.serve.store import ServeStore, default_serve_path
from shopfunnel.serve.versions import list_versions

__all__ = [
    "GateResult",
    "PublishResult",
    "ServeStore",
    "default_serve_path",
    "list_versions",
    "publish_build",
    "rollback",
]
