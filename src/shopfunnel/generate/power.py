"""Which effects can an audience's holdout detect? Power of rpt_audience_lift's test.

    python -m shopfunnel.generate.power --db <warehouse built with an early as-of date>

For every row of ``marts.rpt_audience_lift`` (an audience at its as-of date): the exported
and held-out group sizes n1 and n0 and the base rate p0, the pooled conversion rate of both
groups (a data set without actions: both groups convert at the base rate). The minimum
detectable effect (MDE) is the smallest rise of the exported group's rate, p1 - p0, that
the mart's two-sided pooled two-proportion z-test at level alpha finds with the given power:

- ``normal``: the usual normal approximation, solved for p1:
  |p1 - p0| = z(1 - alpha/2) * sqrt(pbar (1 - pbar) (1/n1 + 1/n0))
              + z(power) * sqrt(p1 (1 - p1) / n1 + p0 (1 - p0) / n0),
  pbar = (n1 p1 + n0 p0) / (n1 + n0);
- ``exact``: the power computed exactly over the two binomial distributions (every pair of
  conversion counts, weighted by its probability, counted when the mart's z-test rejects),
  the smallest p1 on a grid of 0.0005 whose power reaches the target: the normal
  approximation is poor for a holdout of a few persons or a base rate near 0.

Each MDE is also given relative to p0 (p1 / p0) and as the generator's effect share
``q = (p1 - p0) / (1 - p0)`` (``generate --action-effect``: the share of would-be
non-converters the action converts). ``--holdout-share`` splits each audience's persons
again with another holdout share (what a larger holdout would buy).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist

import duckdb

_NORMAL = NormalDist()
GRID = 0.0005


@dataclass(frozen=True)
class Detectable:
    audience: str
    as_of_date: str
    exported: int
    holdout: int
    base_rate: float
    mde_normal: float | None  # p1 - p0; None: no p1 <= 1 reaches the power
    mde_exact: float | None

    def relative(self, mde: float | None) -> float | None:
        if mde is None or self.base_rate == 0:
            return None
        return (self.base_rate + mde) / self.base_rate

    def effect_share(self, mde: float | None) -> float | None:
        if mde is None:
            return None
        return mde / (1 - self.base_rate)


def z_statistic(x1: int, n1: int, x0: int, n0: int) -> float | None:
    """The mart's pooled two-proportion z (macro two_proportion_z); None when undefined."""
    if n1 == 0 or n0 == 0 or x1 + x0 in (0, n1 + n0):
        return None
    pooled = (x1 + x0) / (n1 + n0)
    return (x1 / n1 - x0 / n0) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))


def normal_power(p1: float, p0: float, n1: int, n0: int, alpha: float = 0.05) -> float:
    """Power of the pooled z-test against p1 (normal approximation, both tails)."""
    pbar = (n1 * p1 + n0 * p0) / (n1 + n0)
    null_sd = math.sqrt(pbar * (1 - pbar) * (1 / n1 + 1 / n0))
    alt_sd = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    if alt_sd == 0:
        return 1.0 if abs(p1 - p0) > _NORMAL.inv_cdf(1 - alpha / 2) * null_sd else 0.0
    critical = _NORMAL.inv_cdf(1 - alpha / 2) * null_sd
    return _NORMAL.cdf((p1 - p0 - critical) / alt_sd) + _NORMAL.cdf((p0 - p1 - critical) / alt_sd)


def _binomial(n: int, p: float, tail: float = 1e-10) -> list[tuple[int, float]]:
    """(count, probability) of Binomial(n, p), leaving out counts beyond `tail` mass."""
    if p <= 0:
        return [(0, 1.0)]
    if p >= 1:
        return [(n, 1.0)]
    log_p, log_q = math.log(p), math.log1p(-p)
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    reach = 10 * sd + 10  # a tail beyond 10 sd (+10) holds far less than `tail`
    low, high = max(0, math.floor(mean - reach)), min(n, math.ceil(mean + reach))
    out = []
    for k in range(low, high + 1):
        log_pmf = (
            math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
            + k * log_p + (n - k) * log_q
        )  # fmt: skip
        probability = math.exp(log_pmf)
        if probability > tail:
            out.append((k, probability))
    return out


def exact_power(p1: float, p0: float, n1: int, n0: int, alpha: float = 0.05) -> float:
    """Probability that the mart's z-test rejects at level alpha (both tails), exactly."""
    critical = _NORMAL.inv_cdf(1 - alpha / 2)
    exported, held = _binomial(n1, p1), _binomial(n0, p0)
    power = 0.0
    for x0, prob0 in held:
        for x1, prob1 in exported:
            z = z_statistic(x1, n1, x0, n0)
            if z is not None and abs(z) > critical:
                power += prob0 * prob1
    return power


def _solve_normal(p0: float, n1: int, n0: int, alpha: float, power: float) -> float | None:
    if normal_power(1.0, p0, n1, n0, alpha) < power:
        return None
    low, high = p0, 1.0
    for _ in range(60):
        middle = (low + high) / 2
        if normal_power(middle, p0, n1, n0, alpha) >= power:
            high = middle
        else:
            low = middle
    return high - p0


def _solve_exact(p0: float, n1: int, n0: int, alpha: float, power: float) -> float | None:
    """Smallest p1 on the grid (from p0 up) whose exact power reaches `power`."""
    steps = math.floor((1 - p0) / GRID)
    if exact_power(1.0, p0, n1, n0, alpha) < power:
        return None
    # the power rises with p1 but not strictly (discreteness): bisect on the grid, then
    # step back while a smaller grid point reaches it too
    low, high = 0, steps + 1  # power(low) < target (p1 = p0) ... power(high) >= target
    value = {high: 1.0}

    def at(step: int) -> float:
        if step not in value:
            value[step] = exact_power(min(1.0, p0 + step * GRID), p0, n1, n0, alpha)
        return value[step]

    while high - low > 1:
        middle = (low + high) // 2
        if at(middle) >= power:
            high = middle
        else:
            low = middle
    while high > 1 and at(high - 1) >= power:
        high -= 1
    return min(1.0, p0 + high * GRID) - p0


def detectable_effects(
    con: duckdb.DuckDBPyConnection,
    power: float = 0.8,
    alpha: float = 0.05,
    holdout_share: float | None = None,
) -> list[Detectable]:
    """One row per audience and as-of date of rpt_audience_lift; `holdout_share` re-splits
    the audience (None: the split the mart made)."""
    rows = con.execute("""
        select
            audience_name,
            cast(as_of_date as varchar),
            exported_persons,
            holdout_persons,
            exported_conversions + holdout_conversions
        from marts.rpt_audience_lift
        order by audience_name, as_of_date
    """).fetchall()
    out = []
    for audience, as_of, n1, n0, conversions in rows:
        if holdout_share is not None:
            total = n1 + n0
            n0 = round(holdout_share * total)
            n1 = total - n0
        if not n1 or not n0:
            out.append(Detectable(audience, as_of, n1, n0, 0.0, None, None))
            continue
        p0 = conversions / (n1 + n0)
        out.append(
            Detectable(
                audience,
                as_of,
                n1,
                n0,
                p0,
                _solve_normal(p0, n1, n0, alpha, power),
                _solve_exact(p0, n1, n0, alpha, power),
            )
        )
    return out


def _percent(value: float | None) -> str:
    return "none" if value is None else f"{100 * value:.2f} pp"


def _times(value: float | None) -> str:
    return "-" if value is None else f"x{value:.2f}"


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shopfunnel.generate.power",
        description="Minimum detectable effect of every audience's holdout test "
        "(rpt_audience_lift of a warehouse built with an early as-of date, on data without "
        "actions): which rise of the exported group's conversion rate the mart's z-test finds.",
    )
    parser.add_argument("--db", type=Path, required=True, help="the built warehouse file")
    parser.add_argument("--power", type=float, default=0.8, help="target power (default 0.8)")
    parser.add_argument("--alpha", type=float, default=0.05, help="two-sided level (0.05)")
    parser.add_argument(
        "--holdout-share",
        type=float,
        default=None,
        help="split each audience again with this holdout share (default: as the mart did)",
    )
    args = parser.parse_args(argv)
    if args.holdout_share is not None and not 0 < args.holdout_share < 1:
        print("power: --holdout-share must be in (0, 1)", file=sys.stderr)
        return 2
    if not args.db.exists():
        print(f"power: {args.db} does not exist", file=sys.stderr)
        return 2
    con = duckdb.connect(str(args.db), read_only=True)
    try:
        results = detectable_effects(con, args.power, args.alpha, args.holdout_share)
    finally:
        con.close()
    split = "" if args.holdout_share is None else f", holdout share {args.holdout_share:g}"
    print(
        f"Minimum detectable rise of the conversion rate, power {args.power:g}, two-sided "
        f"alpha {args.alpha:g} (pooled z-test of rpt_audience_lift{split})"
    )
    header = (
        f"{'audience':<27}{'as of':>11}{'exported':>10}{'holdout':>9}{'base rate':>11}"
        f"{'MDE normal':>12}{'MDE exact':>12}{'relative':>10}{'effect q':>10}"
    )
    print(header)
    for row in results:
        print(
            f"{row.audience:<27}{row.as_of_date:>11}{row.exported:>10,}{row.holdout:>9,}"
            f"{100 * row.base_rate:>10.2f}%{_percent(row.mde_normal):>12}"
            f"{_percent(row.mde_exact):>12}{_times(row.relative(row.mde_exact)):>10}"
            f"{_share(row.effect_share(row.mde_exact)):>10}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
