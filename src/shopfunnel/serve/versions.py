"""The ``versions`` command: the publication log of the serving file.

    python -m shopfunnel versions [--serve-path PATH] [--json]

One line per publication (publish or rollback), oldest first, from the served file's
``meta.published_versions`` (the same table BI users see); ``*`` marks the version being
served and ``archived`` says whether ``rollback`` can still restore it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from shopfunnel.serve.meta import PublicationLog
from shopfunnel.serve.publish import read_served_log
from shopfunnel.serve.store import SERVE_PATH_ENV, ServeError, ServeStore


@dataclass(frozen=True)
class Listing:
    serve_path: Path
    log: PublicationLog
    archived: list[str]


def list_versions(serve_path: Path | None = None) -> Listing:
    """The publication log of the served file and the archived version ids."""
    store = ServeStore.at(serve_path)
    return Listing(store.serve_path, read_served_log(store), store.archived_versions())


def _rows(listing: Listing) -> list[dict[str, object]]:
    last = len(listing.log.publications)
    return [
        {
            **asdict(publication),
            "published_at": publication.published_at.isoformat(sep=" ", timespec="seconds"),
            "is_current": index == last,
            "is_archived": publication.version_id in listing.archived,
            "mart_rows": listing.log.mart_rows.get(publication.version_id, {}),
        }
        for index, publication in enumerate(listing.log.publications, start=1)
    ]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "versions",
        help="list the published versions of the marts (the serving file's log)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--serve-path",
        type=Path,
        default=None,
        help=f"the serving file (default: env {SERVE_PATH_ENV} or data/serve/shopfunnel.duckdb)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the log as JSON (with row counts per mart)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        listing = list_versions(args.serve_path)
    except ServeError as exc:
        print(f"versions: error: {exc}", file=sys.stderr)
        return 1
    rows = _rows(listing)
    if args.json:
        print(json.dumps({"serve_path": str(listing.serve_path), "publications": rows}, indent=2))
        return 0
    if not rows:
        print(f"versions: nothing published at {listing.serve_path} yet")
        return 0
    print(f"Serving file {listing.serve_path}: version {listing.log.current_version}")
    header = (
        "",
        "#",
        "version",
        "action",
        "published_at (UTC)",
        "git",
        "gate",
        "marts",
        "rows",
        "archived",
    )
    table = [header] + [
        (
            "*" if row["is_current"] else "",
            str(row["publication_number"]),
            str(row["version_id"]),
            str(row["action"]),
            str(row["published_at"]),
            str(row["git_sha"])[:12] + ("+" if row["is_git_dirty"] else ""),
            str(row["gate_result"]),
            str(row["mart_count"]),
            f"{row['total_row_count']:,}",
            "yes" if row["is_archived"] else "no",
        )
        for row in rows
    ]
    widths = [max(len(line[index]) for line in table) for index in range(len(header))]
    for line in table:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )
    print("(* = served; git + = uncommitted changes; rollback restores archived versions)")
    return 0
