"""One command-line entry point: ``python -m shopfunnel <command>``.

Each command lives in its own module, which exposes ``register(subparsers)``; the
module is imported only when its command is registered, so a broken optional
dependency of one command does not break the others.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# command name -> module that registers it
COMMANDS: dict[str, str] = {
    "generate": "shopfunnel.generate.cli",
    "report": "shopfunnel.report",
    "validate": "shopfunnel.validate.cli",
    "export": "shopfunnel.export",
    "publish": "shopfunnel.serve.publish",
    "rollback": "shopfunnel.serve.rollback",
    "versions": "shopfunnel.serve.versions",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shopfunnel",
        description="Tooling around the shopfunnel dbt project: generate data, report, "
        "validate, export audiences.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMANDS.values():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # command not built yet
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
