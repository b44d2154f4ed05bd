"""Thresholds of the quality gate, with their documented defaults.

Every value here can be overridden on the command line (``python -m shopfunnel validate
--help`` names the flag next to each default). They live in one place so the gate, its help
text and its tests agree.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The funnel stages a person can be in, in order (docs/architecture.md, fct_funnel_stages).
#: tests/python/test_validate_spec.py checks this list against the accepted_values test of
#: fct_funnel_stages.funnel_stage, so the two cannot drift.
FUNNEL_STAGES: tuple[str, ...] = (
    "visitor",
    "member_no_purchase",
    "first_time_buyer",
    "repeat_buyer",
    "loyal",
)

#: Columns of any mart that hold a funnel stage (nulls allowed: a first transition has no
#: from_stage).
STAGE_COLUMNS: tuple[str, ...] = ("funnel_stage", "from_stage", "to_stage")

#: Key columns of each raw table whose non-null share must reach ``min_key_completeness``.
#: Staging quarantines rows without them; a share below the threshold means the export is
#: broken, not dirty.
RAW_KEY_COLUMNS: dict[str, tuple[str, ...]] = {
    "events": ("event_id", "anonymous_id", "event_at"),
    "members": ("member_id",),
    "member_grade_history": ("member_id", "valid_from"),
    "orders": ("order_id",),
    "order_items": ("order_id", "line_number"),
    "products": ("product_id",),
}

#: Schema of the marts in the DuckDB file (dbt_project.yml: marts: +schema: marts).
MARTS_SCHEMA = "marts"


@dataclass(frozen=True)
class Thresholds:
    """Documented defaults of the gate (CLI flag in brackets)."""

    #: [--min-key-completeness] Smallest share of non-null values in a raw key column.
    #: The demo generator's dirt nulls about 0.2% of anonymous_id; 0.99 leaves room for
    #: that and stops an export that lost a column's values.
    min_key_completeness: float = 0.99
    #: [--volume-band] Largest relative change of a mart's row count against the previous
    #: run of the gate on the same DuckDB file (0.5 = between half and one and a half times).
    volume_band: float = 0.5
    #: [--volume-slack-rows] A change of at most this many rows always passes, so tiny
    #: report tables (one row per month or segment) do not trip the band.
    volume_slack_rows: int = 10

    def volume_bounds(self, previous_rows: int) -> tuple[int, int]:
        """Smallest and largest row count allowed after a run that had ``previous_rows``."""
        relative = int(previous_rows * self.volume_band)
        change = max(relative, self.volume_slack_rows)
        return max(previous_rows - change, 0), previous_rows + change
