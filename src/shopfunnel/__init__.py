"""shopfunnel: marketing funnel marts for an online shop (dbt on DuckDB) and their tooling."""

__version__ = "0.1.0"
