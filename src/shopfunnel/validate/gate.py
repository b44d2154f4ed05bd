"""The Great Expectations side of the gate: suites, checkpoint, results, data docs.

Everything runs on GX's SQL route (SQLAlchemy + duckdb-engine, through
:mod:`shopfunnel.validate.gx_duckdb_compat`): the expectations are compiled to SQL and run
inside DuckDB, on the file opened read-only. No table is pulled into pandas.

One GX suite per table, named ``<schema>.<table>``; one checkpoint per stage (``raw``,
``marts``). Every expectation carries ``meta.rule`` (the rule in words) and ``meta.column``
so a failure names the table, the column or metric, and the rule.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# GX would otherwise try to send usage analytics (no network here) on every run.
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402
from great_expectations.core.expectation_validation_result import (  # noqa: E402
    ExpectationValidationResult,
)
from great_expectations.data_context.types.base import (  # noqa: E402
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)

from shopfunnel.validate import gx_duckdb_compat  # noqa: E402
from shopfunnel.validate.project import MartSpec, is_rate_column  # noqa: E402
from shopfunnel.validate.reconcile import Reconciliation  # noqa: E402
from shopfunnel.validate.settings import (  # noqa: E402
    FUNNEL_STAGES,
    MARTS_SCHEMA,
    RAW_KEY_COLUMNS,
    STAGE_COLUMNS,
    Thresholds,
)

DOCS_SITE = "shopfunnel"
RESULT_FORMAT = "SUMMARY"  # counts and up to 20 example values; never whole tables

for _logger_name in ("great_expectations", "great_expectations.core"):
    logging.getLogger(_logger_name).setLevel(logging.ERROR)


@dataclass
class TableSuite:
    """The expectations of one table: ``schema.table`` is the suite's name."""

    schema: str
    table: str
    expectations: list[gxe.Expectation] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    def add(self, expectation: gxe.Expectation, rule: str, column: str | None = None) -> None:
        expectation.meta = {"rule": rule, "column": column or ""}
        expectation.notes = f"Rule: {rule}"  # shown next to the expectation in data docs
        self.expectations.append(expectation)


@dataclass
class Outcome:
    """One line of the result table."""

    suite: str
    expectation: str
    column: str
    observed: str
    success: bool
    rule: str

    @property
    def message(self) -> str:
        where = f"{self.suite}.{self.column}" if self.column else self.suite
        return f"{where}: {self.rule} ({self.expectation}); observed {self.observed}"


# ----------------------------------------------------------------------------- suites


def raw_suite(
    table: str, required: Sequence[str], present: Sequence[str], thresholds: Thresholds
) -> TableSuite:
    """Schema, volume and key completeness of one raw table (view ``raw.<table>``)."""
    suite = TableSuite("raw", table)
    suite.add(
        gxe.ExpectTableColumnsToMatchSet(column_set=list(required), exact_match=False),
        rule="has every column the raw-data contract requires "
        "(models/staging/shop/_shop__sources.yml)",
    )
    suite.add(gxe.ExpectTableRowCountToBeBetween(min_value=1), rule="has at least one row")
    for column in RAW_KEY_COLUMNS.get(table, ()):
        if column not in present:
            continue  # reported by the schema expectation
        suite.add(
            gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(
                column=column, min_value=thresholds.min_key_completeness
            ),
            rule=f"non-null share >= {thresholds.min_key_completeness} (--min-key-completeness)",
            column=column,
        )
    return suite


def mart_suite(
    table: str,
    columns: Sequence[str],
    spec: MartSpec | None,
    previous_rows: int | None,
    reconciliations: Iterable[Reconciliation],
    thresholds: Thresholds,
) -> TableSuite:
    """Keys, bounds, allowed values, volume and reconciliations of one mart."""
    suite = TableSuite(MARTS_SCHEMA, table)
    present = set(columns)
    suite.add(gxe.ExpectTableRowCountToBeBetween(min_value=1), rule="has at least one row")
    if previous_rows is not None:
        low, high = thresholds.volume_bounds(previous_rows)
        suite.add(
            gxe.ExpectTableRowCountToBeBetween(min_value=low, max_value=high),
            rule=f"row count within the band of the previous run ({previous_rows} rows, "
            f"+/-{thresholds.volume_band:.0%} or {thresholds.volume_slack_rows} rows: "
            f"{low}..{high}; --volume-band, --reset-volume-state)",
        )
    if spec is not None:
        declared = [column for column in _declared_columns(spec) if column]
        if declared:
            suite.add(
                gxe.ExpectTableColumnsToMatchSet(column_set=declared, exact_match=False),
                rule=f"has every column its YAML tests name ({spec.yaml_path})",
            )
        for key in spec.key_columns:
            if not set(key) <= present:
                continue
            if len(key) == 1:
                suite.add(
                    gxe.ExpectColumnValuesToBeUnique(column=key[0]),
                    rule="key: unique",
                    column=key[0],
                )
            else:
                suite.add(
                    gxe.ExpectCompoundColumnsToBeUnique(column_list=list(key)),
                    rule=f"key: ({', '.join(key)}) unique",
                    column="+".join(key),
                )
        key_columns = {column for key in spec.key_columns for column in key}
        for column in dict.fromkeys([*spec.not_null_columns, *sorted(key_columns)]):
            if column in present:
                suite.add(
                    gxe.ExpectColumnValuesToNotBeNull(column=column),
                    rule="not null" + (" (key)" if column in key_columns else ""),
                    column=column,
                )
    bounds: dict[str, tuple[float | None, float | None]] = {
        column: (0, 1) for column in columns if is_rate_column(column)
    }
    if spec is not None:
        bounds.update(spec.bounds)
    for column, (low, high) in sorted(bounds.items()):
        if column in present:
            suite.add(
                gxe.ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high),
                rule=f"{'rate' if is_rate_column(column) else 'value'} within "
                f"[{_number(low, '-inf')}, {_number(high, 'inf')}]",
                column=column,
            )
    allowed: dict[str, list[Any]] = {
        column: list(FUNNEL_STAGES) for column in STAGE_COLUMNS if column in present
    }
    if spec is not None:
        allowed.update(spec.accepted_values)
    for column, values in sorted(allowed.items()):
        if column in present:
            suite.add(
                gxe.ExpectColumnValuesToBeInSet(column=column, value_set=values),
                rule=f"value in {{{', '.join(str(value) for value in values)}}}",
                column=column,
            )
    for check in reconciliations:
        suite.add(
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=check.query.strip(),
                description=f"Reconciliation {check.name}: {check.rule}",
            ),
            rule=f"reconciliation: {check.rule}",
            column=check.name,
        )
    return suite


def _declared_columns(spec: MartSpec) -> list[str]:
    columns = [column for key in spec.key_columns for column in key]
    columns += spec.not_null_columns + list(spec.bounds) + list(spec.accepted_values)
    return list(dict.fromkeys(columns))


def _number(value: float | None, unbounded: str) -> str:
    return unbounded if value is None else f"{value:g}"


# ----------------------------------------------------------------------------- run


class Gate:
    """An ephemeral GX context that writes its data docs to ``docs_dir``."""

    def __init__(self, docs_dir: Path) -> None:
        gx_duckdb_compat.register()
        self.docs_dir = docs_dir.resolve()
        # in-memory stores; one docs site, ours; no analytics, no progress bars
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            data_docs_sites={
                DOCS_SITE: {
                    "class_name": "SiteBuilder",
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(self.docs_dir),
                    },
                }
            },
        )
        self.context = gx.get_context(project_config=config, mode="ephemeral")
        self._sources: dict[tuple[str, str], Any] = {}

    def _remove_previous_site(self) -> None:
        """Delete the site of an earlier run, or its pages would pile up in the index.

        Only when the folder holds a GX data docs site (an index.html GX wrote), so a
        mistyped --docs-dir never costs anyone their files.
        """
        index = self.docs_dir / "index.html"
        try:
            is_site = index.is_file() and "Great Expectations" in index.read_text(errors="ignore")
        except OSError:
            is_site = False
        if not is_site:
            return
        for name in ("validations", "expectations", "static"):
            if (self.docs_dir / name).is_dir():
                shutil.rmtree(self.docs_dir / name)
        index.unlink()

    def run(self, stage: str, database: Path, suites: Sequence[TableSuite]) -> list[Outcome]:
        """Validate every suite against its table of ``database`` (opened read-only)."""
        if not suites:
            return []
        sources = self._sources
        definitions = []
        for table_suite in suites:
            # one read-only data source per schema, the schema set on its connection
            if (stage, table_suite.schema) not in sources:
                sources[(stage, table_suite.schema)] = self.context.data_sources.add_sql(
                    name=f"{stage}_{table_suite.schema}",
                    connection_string=gx_duckdb_compat.connection_url(
                        database, schema=table_suite.schema, read_only=True
                    ),
                )
            asset = sources[(stage, table_suite.schema)].add_table_asset(
                name=table_suite.name, table_name=table_suite.table
            )
            batch_definition = asset.add_batch_definition_whole_table("whole_table")
            suite = self.context.suites.add(
                gx.ExpectationSuite(name=table_suite.name, expectations=table_suite.expectations)
            )
            definitions.append(
                self.context.validation_definitions.add(
                    gx.ValidationDefinition(
                        name=table_suite.name, data=batch_definition, suite=suite
                    )
                )
            )
        checkpoint = self.context.checkpoints.add(
            gx.Checkpoint(
                name=f"shopfunnel_{stage}",
                validation_definitions=definitions,
                # no UpdateDataDocsAction: it rebuilds the site after every suite (seconds
                # each); build_docs() renders it once at the end
                actions=[],
                result_format=RESULT_FORMAT,
            )
        )
        result = checkpoint.run()
        outcomes: list[Outcome] = []
        for suite_result in result.run_results.values():
            suite_name = suite_result.suite_name
            for expectation_result in suite_result.results:
                outcome = outcome_of(suite_name, expectation_result)
                query = (expectation_result.expectation_config.kwargs or {}).get(
                    "unexpected_rows_query"
                )
                if query and not outcome.success and not outcome.observed.startswith("error"):
                    schema = suite_name.split(".", 1)[0]
                    example = self._first_row(
                        sources[(stage, schema)].get_engine(), query, suite_name
                    )
                    outcome.observed += f", e.g. {_short(example, 200)}"
                outcomes.append(outcome)
        return outcomes

    @staticmethod
    def _first_row(engine: Any, query: str, table: str) -> dict[str, Any]:
        """The first row a failed reconciliation returns (GX's SUMMARY format omits it)."""
        import sqlalchemy as sa

        with engine.connect() as connection:
            row = (
                connection.execute(
                    sa.text(f"select * from ({query.format(batch=table)}) as broken limit 1")
                )
                .mappings()
                .first()
            )
        return dict(row) if row is not None else {}

    def close(self) -> None:
        """Close every pooled connection, so the DuckDB files are free again."""
        for source in self._sources.values():
            # the execution engine builds its own SQLAlchemy engine from the URL
            source.get_execution_engine().close()
            source.get_execution_engine().engine.dispose()
            source.get_engine().dispose()
        self._sources.clear()

    def build_docs(self) -> Path | None:
        """Render the HTML data docs of every suite run so far; the index page."""
        if not self.context.validation_results_store.list_keys():
            return None
        self._remove_previous_site()
        self.context.build_data_docs(site_names=[DOCS_SITE])
        return self.index_page if self.index_page.exists() else None

    @property
    def index_page(self) -> Path:
        return self.docs_dir / "index.html"


def outcome_of(suite: str, result: ExpectationValidationResult) -> Outcome:
    """Turn a GX result into a line of the table (an error counts as a failure)."""
    config = result.expectation_config
    meta = dict(config.meta or {}) if config is not None else {}
    kwargs = dict(config.kwargs or {}) if config is not None else {}
    expectation = config.type if config is not None else "?"
    column = str(meta.get("column") or kwargs.get("column") or "")
    error = _error_message(result.exception_info)
    if error:
        observed = f"error: {error}"
        success = False
    else:
        observed = _observed(expectation, dict(result.result or {}), kwargs)
        success = bool(result.success)
    return Outcome(
        suite=suite,
        expectation=expectation,
        column=column,
        observed=observed,
        success=success,
        rule=str(meta.get("rule") or expectation),
    )


def _error_message(exception_info: Any) -> str:
    if not exception_info:
        return ""
    infos = (
        [exception_info] if "raised_exception" in exception_info else list(exception_info.values())
    )
    for info in infos:
        if isinstance(info, dict) and info.get("raised_exception"):
            return str(info.get("exception_message") or "unknown error").splitlines()[0]
    return ""


def _short(value: Any, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _observed(expectation: str, result: dict[str, Any], kwargs: dict[str, Any]) -> str:
    if expectation == "unexpected_rows_expectation":
        return f"{result.get('observed_value', '?')} row(s) break it"
    if expectation == "expect_table_row_count_to_be_between":
        rows = f"{result.get('observed_value')} rows"
        if kwargs.get("max_value") is not None:
            return f"{rows} (allowed {kwargs.get('min_value')}..{kwargs.get('max_value')})"
        return rows
    if expectation == "expect_table_columns_to_match_set":
        missing = result.get("details", {}).get("mismatched", {}).get("missing") or []
        if missing:
            return "missing column(s): " + ", ".join(missing)
        return f"{len(result.get('observed_value') or [])} columns, none missing"
    if "unexpected_count" in result:
        count = result.get("unexpected_count") or 0
        total = result.get("element_count")
        if not count:
            return f"0 of {total} rows unexpected"
        examples = ", ".join(
            _short(value, 30) for value in (result.get("partial_unexpected_list") or [])[:3]
        )
        return f"{count} of {total} rows unexpected, e.g. {examples}"
    observed = result.get("observed_value")
    if isinstance(observed, float):
        return f"{observed:.6g}"
    return _short(observed)
