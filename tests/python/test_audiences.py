"""Audience exports and audience rules.

The export tests build a tiny warehouse by hand (no dbt, no env needed). The tests marked
e2e re-check the built test warehouse from Python: the holdout recomputed with hashlib, the
contact hashes recomputed from the clear values, and a real export with no holdout person
and no clear-text contact data in it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import re
from pathlib import Path

import duckdb
import pytest
import yaml

from shopfunnel import cli
from shopfunnel.export import AUDIENCES, export_audiences

DEV_SALT = "shopfunnel-dev-salt"
PHONE_CHARACTERS = re.compile(r"^[+0-9 ()-]+$")


def _looks_like_phone(value: str) -> bool:
    """A Korean phone number however written: 010-1234-5678, 01012345678, +82 10 ..."""
    digits = re.sub(r"[^0-9]", "", value)
    return (
        bool(PHONE_CHARACTERS.match(value.strip()))
        and digits.startswith(("01", "82"))
        and 10 <= len(digits) <= 13
    )


def _write_tiny_warehouse(db: Path) -> None:
    """Three small audiences (one empty) and their lift rows, as dbt would leave them."""
    con = duckdb.connect(str(db))
    con.execute("""
        create schema marts;
        create table marts.aud_signup_retargeting as
            select * from (values
                ('anon_a', 'a', 'aud_signup_retargeting', false, date '2026-03-01'),
                ('anon_b', 'b', 'aud_signup_retargeting', false, date '2026-03-01'),
                ('anon_c', 'c', 'aud_signup_retargeting', true, date '2026-03-01')
            ) as rows (person_id, anonymous_id, audience_name, is_holdout, as_of_date);
        create table marts.aud_first_purchase_coupon as
            select * from (values
                ('mbr_1', '1', 'e1', 'p1', false, date '2026-03-01'),
                ('mbr_2', '2', 'e2', null, true, date '2026-03-01')
            ) as rows (person_id, member_id, email_sha256, phone_sha256, is_holdout, as_of_date);
        create table marts.aud_vip_new_release_sms (
            person_id varchar, phone_sha256 varchar, is_holdout boolean, as_of_date date
        );
        create table marts.rpt_audience_lift as
            select * from (values
                ('aud_signup_retargeting', date '2026-03-01'),
                ('aud_first_purchase_coupon', date '2026-03-01'),
                ('aud_vip_new_release_sms', date '2026-03-01')
            ) as rows (audience_name, as_of_date);
    """)
    con.close()


@pytest.fixture()
def tiny_db(tmp_path: Path) -> Path:
    db = tmp_path / "tiny.duckdb"
    _write_tiny_warehouse(db)
    return db


def test_export_writes_csv_parquet_and_sidecar_without_holdout(tiny_db, tmp_path) -> None:
    out = tmp_path / "exports"
    summaries = {summary["audience"]: summary for summary in export_audiences(tiny_db, out)}
    assert set(summaries) == set(AUDIENCES)

    retargeting = summaries["aud_signup_retargeting"]
    folder = out / "aud_signup_retargeting"
    assert retargeting["rows"] == 2 and retargeting["holdout_rows"] == 1
    assert retargeting["files"] == [
        "aud_signup_retargeting_2026-03-01_2rows.csv",
        "aud_signup_retargeting_2026-03-01_2rows.parquet",
    ]
    with (folder / retargeting["files"][0]).open() as handle:
        rows = list(csv.DictReader(handle))
    assert [row["person_id"] for row in rows] == ["anon_a", "anon_b"]
    assert "is_holdout" not in rows[0]
    parquet = duckdb.sql(
        f"select person_id from read_parquet('{folder / retargeting['files'][1]}') order by 1"
    ).fetchall()
    assert parquet == [("anon_a",), ("anon_b",)]
    sidecar = json.loads((folder / "aud_signup_retargeting_2026-03-01.json").read_text())
    assert sidecar["rows"] == 2 and sidecar["holdout_rows"] == 1
    assert sidecar["as_of_date"] == "2026-03-01"
    assert "is_holdout" not in sidecar["columns"]

    coupon = summaries["aud_first_purchase_coupon"]
    assert coupon["rows"] == 1 and coupon["holdout_rows"] == 1

    # an empty audience still gets its (empty) files, named with the as-of date
    sms = summaries["aud_vip_new_release_sms"]
    assert sms["rows"] == 0 and sms["as_of_date"] == "2026-03-01"
    assert (out / "aud_vip_new_release_sms" / sms["files"][0]).exists()


def test_export_replaces_files_of_the_same_as_of_date(tiny_db, tmp_path) -> None:
    out = tmp_path / "exports"
    export_audiences(tiny_db, out)
    con = duckdb.connect(str(tiny_db))
    con.execute("delete from marts.aud_signup_retargeting where person_id = 'anon_b'")
    con.close()
    export_audiences(tiny_db, out)
    names = sorted(path.name for path in (out / "aud_signup_retargeting").iterdir())
    assert names == [
        "aud_signup_retargeting_2026-03-01.json",
        "aud_signup_retargeting_2026-03-01_1rows.csv",
        "aud_signup_retargeting_2026-03-01_1rows.parquet",
    ]


def test_phone_detector() -> None:
    assert _looks_like_phone("010-1234-5678") and _looks_like_phone("+82 10 1234 5678")
    assert not _looks_like_phone("2026-04-01") and not _looks_like_phone("a1b2")


def test_export_refuses_clear_text_contact_columns(tiny_db, tmp_path) -> None:
    con = duckdb.connect(str(tiny_db))
    con.execute("alter table marts.aud_first_purchase_coupon add column email varchar")
    con.close()
    with pytest.raises(ValueError, match="clear-text"):
        export_audiences(tiny_db, tmp_path / "exports")


def test_export_command_uses_env_folder(tiny_db, tmp_path, monkeypatch, capsys) -> None:
    out = tmp_path / "from_env"
    monkeypatch.setenv("SHOPFUNNEL_EXPORT_DIR", str(out))
    assert cli.main(["export", "--db", str(tiny_db)]) == 0
    printed = capsys.readouterr().out
    assert "aud_signup_retargeting" in printed and str(out) in printed
    assert (
        out / "aud_first_purchase_coupon" / "aud_first_purchase_coupon_2026-03-01.json"
    ).exists()


def test_export_command_without_database(tmp_path, capsys) -> None:
    missing = tmp_path / "missing.duckdb"
    assert cli.main(["export", "--db", str(missing), "--out", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err


# ---------------------------------------------------------------- on the built warehouse


def _holdout_draw(person_id: str, audience: str, as_of_date: str, seed: int) -> float:
    """Macro is_in_holdout, re-written: md5 of the key, first 13 hex digits, in [0, 1)."""
    digest = hashlib.md5(f"{person_id}|{audience}|{as_of_date}|{seed}".encode()).hexdigest()
    return int(digest[:13], 16) / 16**13


def _salted_sha256(value: str) -> str:
    salt = os.environ.get("SHOPFUNNEL_HASH_SALT", DEV_SALT)
    return hashlib.sha256((salt + value).encode()).hexdigest()


def _e164(phone: str) -> str:
    digits = re.sub(r"[^0-9]", "", phone)
    return "+82" + re.sub(r"^(82)?0?", "", digits)


@pytest.mark.e2e
def test_holdout_matches_the_seeded_hash(built_db, repo_root) -> None:
    project_vars = yaml.safe_load((repo_root / "dbt_project.yml").read_text())["vars"]
    seed, share = project_vars["holdout_seed"], project_vars["holdout_share"]
    total = held = 0
    for audience in AUDIENCES:
        rows = built_db.execute(
            f"select person_id, cast(as_of_date as varchar), is_holdout from marts.{audience}"
        ).fetchall()
        for person_id, as_of_date, is_holdout in rows:
            expected = _holdout_draw(person_id, audience, as_of_date, seed) < share
            assert is_holdout == expected, (audience, person_id)
        total += len(rows)
        held += sum(1 for row in rows if row[2])
    assert total > 1000
    assert abs(held / total - share) < 4 * math.sqrt(share * (1 - share) / total)


@pytest.mark.e2e
def test_contact_hashes_are_of_the_normalised_values(built_db) -> None:
    rows = built_db.execute("""
        select members.email, members.phone, coupon.email_sha256, coupon.phone_sha256
        from marts.aud_first_purchase_coupon as coupon
        inner join staging.stg_shop__members as members using (member_id)
        union all
        select members.email, members.phone, null, sms.phone_sha256
        from marts.aud_vip_new_release_sms as sms
        inner join staging.stg_shop__members as members using (member_id)
    """).fetchall()
    assert rows
    for email, phone, email_sha256, phone_sha256 in rows:
        if email_sha256 is not None:
            assert email_sha256 == _salted_sha256(email.strip().lower())
        if phone:
            assert phone_sha256 == _salted_sha256(_e164(phone))


@pytest.mark.e2e
def test_real_export_has_no_holdout_and_no_clear_text(test_db_path, built_db, tmp_path) -> None:
    summaries = export_audiences(test_db_path, tmp_path)
    clear_emails = {
        row[0].strip().lower()
        for row in built_db.execute(
            "select email from staging.stg_shop__members where email is not null"
        ).fetchall()
    }
    for summary in summaries:
        audience = summary["audience"]
        held_out = {
            row[0]
            for row in built_db.execute(
                f"select person_id from marts.{audience} where is_holdout"
            ).fetchall()
        }
        folder = tmp_path / audience
        with (folder / summary["files"][0]).open() as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == summary["rows"]
        assert f"_{summary['rows']}rows.csv" in summary["files"][0]
        assert not held_out & {row["person_id"] for row in rows}
        for row in rows:
            for value in row.values():
                assert "@" not in value and value.strip().lower() not in clear_emails
                assert not _looks_like_phone(value), (audience, value)
        parquet_rows = duckdb.sql(
            f"select count(*) from read_parquet('{folder / summary['files'][1]}')"
        ).fetchall()[0][0]
        assert parquet_rows == summary["rows"]
