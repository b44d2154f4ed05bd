"""The Great Expectations quality gate (``python -m shopfunnel validate``).

See :mod:`shopfunnel.validate.cli` for what it checks and
:mod:`shopfunnel.validate.gx_duckdb_compat` for how GX's SQL route is made to work on DuckDB.
"""
