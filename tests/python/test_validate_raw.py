"""The raw stage of ``validate`` on hostile but realistic inputs (issue 13, item 3).

The gate reads the raw files with the dbt source's own reader and checks them against the
raw-data contract of the same YAML, both taken from ``dbt compile`` of the real project. A
clean data set (every contract table, ten rows, values of each column's contract type) is
written to one folder, then each test breaks one thing: a timestamp sent as epoch
milliseconds, a column sent in another case and empty, a path with a quote, a required
column missing, no events and no orders, a table the shop does not have, and the daily
mode over load partitions. Each expects the exit code and a message naming the table, the
column and the rule.

One dbt compile per raw folder and format (the contract is cached per process): the tests
share one folder, rewritten by the ``raw`` fixture.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from shopfunnel.cli import main
from shopfunnel.validate.contract import RawContract, RawTable, load_contract

REPO_ROOT = Path(__file__).resolve().parents[2]
ROWS = 10

#: SQL of a valid value of each contract type, over ``range`` (0..ROWS-1)
VALID_VALUES = {
    "id": "'{table}_{column}_' || range",
    "timestamp": "timestamp '2026-01-01 00:00:00' + to_hours(range)",
    "amount": "cast(1000 + range as decimal(18, 2))",
    "integer": "cast(range + 1 as integer)",
    "boolean": "range % 2 = 0",
    "text": "'some text ' || range",
}


@pytest.fixture(scope="session", autouse=True)
def gx_imported() -> None:
    """Import GX once for the whole session (it takes seconds)."""
    import shopfunnel.validate.gate  # noqa: F401


@pytest.fixture(scope="module")
def raw_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return (tmp_path_factory.mktemp("raw_gate") / "raw").resolve()


@pytest.fixture(scope="module")
def contract(raw_root: Path, tmp_path_factory: pytest.TempPathFactory) -> RawContract:
    """The project's contract for ``raw_root`` (the gate's own runs reuse this compile)."""
    scratch = tmp_path_factory.mktemp("contract")
    return load_contract(REPO_ROOT, {"raw_path": str(raw_root)}, scratch)


def _table(contract: RawContract, name: str) -> RawTable:
    return next(table for table in contract.tables if table.name == name)


def write_table(
    raw: Path,
    table: RawTable,
    values: dict[str, str | None] | None = None,
    rename: dict[str, str] | None = None,
    rows: int = ROWS,
    file: str = "part-0.parquet",
    fmt: str = "parquet",
) -> Path:
    """One file of ``table`` under ``raw``: valid values, except ``values`` (SQL over
    ``range``; None drops the column) and columns renamed by ``rename``."""
    values = values or {}
    rename = rename or {}
    expressions = []
    for column in table.columns:
        sql = values.get(column.name, VALID_VALUES[column.type])
        if sql is None:
            continue
        sql = sql.format(table=table.name, column=column.name)
        expressions.append(f'{sql} as "{rename.get(column.name, column.name)}"')
    path = raw / table.name / file
    path.parent.mkdir(parents=True, exist_ok=True)
    target = str(path).replace("'", "''")
    options = "(format parquet)" if fmt == "parquet" else "(header true)"
    with duckdb.connect() as con:
        con.execute(
            f"copy (select {', '.join(expressions)} from range({rows})) to '{target}' {options}"
        )
    return path


def write_clean(raw: Path, contract: RawContract, fmt: str = "parquet") -> Path:
    if raw.exists():
        shutil.rmtree(raw)
    for table in contract.tables:
        write_table(raw, table, fmt=fmt, file=f"part-0.{fmt}")
    return raw


@pytest.fixture
def raw(raw_root: Path, contract: RawContract) -> Iterator[Path]:
    """The shared folder with a clean data set."""
    yield write_clean(raw_root, contract)


@pytest.fixture
def empty_raw(raw_root: Path, contract: RawContract) -> Path:
    """The shared folder, empty (the contract fixture compiled for it)."""
    shutil.rmtree(raw_root, ignore_errors=True)
    return raw_root


RunValidate = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> RunValidate:
    def run(*args: str) -> tuple[int, str, str]:
        code = main(["validate", "--no-docs", "--project-dir", str(REPO_ROOT), *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def _raw(run: RunValidate, raw: Path, *extra: str) -> tuple[int, str, str]:
    return run("--raw", str(raw), "--stage", "raw", *extra)


def _lines(err: str, kind: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(kind)]


# ------------------------------------------------------------------ clean


def test_clean_raw_files_pass(run_validate: RunValidate, raw: Path, contract: RawContract) -> None:
    code, out, err = _raw(run_validate, raw)
    assert code == 0, out + err
    for table in contract.tables:
        assert f"raw.{table.name} " in out
    assert not _lines(err, "WARN")


def test_the_gate_reads_with_the_dbt_reader(raw: Path, contract: RawContract) -> None:
    events = _table(contract, "events")
    assert events.reader.startswith(f"read_parquet('{raw}/events/**/*.parquet'")
    assert "union_by_name = true" in events.reader and "filename = true" in events.reader
    assert {column.name for column in events.columns if column.required} >= {
        "event_id",
        "event_at",
        "anonymous_id",
    }


# ------------------------------------------------------------------ types


#: (table, column, unreadable value over ``range``, how the example is printed)
UNREADABLE = [
    # epoch milliseconds: staging would quarantine every event
    ("events", "event_at", "epoch_ms(timestamp '2026-01-01' + to_hours(range))", "'17672"),
    ("orders", "order_total", "'12,000 KRW'", "'12,000 KRW'"),
    ("order_items", "quantity", "'2.5'", "'2.5'"),
    ("products", "is_vip_exclusive", "'maybe'", "'maybe'"),
    ("members", "member_id", "'undefined'", "'undefined'"),
]


def test_unreadable_types_fail_naming_table_column_rule_and_example(
    run_validate: RunValidate, raw: Path, contract: RawContract
) -> None:
    for table, column, bad_value, _ in UNREADABLE:
        write_table(raw, _table(contract, table), {column: bad_value})
    code, out, err = _raw(run_validate, raw)
    assert code == 1, out + err
    failures = _lines(err, "FAIL")
    assert len(failures) == len(UNREADABLE), err
    for table, column, _, example in UNREADABLE:
        column_type = next(c.type for c in _table(contract, table).columns if c.name == column)
        [failure] = [line for line in failures if line.startswith(f"FAIL raw.{table}.{column}:")]
        assert failure.startswith(
            f"FAIL raw.{table}.{column}: type {column_type}: at most 5% of non-null values "
            f"unreadable as staging reads them (macro {contract.rule_of(column_type)}; "
            f"--max-unparsable-share) (unexpected_rows_expectation); observed {ROWS} "
            f"unreadable value(s), e.g. {example}"
        ), failure
        assert failure.endswith(f"in {raw}/{table}/part-0.parquet"), failure


def test_a_few_unreadable_values_pass_below_the_share(
    run_validate: RunValidate, raw: Path, contract: RawContract
) -> None:
    bad = "case when range = 0 then 'yesterday' else cast(timestamp '2026-01-01' as varchar) end"
    write_table(raw, _table(contract, "events"), {"event_at": bad})
    code, out, err = _raw(run_validate, raw)
    assert code == 1  # 1 of 10 is over 5%
    code, out, err = _raw(run_validate, raw, "--max-unparsable-share", "0.2")
    assert code == 0, out + err


# ------------------------------------------------------------------ columns


def test_a_column_in_another_case_is_checked(
    run_validate: RunValidate, raw: Path, contract: RawContract
) -> None:
    events = _table(contract, "events")
    write_table(raw, events, rename={"event_at": "Event_At"})
    code, out, err = _raw(run_validate, raw)
    assert code == 0, out + err  # matched, as DuckDB and dbt match it

    write_table(
        raw, events, {"event_at": "cast(null as timestamp)"}, rename={"event_at": "Event_At"}
    )
    code, out, err = _raw(run_validate, raw)
    assert code == 1
    assert _lines(err, "FAIL") == [
        "FAIL raw.events.event_at (sent as Event_At): required column: non-null in at least "
        "99% of rows (--min-required-completeness) "
        "(expect_column_proportion_of_non_null_values_to_be_between); observed 0"
    ]


def test_a_missing_required_column_names_table_and_column(
    run_validate: RunValidate, raw: Path, contract: RawContract
) -> None:
    write_table(raw, _table(contract, "orders"), {"order_total": None})
    code, out, err = _raw(run_validate, raw)
    assert code == 1
    assert _lines(err, "FAIL") == [
        "FAIL raw table orders has no column order_total (see the raw-data contract in README)"
    ]


def test_a_missing_optional_column_passes(
    run_validate: RunValidate, raw: Path, contract: RawContract
) -> None:
    write_table(
        raw, _table(contract, "orders"), {"coupon_code": None, "loaded_at": None, "currency": None}
    )
    code, out, err = _raw(run_validate, raw)
    assert code == 0, out + err


def test_an_incomplete_required_column_fails_above_the_threshold(
    run_validate: RunValidate, raw: Path, contract: RawContract
) -> None:
    value = "case when range < 3 then null else 'anon_' || range end"
    write_table(raw, _table(contract, "events"), {"anonymous_id": value})
    code, _, err = _raw(run_validate, raw)
    assert code == 1
    assert "FAIL raw.events.anonymous_id: required column: non-null in at least 99%" in err
    assert "observed 0.7" in err
    code, _, err = _raw(run_validate, raw, "--min-required-completeness", "0.5")
    assert code == 0, err


# ------------------------------------------------------------------ tables


def test_a_missing_optional_folder_passes_with_a_warning(
    run_validate: RunValidate, raw: Path
) -> None:
    shutil.rmtree(raw / "products")
    code, out, err = _raw(run_validate, raw)
    assert code == 0, out + err
    [warning] = _lines(err, "WARN")
    assert warning.startswith(
        f"WARN raw table products not provided (no file matches read_parquet('{raw}/products/"
    )


def test_an_events_only_shop_passes_with_warnings(run_validate: RunValidate, raw: Path) -> None:
    for table in ("orders", "order_items"):
        shutil.rmtree(raw / table)
    code, out, err = _raw(run_validate, raw)
    assert code == 0, out + err
    assert [line.split(" (")[0] for line in _lines(err, "WARN")] == [
        "WARN raw table orders not provided",
        "WARN raw table order_items not provided",
    ]


def test_no_events_and_no_orders_fail(
    run_validate: RunValidate, raw: Path, contract: RawContract
) -> None:
    write_table(raw, _table(contract, "events"), rows=0)
    write_table(raw, _table(contract, "orders"), rows=0)
    code, out, err = _raw(run_validate, raw)
    assert code == 1
    assert _lines(err, "FAIL") == [
        "FAIL raw tables events and orders have no rows (not provided or empty): nothing to "
        "build; a shop brings web events, orders or both (see the raw-data contract in README)"
    ]
    assert "WARN raw table events has no rows" in err
    # the same when the folders are missing altogether
    shutil.rmtree(raw / "events")
    shutil.rmtree(raw / "orders")
    code, _, err = _raw(run_validate, raw)
    assert code == 1
    assert "FAIL raw tables events and orders have no rows" in err


def test_a_path_with_a_quote_is_read(
    run_validate: RunValidate, contract: RawContract, tmp_path: Path
) -> None:
    raw = tmp_path / "shop's data"
    write_clean(raw, contract)
    write_table(raw, _table(contract, "events"), {"event_at": "'not a time'"})
    code, out, err = _raw(run_validate, raw)
    assert code == 1, out + err  # read, and checked: not a failure of the reader
    [failure] = _lines(err, "FAIL")
    assert failure.startswith("FAIL raw.events.event_at: type timestamp")
    assert f"in {raw.resolve()}/events/part-0.parquet" in failure


def test_csv_is_read_with_the_csv_reader(
    run_validate: RunValidate, empty_raw: Path, contract: RawContract
) -> None:
    raw = write_clean(empty_raw, contract, fmt="csv")
    code, out, err = _raw(run_validate, raw, "--raw-format", "csv")
    assert code == 0, out + err
    # read as parquet (the build's default), the shop brings nothing
    code, _, err = _raw(run_validate, raw)
    assert code == 1
    assert "WARN raw table events not provided (no file matches read_parquet(" in err


def test_a_failing_raw_gate_stops_before_the_marts(
    run_validate: RunValidate, raw: Path, contract: RawContract, tmp_path: Path
) -> None:
    write_table(raw, _table(contract, "orders"), {"order_id": None})
    db = tmp_path / "built.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create schema marts; create table marts.dim_persons as select 1 as person_id")
    code, out, err = run_validate("--raw", str(raw), "--db", str(db))
    assert code == 1
    assert "the raw gate failed; marts not validated" in out
    assert "marts." not in err


# ------------------------------------------------------------------ daily mode


def _partitioned(raw: Path, contract: RawContract, day: int, rows: int = ROWS) -> None:
    """One load partition per table: load_date=2026-01-0<day>/part-0.parquet."""
    for table in contract.tables:
        write_table(raw, table, rows=rows, file=f"load_date=2026-01-0{day}/part-0.parquet")


def _processed(db: Path, rows: list[tuple[str, str, str, str]]) -> None:
    """ops.processed_raw_files as the daily pipeline writes it."""
    with duckdb.connect(str(db)) as con:
        con.execute(
            "create schema if not exists ops; create table if not exists "
            "ops.processed_raw_files (table_name varchar, file_path varchar, "
            "load_date date, run_id varchar, processed_at timestamp)"
        )
        for table, path, load_date, run_id in rows:
            con.execute(
                "insert into ops.processed_raw_files values (?, ?, ?, ?, ?)",
                [table, path, load_date, run_id, f"{load_date} 06:00:00"],
            )


def _record_days(db: Path, raw: Path, contract: RawContract, days: list[int]) -> None:
    _processed(
        db,
        [
            (
                table.name,
                str(raw / table.name / f"load_date=2026-01-0{day}" / "part-0.parquet"),
                f"2026-01-0{day}",
                f"run_{day}",
            )
            for day in days
            for table in contract.tables
        ],
    )


def _events_day(raw: Path, contract: RawContract, day: int, epoch: bool = False) -> None:
    """The events of one load with event_at as text: ISO, or epoch milliseconds."""
    stamp = f"timestamp '2026-01-0{day}' + to_hours(range)"
    value = f"cast(epoch_ms({stamp}) as varchar)" if epoch else f"cast({stamp} as varchar)"
    write_table(
        raw,
        _table(contract, "events"),
        {"event_at": value},
        file=f"load_date=2026-01-0{day}/part-0.parquet",
    )


def test_new_only_validates_only_new_files(
    run_validate: RunValidate, empty_raw: Path, contract: RawContract, tmp_path: Path
) -> None:
    raw = empty_raw
    db = tmp_path / "build.duckdb"
    # day 1 was broken (epoch milliseconds) but is processed; day 2 is new and clean
    for day in (1, 2):
        _partitioned(raw, contract, day)
        _events_day(raw, contract, day, epoch=day == 1)
    code, out, err = _raw(run_validate, raw, "--new-only", "--db", str(db))
    assert code == 1  # no warehouse yet: every file is new, day 1 included
    assert "does not exist: every raw file is new" in out
    assert "FAIL raw.events.event_at: type timestamp" in err

    _record_days(db, raw, contract, [1])
    code, out, err = _raw(run_validate, raw, "--new-only", "--db", str(db))
    assert code == 0, out + err
    assert "fewer than 3: volume not compared" in out

    # day 3 is new and broken
    _partitioned(raw, contract, 3)
    _events_day(raw, contract, 3, epoch=True)
    _record_days(db, raw, contract, [2])
    code, _, err = _raw(run_validate, raw, "--new-only", "--db", str(db))
    assert code == 1
    [failure] = _lines(err, "FAIL")
    assert failure.startswith("FAIL raw.events.event_at: type timestamp")
    assert "load_date=2026-01-03" in failure


def test_a_type_that_changes_between_files_fails_as_the_build_would(
    run_validate: RunValidate, empty_raw: Path, contract: RawContract
) -> None:
    raw = empty_raw
    _partitioned(raw, contract, 1)  # event_at a parquet timestamp
    _partitioned(raw, contract, 2)
    write_table(
        raw,
        _table(contract, "events"),
        {"event_at": "epoch_ms(timestamp '2026-01-02')"},  # a bigint
        file="load_date=2026-01-02/part-0.parquet",
    )
    code, _, err = _raw(run_validate, raw)
    assert code == 1
    [failure] = _lines(err, "FAIL")
    assert failure.startswith(
        "FAIL raw.events: the dbt source's reader can read every file (raw_files_readable); "
        "observed Conversion Error: Error while reading file"
    )
    assert 'load_date=2026-01-02/part-0.parquet": failed to cast column "event_at"' in failure


def test_new_only_matches_relative_paths_and_warns_when_nothing_is_new(
    run_validate: RunValidate, empty_raw: Path, contract: RawContract, tmp_path: Path
) -> None:
    raw = empty_raw
    db = tmp_path / "build.duckdb"
    _partitioned(raw, contract, 1)
    relative = Path(os.path.relpath(raw, REPO_ROOT))
    _processed(
        db,
        [
            (
                t.name,
                str(relative / t.name / "load_date=2026-01-01/part-0.parquet"),
                "2026-01-01",
                "r1",
            )
            for t in contract.tables
        ],
    )
    code, out, err = _raw(run_validate, raw, "--new-only", "--db", str(db))
    assert code == 0, out + err
    assert "no new raw file: nothing to validate" in out
    assert (
        "WARN raw table events: no new file since the last run (the previous load had 10 rows)"
        in err
    )


def test_new_only_compares_the_new_load_with_previous_loads(
    run_validate: RunValidate, empty_raw: Path, contract: RawContract, tmp_path: Path
) -> None:
    raw = empty_raw
    db = tmp_path / "build.duckdb"
    for day in (1, 2, 3):
        _partitioned(raw, contract, day, rows=100)
    _record_days(db, raw, contract, [1, 2, 3])
    _partitioned(raw, contract, 4, rows=92)  # a normal day
    code, out, err = _raw(run_validate, raw, "--new-only", "--db", str(db))
    assert code == 0, out + err
    assert "92 rows (allowed 50..150)" in out

    _record_days(db, raw, contract, [4])
    write_table(
        raw, _table(contract, "events"), rows=12, file="load_date=2026-01-05/part-0.parquet"
    )
    code, _, err = _raw(run_validate, raw, "--new-only", "--db", str(db))
    assert code == 1
    assert _lines(err, "FAIL") == [
        "FAIL raw.events: rows of the new load within the band of the previous 4 loads "
        "(100, 100, 100, 92: median +/-50% or 10 rows: 50..150; --volume-band) "
        "(expect_table_row_count_to_be_between); observed 12 rows (allowed 50..150)"
    ]
