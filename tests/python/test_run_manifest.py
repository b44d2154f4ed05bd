"""The run manifest keeps a warehouse true to its raw files.

An incremental run reads only the files no earlier run processed. A file that was processed
and is then rewritten in place, or removed (or var raw_path pointed at another folder),
would leave rows no raw file backs: the run must stop before building anything, naming the
file and the way out (``--full-refresh``), and a full refresh must then succeed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow


def _dbt(repo: Path, db: Path, raw: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DUCKDB_PATH": str(db),
        "DBT_PROFILES_DIR": str(repo),
        "DBT_TARGET_PATH": str(work / "target"),
        "DBT_LOG_PATH": str(work / "logs"),
    }
    dbt = str(Path(sys.executable).with_name("dbt"))
    return subprocess.run(
        [dbt, *args, "--vars", json.dumps({"raw_path": str(raw)})],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_processed_file_rewritten_or_gone_stops_the_run(repo_root: Path, tmp_path: Path) -> None:
    raw, db = tmp_path / "raw", tmp_path / "warehouse.duckdb"
    subprocess.run(
        [sys.executable, "-m", "shopfunnel", "generate", "--visitors", "300", "--days", "10",
         "--seed", "5", "--out", str(raw), "--quiet"],
        check=True,
    )  # fmt: skip
    seeded = _dbt(repo_root, db, raw, tmp_path, "seed")
    assert seeded.returncode == 0, seeded.stdout[-4000:]
    first = _dbt(repo_root, db, raw, tmp_path, "run")
    assert first.returncode == 0, first.stdout[-4000:]

    # nothing new: an incremental run reads no file and succeeds
    again = _dbt(repo_root, db, raw, tmp_path, "run")
    assert again.returncode == 0, again.stdout[-4000:]
    with duckdb.connect(str(db), read_only=True) as con:
        runs = con.execute(
            "select status, files_read from ops.pipeline_runs order by started_at"
        ).fetchall()
    assert runs[-1] == ("success", 0), runs

    # a copy with a new modification time only is no change; a rewrite with other rows is
    rewritten = sorted((raw / "orders").glob("*.parquet"))[0]
    stat = rewritten.stat()
    os.utime(rewritten, (stat.st_atime, stat.st_mtime + 3600))
    touched = _dbt(repo_root, db, raw, tmp_path, "run")
    assert touched.returncode == 0, touched.stdout[-4000:]
    with duckdb.connect() as con:
        one_row = tmp_path / "one.parquet"
        con.execute(f"copy (select * from read_parquet('{rewritten}') limit 1) to '{one_row}'")
    (tmp_path / "one.parquet").replace(rewritten)
    gone = sorted((raw / "members").glob("*.parquet"))[0]
    gone.rename(tmp_path / gone.name)

    stopped = _dbt(repo_root, db, raw, tmp_path, "run")
    assert stopped.returncode != 0
    message = " ".join(stopped.stdout.split())
    assert "2 raw file(s) processed by earlier runs are gone" in message, message[-3000:]
    assert f"raw table members: {gone} is gone" in message
    assert f"raw table orders: {rewritten} changed since it was processed" in message
    assert "dbt build --full-refresh" in message
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from ops.pipeline_runs").fetchall() == [(3,)]

    rebuilt = _dbt(repo_root, db, raw, tmp_path, "run", "--full-refresh")
    assert rebuilt.returncode == 0, rebuilt.stdout[-4000:]
    with duckdb.connect(str(db), read_only=True) as con:
        processed = con.execute(
            "select count(*), count(*) filter (where file_path = ?), "
            "count(*) filter (where file_path = ?) from ops.processed_raw_files",
            [str(gone), str(rewritten)],
        ).fetchall()
    assert processed[0][0] > 0 and processed[0][1:] == (0, 1), processed
