"""The ``export`` command: write each audience for the marketing tools.

For every audience model it writes the persons outside the holdout to
``<out>/<audience>/<audience>_<as-of date>_<rows>rows.csv`` and ``.parquet``, plus a sidecar
``<audience>_<as-of date>.json`` with the row count, the holdout size, the as-of date and the
columns. Holdout persons are never exported (they measure the lift in rpt_audience_lift).
The DuckDB file is opened read-only.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import duckdb

AUDIENCES = ("aud_signup_retargeting", "aud_first_purchase_coupon", "aud_vip_new_release_sms")
# columns the marketing tools need; internal flags stay in the warehouse
DROPPED_COLUMNS = ("is_holdout",)


# clear-text contact columns must never reach an export (the marts hold hashes only)
FORBIDDEN_COLUMNS = ("email", "phone")


def _sql_path(path: Path) -> str:
    """A file path as a SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def _as_of_date(con: duckdb.DuckDBPyConnection, audience: str) -> str:
    """The audience's as-of date (from rpt_audience_lift, which has a row per audience even
    when the audience is empty); 'empty' when it cannot be known."""
    rows = con.execute(
        "select max(as_of_date) from marts.rpt_audience_lift where audience_name = ?", [audience]
    ).fetchall()
    if rows and rows[0][0] is not None:
        return str(rows[0][0])
    rows = con.execute(f"select max(as_of_date) from marts.{audience}").fetchall()
    return str(rows[0][0]) if rows and rows[0][0] is not None else "empty"


def export_audiences(db: Path, out: Path) -> list[dict]:
    """Write every audience's export files; return one summary per audience."""
    con = duckdb.connect(str(db), read_only=True)
    summaries = []
    try:
        for audience in AUDIENCES:
            relation = f"marts.{audience}"
            columns = [
                row[0]
                for row in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'marts' and table_name = ? order by ordinal_position",
                    [audience],
                ).fetchall()
            ]
            if not columns:
                raise LookupError(f"{relation} not found in {db}: run dbt build first")
            clear_text = [column for column in columns if column.lower() in FORBIDDEN_COLUMNS]
            if clear_text:
                raise ValueError(
                    f"{relation} holds clear-text contact columns {clear_text}: refusing to export"
                )
            kept = [column for column in columns if column not in DROPPED_COLUMNS]
            exported, holdout = con.execute(
                f"select count(*) filter (where not is_holdout), "
                f"count(*) filter (where is_holdout) from {relation}"
            ).fetchall()[0]
            as_of_text = _as_of_date(con, audience)
            folder = out / audience
            folder.mkdir(parents=True, exist_ok=True)
            stem = f"{audience}_{as_of_text}_{exported}rows"
            select = (
                f"select {', '.join(kept)} from {relation} where not is_holdout order by person_id"
            )
            for old in folder.glob(f"{audience}_{as_of_text}_*rows.*"):
                old.unlink()
            csv_file = folder / f"{stem}.csv"
            parquet_file = folder / f"{stem}.parquet"
            con.execute(f"copy ({select}) to {_sql_path(csv_file)} (format csv, header)")
            con.execute(f"copy ({select}) to {_sql_path(parquet_file)} (format parquet)")
            summary = {
                "audience": audience,
                "as_of_date": as_of_text,
                "rows": int(exported),
                "holdout_rows": int(holdout),
                "columns": kept,
                "files": [csv_file.name, parquet_file.name],
            }
            (folder / f"{audience}_{as_of_text}.json").write_text(json.dumps(summary, indent=2))
            summary["folder"] = str(folder)
            summaries.append(summary)
    finally:
        con.close()
    return summaries


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write every audience (without its holdout) to CSV and Parquet files",
        description="Export the audience marts of a built DuckDB file for marketing tools: "
        "CSV and Parquet per audience with the as-of date and row count in the file name, "
        "and a JSON sidecar. Holdout persons are left out.",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=Path("data/shopfunnel.duckdb"),
        help="the built DuckDB file (default data/shopfunnel.duckdb)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(os.environ.get("SHOPFUNNEL_EXPORT_DIR", "exports")),
        help="export folder (default: env SHOPFUNNEL_EXPORT_DIR, else exports/)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.db.exists():
        print(f"export: {args.db} not found: run `make demo` (or dbt build) first", file=sys.stderr)
        return 2
    try:
        summaries = export_audiences(args.db, args.out)
    except (LookupError, ValueError, duckdb.Error) as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 2
    for summary in summaries:
        print(
            f"{summary['audience']:<28} {summary['rows']:>7,} rows "
            f"(+{summary['holdout_rows']:,} held out), as of {summary['as_of_date']} "
            f"-> {summary['folder']}/{summary['files'][0]} (+ .parquet, .json)"
        )
    return 0
