"""The serving location: the served file, its archived versions, the publisher's lock.

Layout for the serving file ``data/serve/shopfunnel.duckdb``::

    data/serve/shopfunnel.duckdb                      what BI tools open (read-only)
    data/serve/shopfunnel.versions/<version>.duckdb   the last N published versions
    data/serve/shopfunnel.versions/.lock              held while one publish or rollback runs

The served file is only ever replaced by a rename (``os.replace``) of a complete file
written next to it: on POSIX a reader that has the old file open keeps reading the old
inode, and a new open sees either the old or the new file, never a partial one. Nothing
ever opens the served file for writing.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

SERVE_PATH_ENV = "SHOPFUNNEL_SERVE_PATH"
DEFAULT_SERVE_PATH = Path("data/serve/shopfunnel.duckdb")
# The oldest DuckDB release that can open a serving file (BI tools lag behind).
SERVE_STORAGE_VERSION = "v1.4.0"
DEFAULT_KEEP = 5
# version ids: UTC time of the publication, e.g. 20260401T061502Z (a suffix -2, -3 on a clash)
VERSION_ID = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")


class ServeError(Exception):
    """A publish, rollback or listing that cannot be done; the message says why."""


def default_serve_path() -> Path:
    """``SHOPFUNNEL_SERVE_PATH`` or ``data/serve/shopfunnel.duckdb``."""
    value = os.environ.get(SERVE_PATH_ENV)
    return Path(value) if value else DEFAULT_SERVE_PATH


def sql_string(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@dataclass(frozen=True)
class ServeStore:
    """The served file and its versions folder."""

    serve_path: Path

    @classmethod
    def at(cls, serve_path: Path | None = None) -> ServeStore:
        return cls((serve_path or default_serve_path()).absolute())

    @property
    def versions_dir(self) -> Path:
        return self.serve_path.with_name(self.serve_path.stem + ".versions")

    def archive_path(self, version_id: str) -> Path:
        if not VERSION_ID.match(version_id):
            raise ServeError(
                f"{version_id!r} is not a version id (like 20260401T061502Z); "
                "list them with `python -m shopfunnel versions`"
            )
        return self.versions_dir / f"{version_id}.duckdb"

    def archived_versions(self) -> list[str]:
        """Version ids with an archived file, oldest first."""
        if not self.versions_dir.is_dir():
            return []
        ids = [
            path.stem for path in self.versions_dir.glob("*.duckdb") if VERSION_ID.match(path.stem)
        ]
        return sorted(ids, key=_version_sort_key)

    def new_version_id(self, known: set[str], now: float | None = None) -> str:
        """A new id from the UTC time, unlike any archived or `known` (logged) id."""
        stamp = time.strftime(
            "%Y%m%dT%H%M%SZ", time.gmtime(now if now is not None else time.time())
        )
        taken = set(self.archived_versions()) | known
        candidate, number = stamp, 1
        while candidate in taken:
            number += 1
            candidate = f"{stamp}-{number}"
        return candidate

    @contextmanager
    def lock(self, timeout_seconds: float = 600.0) -> Iterator[None]:
        """One publish or rollback at a time (an advisory lock on the versions folder)."""
        self.versions_dir.mkdir(parents=True, exist_ok=True)
        handle = open(self.versions_dir / ".lock", "a+")  # noqa: SIM115 (held for the block)
        try:
            deadline = time.monotonic() + timeout_seconds
            announced = False
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise ServeError(
                            f"another publish or rollback holds {self.versions_dir}/.lock "
                            f"for more than {timeout_seconds:.0f}s"
                        ) from None
                    if not announced:
                        print(
                            "serve: waiting for another publish or rollback to finish", flush=True
                        )
                        announced = True
                    time.sleep(0.2)
            yield
        finally:
            handle.close()  # releases the lock

    def scratch_path(self, version_id: str) -> Path:
        """Where a new version is written before it is complete (same folder as the archive)."""
        return self.versions_dir / f".{version_id}.duckdb.partial"

    def install(self, complete_file: Path) -> None:
        """Make a copy of `complete_file` the served file, atomically.

        The copy is written next to the served file (same file system), flushed to disk,
        then renamed over it. The archive stays untouched, whatever a client does to the
        served file.
        """
        self.serve_path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.serve_path.with_name(f".{self.serve_path.name}.{os.getpid()}.incoming")
        try:
            shutil.copyfile(complete_file, temporary)
            with open(temporary, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(temporary, self.serve_path)
            _fsync_dir(self.serve_path.parent)
        finally:
            temporary.unlink(missing_ok=True)

    def prune(self, keep: int, protect: set[str]) -> list[str]:
        """Delete archived versions beyond the newest `keep` (never one in `protect`)."""
        versions = self.archived_versions()
        surplus = versions[: max(len(versions) - keep, 0)]
        removed = []
        for version_id in surplus:
            if version_id in protect:
                continue
            self.archive_path(version_id).unlink(missing_ok=True)
            removed.append(version_id)
        return removed


def _version_sort_key(version_id: str) -> tuple[str, int]:
    stamp, _, number = version_id.partition("-")
    return stamp, int(number or 1)


@contextmanager
def attach_read_only(path: Path, alias: str = "src") -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB with `path` attached read-only as `alias`.

    ATTACH (rather than ``duckdb.connect(path)``) always opens the file now at `path`:
    ``connect`` would reuse a database instance this process already has open on an older
    file of the same name (DuckDB's instance cache), that is an old served version.
    """
    con = duckdb.connect(":memory:")
    try:
        try:
            con.execute(f"attach {sql_string(str(path))} as {alias} (read_only)")
        except duckdb.Error as exc:
            raise ServeError(f"cannot open {path} read-only: {exc}") from exc
        yield con
    finally:
        con.close()


def storage_version(con: duckdb.DuckDBPyConnection, alias: str) -> str:
    """The storage version tag of an attached database (e.g. ``v1.4.0+``)."""
    rows = con.execute(
        "select tags from duckdb_databases() where database_name = ?", [alias]
    ).fetchall()
    if not rows:
        return "unknown"
    tags = rows[0][0] or {}
    return str(tags.get("storage_version", "unknown"))
