"""The marts stage of ``validate`` on a tiny hand-made warehouse: volumes and key figures
against the history of previous passing runs.

The marts: dim_persons (100 rows), fct_orders (50 orders, 40 paid), rpt_benefit_page_effect
(a window row and two months) and an audience (20 rows). A first run records; then each test
changes the marts as a real day could (normal variation, which must pass) or plants a drop
or a drift (which must fail, naming the mart, the figure and the rule, and must not become
part of the history).

Keys, accepted values, bounds and reconciliations are dbt's (docs/architecture.md, "Who owns
which assertion"): nothing here checks them.

Runs in-process (``shopfunnel.cli.main``) so GX is imported once per session.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from shopfunnel.cli import main
from shopfunnel.validate.history import state_path

TINY_MARTS_SQL = """
create schema marts;
create table marts.dim_persons as
select 'person_' || range as person_id, range % 3 = 0 as is_member from range(100);
create table marts.fct_orders as
select
    'order_' || range as order_id,
    cast(10000 + 100 * (range % 7) as decimal(18, 2)) as order_total,
    range < 40 as is_paid
from range(50);
create table marts.rpt_benefit_page_effect as
select * from (values
    ('window:2026-01-01', 'window', 1000, 820, 20, 0.82, 0.02439),
    ('month:2026-01-01', 'month', 600, 500, 12, 0.8333, 0.024),
    ('month:2026-02-01', 'month', 400, 320, 8, 0.8, 0.025)
) as report (period_id, period_type, visitors, new_visitors, signups, new_visitor_share,
    signup_rate);
create table marts.aud_example as
select 'person_' || range as person_id from range(20);
"""


@pytest.fixture(scope="session", autouse=True)
def gx_imported() -> None:
    """Import GX once for the whole session (it takes seconds)."""
    import shopfunnel.validate.gate  # noqa: F401


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
        # HTML docs take a second a run: only the tests that check them build them
        options = ["--docs-dir", str(tmp_path / "gx_docs")] + ([] if docs else ["--no-docs"])
        code = main(["validate", *options, *args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def _marts(run: RunValidate, db: Path, *extra: str, docs: bool = False) -> tuple[int, str, str]:
    return run("--db", str(db), "--stage", "marts", *extra, docs=docs)


def _failures(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("FAIL")]


def _measures(db: Path) -> list[dict[str, float]]:
    return [run["measures"] for run in json.loads(state_path(db).read_text())["runs"]]


# ------------------------------------------------------------------ first run


def test_a_first_run_records_every_mart_and_figure_and_writes_docs(
    run_validate: RunValidate, tiny_db: Path, tmp_path: Path
) -> None:
    code, out, err = _marts(run_validate, tiny_db, docs=True)
    assert code == 0, out + err
    assert "no previous passing run" in out
    assert (tmp_path / "gx_docs" / "index.html").is_file()
    [measures] = _measures(tiny_db)
    assert measures["marts.dim_persons:rows"] == 100
    assert measures["marts.aud_example:rows"] == 20
    assert measures["marts.rpt_benefit_page_effect:signup_rate"] == pytest.approx(0.02439)
    assert measures["marts.rpt_benefit_page_effect:new_visitor_share"] == pytest.approx(0.82)
    # the average of paid orders only: 40 paid of 50
    paid = [10000 + 100 * (n % 7) for n in range(40)]
    assert measures["marts.fct_orders:average_paid_order_total"] == pytest.approx(
        sum(paid) / len(paid)
    )


def test_docs_replace_an_earlier_site_but_not_a_foreign_folder(
    run_validate: RunValidate, tiny_db: Path, tmp_path: Path
) -> None:
    docs = tmp_path / "gx_docs"
    (docs / "static").mkdir(parents=True)
    (docs / "static" / "mine.css").write_text("body {}")
    (docs / "index.html").write_text("<html>my own page</html>")
    code, _, err = _marts(run_validate, tiny_db, docs=True)
    assert code == 0, err
    assert (docs / "static" / "mine.css").exists()  # not a GX site before: nothing deleted

    for _ in range(2):
        code, _, err = _marts(run_validate, tiny_db, docs=True)
        assert code == 0, err
    # each run replaced the previous run's pages: one page per suite (four marts)
    assert len(list((docs / "validations").rglob("*.html"))) == 4


def test_the_database_is_opened_read_only(run_validate: RunValidate, tiny_db: Path) -> None:
    before = tiny_db.stat().st_mtime_ns
    code, _, _ = _marts(run_validate, tiny_db)
    assert code == 0
    assert tiny_db.stat().st_mtime_ns == before


# ------------------------------------------------------------------ against history


def test_normal_variation_passes_and_joins_the_history(
    run_validate: RunValidate, tiny_db: Path
) -> None:
    assert _marts(run_validate, tiny_db)[0] == 0
    # a day later: a few more persons and orders, rates moved a little
    _change(
        tiny_db,
        """
        insert into marts.dim_persons select 'person_new_' || range, false from range(6);
        insert into marts.fct_orders select 'order_new_' || range, 10500, true from range(3);
        update marts.rpt_benefit_page_effect set signup_rate = 0.0262, new_visitor_share = 0.81
        where period_type = 'window';
        insert into marts.aud_example select 'person_new_' || range from range(2);
        """,
    )
    code, out, err = _marts(run_validate, tiny_db)
    assert code == 0, out + err
    assert "(allowed 50..150)" in out  # dim_persons compared with the first run's 100 rows
    assert len(_measures(tiny_db)) == 2


def test_a_sudden_drop_of_a_mart_fails_and_keeps_the_history(
    run_validate: RunValidate, tiny_db: Path
) -> None:
    assert _marts(run_validate, tiny_db)[0] == 0
    baseline = state_path(tiny_db).read_text()
    _change(
        tiny_db,
        "delete from marts.dim_persons where cast(split_part(person_id, '_', 2) as int) >= 30",
    )
    code, _, err = _marts(run_validate, tiny_db)
    assert code == 1
    assert _failures(err) == [
        "FAIL marts.dim_persons: row count within the band of the last 1 passing run(s) "
        "(median 100 +/-50% or 10 rows: 50..150; --volume-band, --reset-history) "
        "(expect_table_row_count_to_be_between); observed 30 rows (allowed 50..150)"
    ]
    assert state_path(tiny_db).read_text() == baseline  # a failing run is no baseline


def test_an_audience_that_empties_fails(run_validate: RunValidate, tiny_db: Path) -> None:
    assert _marts(run_validate, tiny_db)[0] == 0
    _change(tiny_db, "delete from marts.aud_example")
    code, _, err = _marts(run_validate, tiny_db)
    assert code == 1
    [failure] = _failures(err)
    assert failure.startswith("FAIL marts.aud_example: row count within the band")
    assert failure.endswith("observed 0 rows (allowed 10..30)")


def test_a_drift_of_the_signup_rate_fails_naming_the_figure(
    run_validate: RunValidate, tiny_db: Path
) -> None:
    assert _marts(run_validate, tiny_db)[0] == 0
    # 1970 timestamps moved the window: the sign-up rate of new visitors is six times higher
    _change(
        tiny_db,
        "update marts.rpt_benefit_page_effect set signup_rate = 0.1463 "
        "where period_type = 'window'",
    )
    code, _, err = _marts(run_validate, tiny_db)
    assert code == 1
    assert _failures(err) == [
        "FAIL marts.rpt_benefit_page_effect.signup_rate: sign-up rate of new visitors over "
        "the analysis window: within +/-25% (of min(p, 1 - p)) of the median of the last 1 "
        "passing run(s) (0.02439: 0.01829..0.03049; --drift-band, --reset-history) "
        "(expect_column_mean_to_be_between); observed 0.1463 (allowed 0.01829..0.03049)"
    ]


def test_a_share_near_one_cannot_creep_to_one(run_validate: RunValidate, tiny_db: Path) -> None:
    assert _marts(run_validate, tiny_db)[0] == 0
    # 82% -> 97.7% is +19% relative, but the returning visitors fell from 18% to 2.3%
    _change(
        tiny_db,
        "update marts.rpt_benefit_page_effect set new_visitor_share = 0.977 "
        "where period_type = 'window'",
    )
    code, _, err = _marts(run_validate, tiny_db)
    assert code == 1
    [failure] = _failures(err)
    assert failure.startswith("FAIL marts.rpt_benefit_page_effect.new_visitor_share: ")
    assert "observed 0.977 (allowed 0.775..0.865)" in failure


def test_a_drop_of_the_average_order_value_fails(run_validate: RunValidate, tiny_db: Path) -> None:
    assert _marts(run_validate, tiny_db)[0] == 0
    # amounts suddenly in thousands (an export unit change): AOV drops a thousandfold
    _change(tiny_db, "update marts.fct_orders set order_total = order_total / 1000")
    code, _, err = _marts(run_validate, tiny_db)
    assert code == 1
    [failure] = _failures(err)
    assert failure.startswith(
        "FAIL marts.fct_orders.average_paid_order_total: average order value (order_total of "
        "paid orders): within +/-25% of the median of the last 1 passing run(s)"
    )


def test_the_median_of_history_absorbs_one_odd_run(
    run_validate: RunValidate, tiny_db: Path
) -> None:
    state_path(tiny_db).write_text(
        json.dumps(
            {
                "version": 2,
                "runs": [
                    {"measures": {"marts.dim_persons:rows": rows}} for rows in (98, 100, 400, 102)
                ],
            }
        )
    )
    code, out, err = _marts(run_validate, tiny_db)
    assert code == 0, err
    assert "100 rows (allowed 51..151)" in out  # median 101: the odd 400 is ignored
    code, _, err = _marts(run_validate, tiny_db, "--history-runs", "1")
    assert code == 0, err  # against 102 alone, 100 passes too
    assert len(_measures(tiny_db)) == 6


def test_reset_history_accepts_a_new_baseline(run_validate: RunValidate, tiny_db: Path) -> None:
    state_path(tiny_db).write_text(
        json.dumps({"version": 2, "runs": [{"measures": {"marts.dim_persons:rows": 1000}}]})
    )
    code, _, err = _marts(run_validate, tiny_db)
    assert code == 1
    assert "FAIL marts.dim_persons: row count within the band" in err
    code, _, err = _marts(run_validate, tiny_db, "--reset-history")
    assert code == 0, err
    assert [run["marts.dim_persons:rows"] for run in _measures(tiny_db)] == [100]


def test_an_events_only_shop_has_no_order_value_to_watch(
    run_validate: RunValidate, tiny_db: Path
) -> None:
    _change(tiny_db, "delete from marts.fct_orders")
    code, out, err = _marts(run_validate, tiny_db)
    assert code == 0, err
    assert "no row with is_paid = True" in out
    assert "marts.fct_orders:average_paid_order_total" not in _measures(tiny_db)[0]


# ------------------------------------------------------------------ usage


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--stage", "raw"), "--stage raw needs --raw DIR"),
        (("--stage", "marts"), "--stage marts needs --db PATH"),
        (("--db", "no/such.duckdb"), "DuckDB file no/such.duckdb does not exist"),
        (("--db", "x.duckdb", "--stage", "marts", "--new-only"), "--new-only needs --raw DIR"),
    ],
)
def test_usage_errors_exit_2(
    run_validate: RunValidate, args: tuple[str, ...], message: str
) -> None:
    code, _, err = run_validate(*args)
    assert code == 2
    assert message in err


def test_an_unreadable_history_is_a_usage_error(run_validate: RunValidate, tiny_db: Path) -> None:
    state_path(tiny_db).write_text("{not json")
    code, _, err = _marts(run_validate, tiny_db)
    assert code == 2
    assert "--reset-history" in err
