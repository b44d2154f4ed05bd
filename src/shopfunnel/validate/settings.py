"""What the gate watches and its thresholds, with their documented defaults.

Every threshold can be overridden on the command line (``python -m shopfunnel validate
--help`` names the flag next to each default). They live in one place so the gate, its help
text, its README and its tests agree. What the gate does *not* hold: the raw tables, their
columns and types (the raw-data contract in ``models/staging/shop/_shop__sources.yml``,
read through the dbt manifest) and how a value is parsed (the staging macros, rendered by
dbt): see :mod:`shopfunnel.validate.contract`.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

#: Schema of the marts in the DuckDB file (dbt_project.yml: marts: +schema: marts).
MARTS_SCHEMA = "marts"

#: A shop brings web events, orders or both: when both have no rows (or no files), there is
#: nothing to build and the raw gate fails. Any other table may be missing (a warning).
CORE_TABLES: tuple[str, str] = ("events", "orders")

#: How staging reads a raw value of each contract type (``meta.type`` of a source column):
#: the dbt macro that parses it (null when unreadable). ``text`` is never checked.
TYPE_PARSERS: dict[str, str] = {
    "timestamp": "to_utc_timestamp",
    "amount": "to_amount",
    "integer": "to_integer",
    "boolean": "to_boolean",
}
#: Type ``id``: the dbt macro that is true for a valid id (var ``id_regex``, no placeholder).
ID_PREDICATE = "is_valid_id"
#: Types that carry no rule.
UNCHECKED_TYPES: tuple[str, ...] = ("text",)


@dataclass(frozen=True)
class Figure:
    """A key figure of a mart whose drift against history the gate watches.

    The figure is the mean of ``column`` over the rows where column ``where[0]`` equals
    ``where[1]``; on a one-row selection that is the row's value. Its definition stays the
    mart's: the gate only compares what the mart says today with what it said before.
    ``is_share``: a proportion in [0, 1] (see :meth:`Thresholds.drift_bounds`).
    """

    name: str
    mart: str
    column: str
    where: tuple[str, str | bool]
    description: str
    is_share: bool


#: The key rates and shares of the marts (audience sizes and every other mart's size are
#: watched as row counts). A new figure is one more entry here.
FIGURES: tuple[Figure, ...] = (
    Figure(
        "signup_rate",
        "rpt_benefit_page_effect",
        "signup_rate",
        ("period_type", "window"),
        "sign-up rate of new visitors over the analysis window",
        True,
    ),
    Figure(
        "new_visitor_share",
        "rpt_benefit_page_effect",
        "new_visitor_share",
        ("period_type", "window"),
        "share of visitors who are new, over the analysis window",
        True,
    ),
    Figure(
        "average_paid_order_total",
        "fct_orders",
        "order_total",
        ("is_paid", True),
        "average order value (order_total of paid orders)",
        False,
    ),
)


@dataclass(frozen=True)
class Thresholds:
    """Documented defaults of the gate (CLI flag in brackets)."""

    #: [--min-required-completeness] Smallest share of non-null values in a column the
    #: contract marks ``required``. Staging quarantines a row without one; a share below
    #: the threshold means a broken export (the demo's dirt nulls about 0.2% of
    #: anonymous_id), and an all-null column (``Event_At`` in another case) fails.
    min_required_completeness: float = 0.99
    #: [--max-unparsable-share] Largest share of the non-null values of a typed column that
    #: may fail to parse as staging parses them (epoch milliseconds in ``event_at``: 100%).
    #: The demo's dirt leaves about 1% of member_id invalid.
    max_unparsable_share: float = 0.05
    #: [--volume-band] Largest relative change of a row count (a mart, or a daily raw load)
    #: against the median of its history (0.5 = between half and one and a half times).
    volume_band: float = 0.5
    #: [--volume-slack-rows] A change of at most this many rows always passes, so tiny
    #: report tables (one row per month or segment) do not trip the band.
    volume_slack_rows: int = 10
    #: [--drift-band] Largest relative change of a key figure (:data:`FIGURES`) against
    #: the median of its history (0.25: a sign-up rate of 2% may move between 1.5% and 2.5%).
    drift_band: float = 0.25
    #: [--history-runs] How many previous passing runs (or daily loads) the median is
    #: taken over.
    history_runs: int = 5
    #: Fewer previous daily loads than this: a new load's volume is not compared (the
    #: first run of a daily pipeline usually loads the whole history at once; with three
    #: loads the median is a daily one).
    min_load_history: int = 3

    def volume_bounds(self, history: list[float]) -> tuple[int, int]:
        """Smallest and largest row count allowed after runs that had ``history`` rows."""
        reference = statistics.median(history)
        change = max(int(reference * self.volume_band), self.volume_slack_rows)
        return max(int(reference) - change, 0), int(reference) + change

    def drift_bounds(self, history: list[float], is_share: bool) -> tuple[float, float]:
        """Smallest and largest value of a figure allowed after ``history``.

        A share moves by at most ``drift_band`` of the smaller of p and 1 - p: a share of
        new visitors of 82% may not reach 98% unnoticed (its complement fell by 90%),
        while a sign-up rate of 2% keeps the plain relative band.
        """
        reference = statistics.median(history)
        scale = min(reference, 1 - reference) if is_share else abs(reference)
        change = max(scale, 0) * self.drift_band
        low, high = reference - change, reference + change
        return (max(low, 0), min(high, 1)) if is_share else (low, high)
