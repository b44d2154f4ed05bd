"""One command-line entry point: ``python -m shopfunnel <command>``.

Each command lives in its own module, which exposes ``register(subparsers)``; ``COMMANDS``
names them, one line per command.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# command name -> module that registers it (one line per command)
COMMANDS: dict[str, str] = {
    "generate": "shopfunnel.generate.cli",
    "report": "shopfunnel.report",
    "structure": "shopfunnel.structure",
    "slim-ci": "shopfunnel.slim_ci",
    "validate": "shopfunnel.validate.cli",
    "export": "shopfunnel.export",
    "daily": "shopfunnel.daily",
    "publish": "shopfunnel.serve.publish",
    "rollback": "shopfunnel.serve.rollback",
    "versions": "shopfunnel.serve.versions",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shopfunnel",
        description="Tooling around the shopfunnel dbt project: generate data, report, "
        "check the project's structure, slim CI, validate, export audiences, run the daily "
        "pipeline and backfills.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMANDS.values():
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
