"""The ``rollback`` command: serve an archived version again.

    python -m shopfunnel rollback                      # the version published before the served one
    python -m shopfunnel rollback 20260401T061502Z     # a named archived version

The archived file is copied, its publication log is brought up to date (a ``rollback``
row becomes the current one) and the copy is renamed over the serving file, exactly like
a publish: open readers keep what they have, new connections see the restored version.
List the versions with ``python -m shopfunnel versions``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from shopfunnel.serve.meta import PublicationLog, read_log, write_log
from shopfunnel.serve.publish import (
    MARTS_SCHEMA,
    mart_relations,
    read_served_log,
    verify_version_file,
)
from shopfunnel.serve.store import SERVE_PATH_ENV, ServeError, ServeStore, attach_read_only


@dataclass(frozen=True)
class RollbackResult:
    serve_path: Path
    previous_version: str
    version_id: str
    message: str


def _previous_version(store: ServeStore, log: PublicationLog) -> str:
    """The newest archived version first published before the served one."""
    order = log.published_order()
    current = log.current_version
    archived = set(store.archived_versions())
    before = order[: order.index(current)] if current in order else order
    for version_id in reversed(before):
        if version_id in archived:
            return version_id
    raise ServeError(
        f"no archived version older than the served {current}; archived: "
        f"{', '.join(store.archived_versions()) or 'none'}"
    )


def _archived_log(path: Path) -> tuple[PublicationLog, dict[str, int]]:
    with attach_read_only(path, "archived") as con:
        rows = {
            name: int(
                con.execute(f'select count(*) from archived.{MARTS_SCHEMA}."{name}"').fetchall()[0][
                    0
                ]
            )
            for name in mart_relations(con, "archived")
        }
        return read_log(con, "archived"), rows


def rollback(serve_path: Path | None = None, version_id: str | None = None) -> RollbackResult:
    """Serve `version_id` (default: the version published before the served one) again."""
    store = ServeStore.at(serve_path)
    with store.lock():
        served = read_served_log(store)
        if served.current_version is None:
            raise ServeError(f"nothing is served at {store.serve_path}: publish a build first")
        target = version_id or _previous_version(store, served)
        archive = store.archive_path(target)
        if not archive.is_file():
            raise ServeError(
                f"version {target} is not archived in {store.versions_dir}; archived: "
                f"{', '.join(store.archived_versions()) or 'none'}"
            )
        if target == served.current_version:
            raise ServeError(f"version {target} is already served")
        archived_log, rows = _archived_log(archive)
        original = served.first_publication(target) or archived_log.first_publication(target)
        if original is None:
            raise ServeError(f"{archive} has no publication record of version {target}")
        publication = replace(
            original,
            action="rollback",
            published_at=datetime.now(UTC).replace(tzinfo=None),
        )
        new_log = served.appended(publication, rows)
        scratch = store.versions_dir / f".rollback-{target}.{os.getpid()}.partial"
        try:
            shutil.copyfile(archive, scratch)
            con = duckdb.connect(str(scratch))
            try:
                write_log(con, con.execute("select current_database()").fetchall()[0][0], new_log)
                con.execute("checkpoint")
            finally:
                con.close()
            verify_version_file(scratch, target, rows)
            store.install(scratch)
        finally:
            scratch.unlink(missing_ok=True)
            scratch.with_name(scratch.name + ".wal").unlink(missing_ok=True)
    message = f"rolled back {store.serve_path} from version {served.current_version} to {target}"
    return RollbackResult(store.serve_path, served.current_version, target, message)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rollback",
        help="serve an archived version of the marts again (default: the previous one)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "version_id",
        nargs="?",
        default=None,
        help="archived version to serve (default: the one published before the served one)",
    )
    parser.add_argument(
        "--serve-path",
        type=Path,
        default=None,
        help=f"the serving file (default: env {SERVE_PATH_ENV} or data/serve/shopfunnel.duckdb)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        result = rollback(args.serve_path, args.version_id)
    except ServeError as exc:
        print(f"rollback: error: {exc}", file=sys.stderr)
        return 1
    print(f"rollback: {result.message}")
    return 0
