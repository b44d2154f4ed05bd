"""The ``generate`` command."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from shopfunnel.argtypes import iso_date, number, whole_number
from shopfunnel.generate.core import Generator, stderr_progress
from shopfunnel.generate.deliver import deliver
from shopfunnel.generate.ga4 import write_ga4_shape
from shopfunnel.generate.params import Params

_positive = whole_number(1)
_non_negative = whole_number(0)
_date = iso_date
_DEFAULTS = Params()


def _effect(text: str) -> tuple[str, float]:
    """NAME=SHARE of --action-effect."""
    name, sep, value = text.partition("=")
    if not sep or name not in _DEFAULTS.action_effects:
        raise argparse.ArgumentTypeError(
            f"expected NAME=SHARE with NAME one of {', '.join(_DEFAULTS.action_effects)}, "
            f"got {text!r}"
        )
    return name, number(0.0, 1.0)(value)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="write a synthetic raw data set (events, members, orders, ...) and its manifest",
        description="Simulate the case study's shop and write the raw tables of the contract "
        "to OUT/<table>/part-*.parquet (or .csv) with OUT/manifest.json. Deterministic for a "
        "seed; existing table folders in OUT are replaced.",
    )
    parser.add_argument(
        "--visitors",
        type=_positive,
        default=40_000,
        help="human visitors active in the window (default 40000)",
    )
    parser.add_argument("--days", type=_positive, default=90, help="window length (default 90)")
    parser.add_argument(
        "--history-days",
        type=_non_negative,
        default=90,
        help="days of history before the window, where returning visitors and "
        "existing members were first seen (default 90)",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    parser.add_argument(
        "--start-date",
        type=_date,
        default=date(2026, 1, 1),
        help="first day of the window (default 2026-01-01)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("data/raw"), help="output folder (default data/raw)"
    )
    parser.add_argument(
        "--format",
        choices=("parquet", "csv"),
        default="parquet",
        help="file format (default parquet; csv has a header row)",
    )
    parser.add_argument(
        "--dirt",
        choices=("on", "off"),
        default="on",
        help="add the tracker and export dirt, counted in the manifest (default on)",
    )
    parser.add_argument(
        "--chunk-events",
        type=_positive,
        default=2_000_000,
        help="about this many events per events part file; each file covers the next "
        "time range (default 2000000)",
    )
    parser.add_argument(
        "--layout",
        choices=("flat", "daily"),
        default="flat",
        help="flat: OUT/<table>/part-*.<format>; daily: one load partition per day, "
        "OUT/<table>/load_date=YYYY-MM-DD/part-*.<format>, the first holding the history, "
        "with late events, re-deliveries, late logins, grade changes and refunds planted "
        "in later loads (default flat)",
    )
    parser.add_argument(
        "--memory-limit",
        default="1GB",
        help="DuckDB memory limit; beyond it the work spills to a scratch folder under "
        "TMPDIR (default 1GB: the process stays under 2 GiB at any size)",
    )
    actions_group = parser.add_argument_group(
        "marketing actions",
        "Simulate the three audiences' actions after an action date, outside the holdout the "
        "marts choose (the same seeded md5), with planted effects written to manifest.json "
        "(section actions) and every person's outcome with and without the action to "
        "OUT/action_truth.parquet. Build the marts with var audience_as_of_date set to the "
        "action date to measure them (rpt_audience_lift).",
    )
    actions_group.add_argument(
        "--actions",
        choices=("on", "off"),
        default="off",
        help="simulate the actions (default off: the data set is the one without actions)",
    )
    actions_group.add_argument(
        "--actions-as-of",
        type=_date,
        default=None,
        help="the action date, YYYY-MM-DD (default: the last day of the window minus "
        "--lift-window-days)",
    )
    actions_group.add_argument(
        "--lift-window-days",
        type=_positive,
        default=_DEFAULTS.lift_window_days,
        help=f"days after the action date in which a response comes (default "
        f"{_DEFAULTS.lift_window_days}, var lift_window_days)",
    )
    actions_group.add_argument(
        "--holdout-seed",
        type=int,
        default=_DEFAULTS.holdout_seed,
        help=f"the marts' var holdout_seed (default {_DEFAULTS.holdout_seed})",
    )
    actions_group.add_argument(
        "--holdout-share",
        type=number(0.0, 1.0),
        default=_DEFAULTS.holdout_share,
        help=f"the marts' var holdout_share (default {_DEFAULTS.holdout_share})",
    )
    effects = ", ".join(f"{name}={value:g}" for name, value in _DEFAULTS.action_effects.items())
    actions_group.add_argument(
        "--action-effect",
        type=_effect,
        action="append",
        default=[],
        metavar="NAME=SHARE",
        help="share of an action's audience (outside the holdout) that it makes convert in "
        "the window, among those who would not have converted anyway; 0 plants no effect; "
        f"repeatable (default {effects})",
    )
    parser.add_argument(
        "--shape",
        choices=("native", "ga4"),
        default="native",
        help="native: the raw-data contract's tables; ga4: the events table as a GA4 BigQuery "
        "export holds the same hits (Parquet only; shopfunnel.generate.ga4, README \"Tracker "
        "exports\"), the other tables unchanged (default native)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.set_defaults(func=run)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    delivery = actions.add_parser(
        "deliver",
        help="copy the load partitions of a daily data set up to a date into a raw folder",
        description="Copy every load partition (<table>/load_date=YYYY-MM-DD/) of a data set "
        "written with --layout daily, dated on or before THROUGH, into TO: a shop's daily "
        "exports arriving one load at a time. Partitions already delivered are left alone; "
        "TO must not hold loads after THROUGH.",
    )
    delivery.add_argument("--from", dest="source", type=Path, required=True, help="daily data set")
    delivery.add_argument("--to", dest="target", type=Path, required=True, help="raw folder")
    delivery.add_argument(
        "--through", type=_date, required=True, help="last load date to deliver (YYYY-MM-DD)"
    )
    delivery.set_defaults(func=run_deliver)


def run_deliver(args: argparse.Namespace) -> int:
    try:
        result = deliver(args.source, args.target, args.through)
    except ValueError as exc:
        print(f"generate deliver: {exc}", file=sys.stderr)
        return 2
    print(
        f"delivered {len(result.copied)} load partitions through {args.through.isoformat()} "
        f"to {args.target} ({len(result.unchanged)} already there)"
    )
    return 0


def run(args: argparse.Namespace) -> int:
    params = Params(
        visitors=args.visitors,
        days=args.days,
        history_days=args.history_days,
        seed=args.seed,
        start_date=args.start_date,
        dirt=args.dirt == "on",
        actions=args.actions == "on",
        actions_as_of=args.actions_as_of,
        lift_window_days=args.lift_window_days,
        holdout_seed=args.holdout_seed,
        holdout_share=args.holdout_share,
        action_effects={**_DEFAULTS.action_effects, **dict(args.action_effect)},
    )
    if args.shape == "ga4" and args.format != "parquet":
        print("generate: --shape ga4 writes Parquet only (use --format parquet)", file=sys.stderr)
        return 2
    try:
        generator = Generator(
            params,
            args.out,
            args.format,
            progress=None if args.quiet else stderr_progress,
            chunk_events=args.chunk_events,
            layout=args.layout,
            memory_limit=args.memory_limit,
        )
    except ValueError as exc:
        print(f"generate: {exc}", file=sys.stderr)
        return 2
    manifest = generator.run()
    if args.shape == "ga4":
        write_ga4_shape(args.out, None if args.quiet else stderr_progress)
    realized = manifest["realized"]
    print(
        f"wrote {manifest['tables']['events']['rows']:,} events, {realized['members']:,} members, "
        f"{manifest['tables']['orders']['rows']:,} orders to {args.out}"
    )
    planted = manifest["actions"]
    if planted["enabled"]:
        for name, action in planted["actions"].items():
            print(
                f"  action {name} on {planted['as_of_date']}: effect {action['effect']:g}, "
                f"reached {action['reached_persons']:,} of {action['population_persons']:,} "
                f"persons ({action['holdout_persons']:,} held out)"
            )
        print(f"  measure it: dbt build --vars '{{audience_as_of_date: {planted['as_of_date']}}}'")
    return 0
