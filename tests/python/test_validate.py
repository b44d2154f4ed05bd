"""The ``validate`` command on tiny hand-made inputs.

Marts: a DuckDB file with four marts (dim_persons, fct_funnel_stages, fct_signup_conversion,
rpt_benefit_page_effect) and a tiny dbt project whose YAML declares their keys, allowed
stages and rate bounds. Each test breaks one thing by hand (a rate over 1, a duplicated key,
a stage outside the set, a sign-up counted twice, a volume jump) and expects exit code 1 with
a message naming the table, the column or check, and the rule.

Raw: parquet files with the columns of the real raw-data contract
(models/staging/shop/_shop__sources.yml), one column dropped or emptied per test.

Runs in-process (``shopfunnel.cli.main``) so GX is imported once per session.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from shopfunnel.cli import main
from shopfunnel.validate.project import raw_required_columns
from shopfunnel.validate.state import state_path

REPO_ROOT = Path(__file__).resolve().parents[2]

TINY_PROJECT_YAML = """
version: 2
models:
  - name: dim_persons
    columns:
      - name: person_id
        data_tests: [unique, not_null]
  - name: fct_funnel_stages
    columns:
      - name: person_id
        data_tests: [unique, not_null]
      - name: funnel_stage
        data_tests:
          - not_null
          - accepted_values:
              arguments:
                values: [visitor, member_no_purchase, first_time_buyer, repeat_buyer, loyal]
  - name: fct_signup_conversion
    columns:
      - name: cohort_id
        data_tests: [unique, not_null]
      - name: signups
  - name: rpt_benefit_page_effect
    columns:
      - name: period_id
        data_tests: [unique, not_null]
      - name: period_type
        data_tests:
          - accepted_values:
              arguments:
                values: [month, window]
      - name: new_visitor_share
        data_tests:
          - value_between:
              arguments: {min_value: 0, max_value: 1}
"""

TINY_MARTS_SQL = """
create schema marts;
create table marts.dim_persons as
select * from (values
    ('anon_a', null, false, 0),
    ('anon_b', null, false, 0),
    ('mbr_1', '1', true, 1),
    ('mbr_2', '2', true, 0)
) as persons (person_id, member_id, is_member, paid_order_count);
create table marts.fct_funnel_stages as
select * from (values
    ('anon_a', 'visitor'),
    ('anon_b', 'visitor'),
    ('mbr_1', 'first_time_buyer'),
    ('mbr_2', 'member_no_purchase')
) as stages (person_id, funnel_stage);
create table marts.fct_signup_conversion as
select * from (values
    ('2026-01-01:direct:false', 10, 1, 0.1),
    ('2026-01-02:email:true', 5, 1, 0.2)
) as conversion (cohort_id, new_visitors, signups, signup_rate);
create table marts.rpt_benefit_page_effect as
select * from (values
    ('window:2026-01-01', 'window', 20, 15, 2, 0.75, 0.133333),
    ('month:2026-01-01', 'month', 20, 15, 2, 0.75, 0.133333)
) as report (period_id, period_type, visitors, new_visitors, signups, new_visitor_share,
    signup_rate);
"""


@pytest.fixture(scope="session", autouse=True)
def gx_imported() -> None:
    """Import GX once for the whole session (it takes seconds)."""
    import shopfunnel.validate.gate  # noqa: F401


@pytest.fixture
def tiny_project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    (project / "models" / "marts" / "funnel").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: tiny\nvars:\n  signup_conversion_window_days: 30\n"
    )
    (project / "models" / "marts" / "funnel" / "_funnel__models.yml").write_text(TINY_PROJECT_YAML)
    return project


@pytest.fixture
def tiny_db(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.duckdb"
    con = duckdb.connect(str(path))
    con.execute(TINY_MARTS_SQL)
    con.close()
    return path


def _change(db: Path, sql: str) -> None:
    con = duckdb.connect(str(db))
    try:
        con.execute(sql)
    finally:
        con.close()


RunValidate = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> RunValidate:
    def run(*args: str, docs: bool = False) -> tuple[int, str, str]:
        # HTML docs take a second a run: only the test that checks them builds them
        options = ["--docs-dir", str(tmp_path / "gx_docs")] + ([] if docs else ["--no-docs"])
        code = main(["validate", *options, *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def _marts(
    run: RunValidate, db: Path, project: Path, *extra: str, docs: bool = False
) -> tuple[int, str, str]:
    return run(
        "--db", str(db), "--stage", "marts", "--project-dir", str(project), *extra, docs=docs
    )


# ------------------------------------------------------------------ marts


def test_clean_marts_pass_and_write_docs_and_state(
    run_validate: RunValidate, tiny_db: Path, tiny_project: Path, tmp_path: Path
) -> None:
    code, out, err = _marts(run_validate, tiny_db, tiny_project, docs=True)
    assert code == 0, out + err
    assert "0 failed" in out
    assert (tmp_path / "gx_docs" / "index.html").is_file()
    assert f"data docs written to {tmp_path / 'gx_docs' / 'index.html'}" in out
    # both reconciliations that need only these marts ran; those needing staging skipped
    assert "persons_match_dim_persons" in out
    assert "totals_match_benefit_page_window" in out
    assert "signups_match_staging" in out and "skip" in out
    state = json.loads(state_path(tiny_db).read_text())
    assert state["row_counts"]["marts.dim_persons"] == 4


def test_docs_replace_an_earlier_site_but_not_a_foreign_folder(
    run_validate: RunValidate, tiny_db: Path, tiny_project: Path, tmp_path: Path
) -> None:
    docs = tmp_path / "gx_docs"
    (docs / "static").mkdir(parents=True)
    (docs / "static" / "mine.css").write_text("body {}")
    (docs / "index.html").write_text("<html>my own page</html>")
    code, _, err = _marts(run_validate, tiny_db, tiny_project, docs=True)
    assert code == 0, err
    assert (docs / "static" / "mine.css").exists()  # not a GX site before: nothing deleted

    for _ in range(2):
        code, _, err = _marts(run_validate, tiny_db, tiny_project, docs=True)
        assert code == 0, err
    # each run replaced the previous run's pages: one page per suite
    assert len(list((docs / "validations").rglob("*.html"))) == 4


def test_a_rate_over_one_fails_naming_table_column_and_rule(
    run_validate: RunValidate, tiny_db: Path, tiny_project: Path
) -> None:
    _change(
        tiny_db,
        "update marts.fct_signup_conversion set signup_rate = 1.2 "
        "where cohort_id like '2026-01-02%'",
    )
    code, out, err = _marts(run_validate, tiny_db, tiny_project)
    assert code == 1
    failures = [line for line in err.splitlines() if line.startswith("FAIL")]
    assert failures == [
        "FAIL marts.fct_signup_conversion.signup_rate: rate within [0, 1] "
        "(expect_column_values_to_be_between); observed 1 of 2 rows unexpected, e.g. 1.2"
    ]


def test_a_duplicated_key_fails_naming_table_column_and_rule(
    run_validate: RunValidate, tiny_db: Path, tiny_project: Path
) -> None:
    _change(tiny_db, "insert into marts.dim_persons values ('mbr_1', '1', true, 1)")
    code, out, err = _marts(run_validate, tiny_db, tiny_project)
    assert code == 1
    assert (
        "FAIL marts.dim_persons.person_id: key: unique "
        "(expect_column_values_to_be_unique); observed 2 of 5 rows unexpected, "
        "e.g. mbr_1, mbr_1" in err
    )
    # the state keeps the last passing baseline: none yet
    assert not state_path(tiny_db).exists()


def test_a_stage_outside_the_set_fails(
    run_validate: RunValidate, tiny_db: Path, tiny_project: Path
) -> None:
    _change(
        tiny_db, "update marts.fct_funnel_stages set funnel_stage = 'vip' where person_id = 'mbr_1'"
    )
    code, out, err = _marts(run_validate, tiny_db, tiny_project)
    assert code == 1
    assert "FAIL marts.fct_funnel_stages.funnel_stage: value in {visitor, " in err
    assert "e.g. vip" in err


def test_a_signup_counted_twice_fails_the_reconciliation(
    run_validate: RunValidate, tiny_db: Path, tiny_project: Path
) -> None:
    _change(
        tiny_db,
        "update marts.fct_signup_conversion set signups = 2, signup_rate = 0.4 "
        "where cohort_id like '2026-01-02%'",
    )
    code, out, err = _marts(run_validate, tiny_db, tiny_project)
    assert code == 1
    failures = [line for line in err.splitlines() if line.startswith("FAIL")]
    assert len(failures) == 1
    assert failures[0].startswith(
        "FAIL marts.fct_signup_conversion.totals_match_benefit_page_window: reconciliation: "
        "new visitors and sign-ups summed over "
        "fct_signup_conversion = the window row of rpt_benefit_page_effect"
    )
    assert "1 row(s) break it" in failures[0]
    assert "'signups_in_fct_signup_conversion': 3" in failures[0]


def test_a_person_missing_from_a_mart_fails_the_reconciliation(
    run_validate: RunValidate, tiny_db: Path, tiny_project: Path
) -> None:
    _change(tiny_db, "delete from marts.fct_funnel_stages where person_id = 'anon_b'")
    code, out, err = _marts(run_validate, tiny_db, tiny_project)
    assert code == 1
    assert (
        "FAIL marts.fct_funnel_stages.persons_match_dim_persons: reconciliation: "
        "persons in fct_funnel_stages = persons in dim_persons" in err
    )
    assert "missing from fct_funnel_stages" in err


def test_a_mart_declared_in_yaml_but_not_built_fails(
    run_validate: RunValidate, tiny_db: Path, tiny_project: Path
) -> None:
    _change(tiny_db, "drop table marts.rpt_benefit_page_effect")
    code, out, err = _marts(run_validate, tiny_db, tiny_project)
    assert code == 1
    assert (
        "FAIL marts.rpt_benefit_page_effect: every mart described in "
        "models/marts/funnel/_funnel__models.yml is built (mart_exists)" in err
    )


def test_volume_change_against_the_previous_run(
    run_validate: RunValidate, tiny_db: Path, tiny_project: Path
) -> None:
    code, out, _ = _marts(run_validate, tiny_db, tiny_project)
    assert code == 0
    assert "volume change not compared" in out
    baseline = state_path(tiny_db).read_text()

    # the same persons three times over under new ids: consistent marts, triple the rows
    _change(
        tiny_db,
        """
        insert into marts.dim_persons
        select person_id || '_' || copy, member_id, is_member, paid_order_count
        from marts.dim_persons, range(2) as copies (copy);
        insert into marts.fct_funnel_stages
        select person_id || '_' || copy, funnel_stage
        from marts.fct_funnel_stages, range(2) as copies (copy);
    """,
    )
    code, out, err = _marts(run_validate, tiny_db, tiny_project, "--volume-slack-rows", "0")
    assert code == 1
    failures = [line for line in err.splitlines() if line.startswith("FAIL")]
    assert len(failures) == 2
    assert failures[0].startswith(
        "FAIL marts.dim_persons: row count within the band of the previous run (4 rows, "
        "+/-50% or 0 rows: 2..6; --volume-band, --reset-volume-state)"
    )
    assert failures[0].endswith("observed 12 rows (allowed 2..6)")
    assert failures[1].startswith("FAIL marts.fct_funnel_stages: row count within the band")
    assert state_path(tiny_db).read_text() == baseline  # a failing run is no baseline

    # within the default slack of 10 rows the same change passes
    code, out, err = _marts(run_validate, tiny_db, tiny_project)
    assert code == 0, err
    state = json.loads(state_path(tiny_db).read_text())
    assert state["row_counts"]["marts.dim_persons"] == 12


def test_reset_volume_state_accepts_a_new_volume(
    run_validate: RunValidate, tiny_db: Path, tiny_project: Path
) -> None:
    state_path(tiny_db).write_text(json.dumps({"row_counts": {"marts.dim_persons": 1000}}))
    code, _, err = _marts(run_validate, tiny_db, tiny_project)
    assert code == 1
    assert "FAIL marts.dim_persons: row count within the band" in err
    code, _, err = _marts(run_validate, tiny_db, tiny_project, "--reset-volume-state")
    assert code == 0, err
    assert json.loads(state_path(tiny_db).read_text())["row_counts"]["marts.dim_persons"] == 4


def test_the_database_is_opened_read_only(
    run_validate: RunValidate, tiny_db: Path, tiny_project: Path
) -> None:
    before = tiny_db.stat().st_mtime_ns
    code, _, _ = _marts(run_validate, tiny_db, tiny_project)
    assert code == 0
    assert tiny_db.stat().st_mtime_ns == before


# ------------------------------------------------------------------ raw


def _write_raw(
    raw: Path, drop: tuple[str, str] | None = None, null_share: tuple[str, str, float] | None = None
) -> Path:
    """Ten rows per table with every column of the real contract, as parquet."""
    con = duckdb.connect()
    try:
        for table, columns in raw_required_columns(REPO_ROOT).items():
            kept = [column for column in columns if (table, column) != drop]
            expressions = []
            for column in kept:
                value = f"'{table}_{column}_' || range"
                if null_share and (table, column) == null_share[:2]:
                    value = (
                        f"case when range < {int(null_share[2] * 10)} then null else {value} end"
                    )
                expressions.append(f"{value} as {column}")
            folder = raw / table
            folder.mkdir(parents=True)
            con.execute(
                f"copy (select {', '.join(expressions)} from range(10)) "
                f"to '{folder / 'part-00000.parquet'}' (format parquet)"
            )
    finally:
        con.close()
    return raw


def _raw(run: RunValidate, raw: Path, *extra: str) -> tuple[int, str, str]:
    return run("--raw", str(raw), "--stage", "raw", "--project-dir", str(REPO_ROOT), *extra)


def test_clean_raw_files_pass(run_validate: RunValidate, tmp_path: Path) -> None:
    code, out, err = _raw(run_validate, _write_raw(tmp_path / "raw"))
    assert code == 0, out + err
    assert "raw.events" in out and "raw.products" in out


def test_the_raw_gate_names_a_missing_column(run_validate: RunValidate, tmp_path: Path) -> None:
    code, out, err = _raw(
        run_validate, _write_raw(tmp_path / "raw", drop=("events", "anonymous_id"))
    )
    assert code == 1
    failures = [line for line in err.splitlines() if line.startswith("FAIL")]
    assert failures == [
        "FAIL raw.events: has every column the raw-data contract requires "
        "(models/staging/shop/_shop__sources.yml) (expect_table_columns_to_match_set); "
        "observed missing column(s): anonymous_id"
    ]


def test_the_raw_gate_names_an_incomplete_key_column(
    run_validate: RunValidate, tmp_path: Path
) -> None:
    raw = _write_raw(tmp_path / "raw", null_share=("events", "anonymous_id", 0.3))
    code, out, err = _raw(run_validate, raw)
    assert code == 1
    assert (
        "FAIL raw.events.anonymous_id: non-null share >= 0.99 (--min-key-completeness) "
        "(expect_column_proportion_of_non_null_values_to_be_between); observed 0.7" in err
    )
    # a lower threshold lets the same files through
    code, _, err = _raw(run_validate, raw, "--min-key-completeness", "0.5")
    assert code == 0, err


def test_the_raw_gate_names_a_missing_table(run_validate: RunValidate, tmp_path: Path) -> None:
    raw = _write_raw(tmp_path / "raw")
    for file in (raw / "products").iterdir():
        file.unlink()
    code, _, err = _raw(run_validate, raw)
    assert code == 1
    assert "FAIL raw.products: the raw table's folder holds its files" in err


def test_a_failing_raw_gate_stops_before_the_marts(
    run_validate: RunValidate, tmp_path: Path, tiny_db: Path
) -> None:
    raw = _write_raw(tmp_path / "raw", drop=("orders", "order_id"))
    code, out, err = run_validate(
        "--raw", str(raw), "--db", str(tiny_db), "--project-dir", str(REPO_ROOT)
    )
    assert code == 1
    assert "the raw gate failed; marts not validated" in out
    assert "marts." not in err


def test_the_raw_gate_reads_csv_too(run_validate: RunValidate, tmp_path: Path) -> None:
    raw = _write_raw(tmp_path / "raw")
    con = duckdb.connect()
    for folder in raw.iterdir():
        parquet = folder / "part-00000.parquet"
        con.execute(
            f"copy (select * from '{parquet}') to '{folder / 'part-00000.csv'}' (header true)"
        )
        parquet.unlink()
    con.close()
    code, out, err = _raw(run_validate, raw)
    assert code == 0, out + err


# ------------------------------------------------------------------ usage


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--stage", "raw"), "--stage raw needs --raw DIR"),
        (("--stage", "marts"), "--stage marts needs --db PATH"),
        (("--db", "no/such.duckdb"), "DuckDB file no/such.duckdb does not exist"),
    ],
)
def test_usage_errors_exit_2(
    run_validate: RunValidate, args: tuple[str, ...], message: str
) -> None:
    code, _, err = run_validate(*args)
    assert code == 2
    assert message in err
