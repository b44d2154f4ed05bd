"""The Great Expectations side of the gate: suites, checkpoint, results, data docs.

Everything runs on GX's SQL route (SQLAlchemy + duckdb-engine, through
:mod:`shopfunnel.validate.gx_duckdb_compat`): the expectations are compiled to SQL and run
inside DuckDB, on the file opened read-only. No table is pulled into pandas.

One GX suite per table, named ``<schema>.<table>``; one checkpoint per stage (``raw``,
``marts``). Every expectation carries ``meta.rule`` (the rule in words) and ``meta.column``
so a failure names the table, the column or figure, and the rule; an expectation that
measures something the gate keeps as history carries ``meta.measure``.
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
from collections.abc import Sequence
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
from great_expectations.expectations.row_conditions import Column  # noqa: E402

from shopfunnel.sqltext import sql_identifier  # noqa: E402
from shopfunnel.validate import gx_duckdb_compat  # noqa: E402
from shopfunnel.validate.contract import RawContract  # noqa: E402
from shopfunnel.validate.marts import MartTable  # noqa: E402
from shopfunnel.validate.raw import VIEW_FILE_COLUMN, RawTableView  # noqa: E402
from shopfunnel.validate.settings import FIGURES, MARTS_SCHEMA, Thresholds  # noqa: E402

DOCS_SITE = "shopfunnel"
RESULT_FORMAT = "SUMMARY"  # counts and up to 20 example values; never whole tables
CONTRACT_DOC = "see the raw-data contract in README"

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

    def add(
        self,
        expectation: gxe.Expectation,
        rule: str,
        column: str | None = None,
        measure: str | None = None,
        kind: str = "",
    ) -> None:
        expectation.meta = {"rule": rule, "column": column or "", "measure": measure or ""}
        if kind:
            expectation.meta["kind"] = kind
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
    #: what the expectation measured (a row count, a mean), for the history
    measure: str = ""
    value: float | None = None
    #: the whole failure line, when the rule has its own wording
    text: str = ""

    @property
    def message(self) -> str:
        if self.text:
            return self.text
        where = f"{self.suite}.{self.column}" if self.column else self.suite
        return f"{where}: {self.rule} ({self.expectation}); observed {self.observed}"


# ----------------------------------------------------------------------------- suites


def raw_suite(
    view: RawTableView, contract: RawContract, thresholds: Thresholds, new_only: bool
) -> TableSuite:
    """The raw-data contract of one table (view ``raw.<table>``, contract column names)."""
    suite = TableSuite("raw", view.name)
    required = [column.name for column in view.table.columns if column.required]
    suite.add(
        gxe.ExpectTableColumnsToMatchSet(column_set=required, exact_match=False),
        rule=f"has every required column of the raw-data contract ({view.table.yaml_path})",
        kind="contract_columns",
    )
    if view.rows == 0:
        return suite
    history = view.previous_loads
    if new_only and len(history) >= thresholds.min_load_history:
        low, high = thresholds.volume_bounds([float(rows) for rows in history])
        suite.add(
            gxe.ExpectTableRowCountToBeBetween(min_value=low, max_value=high),
            rule=f"rows of the new load within the band of the previous {len(history)} "
            f"loads ({', '.join(str(rows) for rows in history)}: median +/-"
            f"{thresholds.volume_band:.0%} or {thresholds.volume_slack_rows} rows: "
            f"{low}..{high}; --volume-band)",
        )
    for column in view.table.columns:
        if column.name not in view.found:
            continue
        sent_as = view.found[column.name]
        label = column.name if sent_as == column.name else f"{column.name} (sent as {sent_as})"
        if column.required:
            suite.add(
                gxe.ExpectColumnProportionOfNonNullValuesToBeBetween(
                    column=column.name, min_value=thresholds.min_required_completeness
                ),
                rule=f"required column: non-null in at least "
                f"{thresholds.min_required_completeness:.0%} of rows "
                "(--min-required-completeness)",
                column=label,
            )
        readable = contract.readable_sql(column.type, sql_identifier(column.name))
        if readable is None:
            continue
        share = thresholds.max_unparsable_share
        suite.add(
            gxe.UnexpectedRowsExpectation(
                unexpected_rows_query=_unreadable_query(column.name, readable, share),
                description=f"{column.name}: values readable as {column.type}",
            ),
            rule=f"type {column.type}: at most {share:.0%} of non-null values unreadable "
            f"as staging reads them (macro {contract.rule_of(column.type)}; "
            "--max-unparsable-share)",
            column=label,
            kind="type",
        )
    return suite


def _unreadable_query(column: str, readable_sql: str, share: float) -> str:
    """The unreadable values of a column, when their share of non-null values is too high."""
    value = sql_identifier(column)
    readable = readable_sql.replace("{", "{{").replace("}", "}}")  # GX formats {batch}
    return f"""
with checked as (
    select
        cast({value} as varchar) as unreadable_value,
        {VIEW_FILE_COLUMN} as source_file,
        {readable} as is_readable
    from {{batch}}
    where {value} is not null
),
totals as (
    select
        count(*) as non_null_values,
        count(*) filter (where not is_readable) as unreadable_values
    from checked
)
select checked.unreadable_value, checked.source_file
from checked
cross join totals
where not checked.is_readable
    and totals.unreadable_values > {share!r} * totals.non_null_values
"""


def mart_suite(
    mart: MartTable, history: dict[str, list[float]], thresholds: Thresholds
) -> tuple[TableSuite, list[tuple[str, str, str]]]:
    """Volume and key figures of one mart against history; and the figures not measurable."""
    table = mart.name
    suite = TableSuite(MARTS_SCHEMA, table)
    measure = f"{suite.name}:rows"
    past = history.get(measure, [])[-thresholds.history_runs :]
    if past:
        low, high = thresholds.volume_bounds(past)
        suite.add(
            gxe.ExpectTableRowCountToBeBetween(min_value=low, max_value=high),
            rule=f"row count within the band of the last {len(past)} passing run(s) "
            f"(median {_number(_median(past))} +/-{thresholds.volume_band:.0%} or "
            f"{thresholds.volume_slack_rows} rows: {low}..{high}; --volume-band, "
            "--reset-history)",
            measure=measure,
        )
    else:
        suite.add(
            gxe.ExpectTableRowCountToBeBetween(min_value=0),
            rule="row count (recorded: no passing run before to compare with)",
            measure=measure,
        )
    skipped: list[tuple[str, str, str]] = []
    for figure in FIGURES:
        if figure.mart != table:
            continue
        if not {figure.column, figure.where[0]} <= set(mart.columns):
            skipped.append((suite.name, figure.name, f"the mart has no column {figure.column}"))
            continue
        if not mart.figure_rows.get(figure.name):
            column, value = figure.where
            skipped.append((suite.name, figure.name, f"no row with {column} = {value}"))
            continue
        measure = f"{suite.name}:{figure.name}"
        past = history.get(measure, [])[-thresholds.history_runs :]
        low_value: float | None = None
        high_value: float | None = None
        if past:
            low_value, high_value = thresholds.drift_bounds(past, figure.is_share)
            of_what = " (of min(p, 1 - p))" if figure.is_share else ""
            rule = (
                f"{figure.description}: within +/-{thresholds.drift_band:.0%}{of_what} of the "
                f"median of the last {len(past)} passing run(s) ({_number(_median(past))}: "
                f"{_number(low_value)}..{_number(high_value)}; --drift-band, --reset-history)"
            )
        else:
            rule = f"{figure.description} (recorded: no passing run before to compare with)"
        suite.add(
            gxe.ExpectColumnMeanToBeBetween(
                column=figure.column,
                min_value=low_value,
                max_value=high_value,
                row_condition=Column(figure.where[0]) == figure.where[1],
            ),
            rule=rule,
            column=figure.name,
            measure=measure,
        )
    return suite, skipped


def _median(values: list[float]) -> float:
    return statistics.median(values)


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"


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
                    outcome.observed += f", e.g. {_example(example)}"
                outcomes.append(outcome)
        return outcomes

    @staticmethod
    def _first_row(engine: Any, query: str, table: str) -> dict[str, Any]:
        """The first row a failed query expectation returns (GX's SUMMARY format omits it)."""
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
    details = dict(result.result or {})
    error = _error_message(result.exception_info)
    if error:
        observed = f"error: {error}"
        success = False
    else:
        observed = _observed(expectation, details, kwargs, str(meta.get("kind") or ""))
        success = bool(result.success)
    value = details.get("observed_value")
    outcome = Outcome(
        suite=suite,
        expectation=expectation,
        column=column,
        observed=observed,
        success=success,
        rule=str(meta.get("rule") or expectation),
        measure=str(meta.get("measure") or ""),
        value=float(value) if isinstance(value, int | float) and not error else None,
    )
    missing = details.get("details", {}).get("mismatched", {}).get("missing") or []
    if meta.get("kind") == "contract_columns" and missing and not success:
        table = suite.split(".", 1)[1]
        noun = "column" if len(missing) == 1 else "columns"
        outcome.text = f"raw table {table} has no {noun} {', '.join(missing)} ({CONTRACT_DOC})"
    return outcome


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


def _example(row: dict[str, Any]) -> str:
    """A failing row: an unreadable value with its file, or the row as a dict."""
    if "unreadable_value" in row:
        return f"{_short(repr(row['unreadable_value']), 80)} in {row.get('source_file')}"
    return _short(row, 200)


def _observed(expectation: str, result: dict[str, Any], kwargs: dict[str, Any], kind: str) -> str:
    if expectation == "unexpected_rows_expectation":
        rows = result.get("observed_value", "?")
        if kind == "type":
            return f"{rows} unreadable value(s)" if rows else "unreadable share within the limit"
        return f"{rows} row(s) break it"
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
        text = f"{observed:.6g}"
    else:
        text = _short(observed)
    if kwargs.get("min_value") is not None and kwargs.get("max_value") is not None:
        return f"{text} (allowed {_number(kwargs['min_value'])}..{_number(kwargs['max_value'])})"
    return text
