"""Configured funnels on the test build (``make test``): the journeys the model found for a
sample of real persons equal the brute-force reference of ``test_funnels_journeys`` on the
same matched hits, every shipped funnel has its marts, and the report prints them.
"""

from __future__ import annotations

from collections import defaultdict

import duckdb
import pytest

from shopfunnel import report
from test_funnels_journeys import Case, Funnel, Hit, reference, shares_an_instant

pytestmark = pytest.mark.e2e

SHIPPED = {
    "signup_after_benefit_page",
    "signup_in_landing_session",
    "product_to_purchase",
    "vip_new_release_purchase",
}

#: Persons per funnel checked against the reference, among those with at most MAX_HITS hits
#: (the reference enumerates every chain: exponential in hits).
SAMPLE = 300
MAX_HITS = 25


def _funnels(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[Funnel, dict[str, int]]]:
    rows = con.execute(
        """
        select funnel_name, step_type, step_name, order_mode, hold_constant, period_grain,
            step_number, step_count, conversion_window_seconds, step_window_seconds,
            is_optional, exclude_from_step, exclude_to_step
        from intermediate.int_funnel_steps_resolved
        order by funnel_name, step_type, step_name
        """
    ).fetchall()
    by_funnel: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        by_funnel[row[0]].append(row)
    funnels = {}
    for name, steps in by_funnel.items():
        first = steps[0]
        exclusions = [row for row in steps if row[1] == "exclusion"]
        funnels[name] = (
            Funnel(
                name=name,
                order_mode=first[3],
                step_count=first[7],
                optional=frozenset(row[6] for row in steps if row[1] == "step" and row[10]),
                step_windows={
                    row[6]: row[9] for row in steps if row[1] == "step" and row[9] is not None
                },
                window=first[8],
                grain=first[5],
                hold=first[4] != "none",
                exclusions=tuple((row[11], row[12]) for row in exclusions),
            ),
            {row[2]: index for index, row in enumerate(exclusions)},
        )
    return funnels


def test_shipped_funnels_have_their_marts(built_db: duckdb.DuckDBPyConnection) -> None:
    rows = built_db.execute(
        """
        select funnel_name, count(*), sum(persons_entered) filter (where breakdown_type = 'all'
            and step_number = 1)
        from marts.rpt_funnel_conversion
        group by funnel_name
        """
    ).fetchall()
    entered = {name: persons for name, _, persons in rows}
    assert SHIPPED <= set(entered)
    # every example funnel has entries on the test data set
    assert all(entered[name] > 0 for name in SHIPPED), entered
    histogram = {
        name
        for (name,) in built_db.execute(
            "select distinct funnel_name from marts.rpt_funnel_time_to_convert where persons > 0"
        ).fetchall()
    }
    assert {"signup_after_benefit_page", "product_to_purchase"} <= histogram


def test_real_journeys_match_the_reference(built_db: duckdb.DuckDBPyConnection) -> None:
    funnels = _funnels(built_db)
    compared = missed = 0
    failures = []
    for name, (funnel, exclusion_index) in sorted(funnels.items()):
        persons = [
            person for (person,) in built_db.execute(
                """
                select person_id
                from intermediate.int_funnel_events_matched
                where funnel_name = ?
                group by person_id
                having count(*) <= ?
                order by md5(person_id)
                limit ?
                """,
                [name, MAX_HITS, SAMPLE],
            ).fetchall()
        ]
        if not persons:
            continue
        hits = built_db.execute(
            """
            select event_id, person_id, hold_key, hit_at, coalesce(step_number, 0), step_name
            from intermediate.int_funnel_events_matched
            where funnel_name = ? and list_contains(?, person_id)
            """,
            [name, persons],
        ).fetchall()
        case = Case(funnel)
        for event_id, person, hold_key, hit_at, step, step_name in hits:
            case.hits.append(
                Hit(event_id, person, "" if step == 0 else hold_key, hit_at, step,
                    exclusion_index.get(step_name, -1) if step == 0 else -1)
            )
        expected = reference(case)
        actual: dict[tuple, tuple[set[int], float]] = {}
        rows = built_db.execute(
            """
            select entry_period_start_date, person_id, step_number, seconds_from_entry
            from intermediate.int_funnel_steps_reached
            where funnel_name = ? and list_contains(?, person_id)
            order by step_number
            """,
            [name, persons],
        ).fetchall()
        for period, person, step, seconds in rows:
            levels, _ = actual.get((period, person), (set(), 0.0))
            actual[(period, person)] = (levels | {step}, float(seconds or 0.0))
        for key in set(expected) | set(actual):
            compared += 1
            want, got = expected.get(key), actual.get(key)
            if want is not None and got is not None and want[0] == got[0] and abs(
                want[1] - got[1]
            ) < 1e-3:
                continue
            if (
                want is not None and got is not None and got[0] < want[0]
                and shares_an_instant(case, key[1])
            ):
                missed += 1
                continue
            failures.append(f"{name} {key}: reference {want}, model {got}")
    assert not failures, "\n".join(failures[:5]) + f"\n({len(failures)} of {compared})"
    assert compared > 200
    assert missed <= compared // 100


def test_report_prints_every_shipped_funnel(built_db: duckdb.DuckDBPyConnection) -> None:
    figures = report.collect(built_db)
    labels = {row["funnel_label"] for row in figures["funnels"]}
    text = report.render(figures)
    assert "Configured funnels" in text
    for label in labels:
        assert label in text
    assert {row["funnel_name"] for row in figures["funnels"]} == SHIPPED
