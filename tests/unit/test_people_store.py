"""People in the history: stored per session, listed, renamed, forgotten; the migration of
a history written by the previous release (schema 2) keeps every session.

``tests/fixtures/history_schema2.sqlite3`` was written by posecheck 0.1.0 at commit 5f81ded
(schema 2, before people existed) with ``Store.add_session`` on ``make_history(3)`` plus one
interrupted live session: 7 sessions, both rotation stretches, two holds per side.
"""

from __future__ import annotations

import csv
import io
import shutil
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from test_store import START, make_summary

from posecheck.errors import StoreError
from posecheck.store import (
    CSV_OPTIONAL_COLUMNS,
    DEFAULT_PERSON,
    SCHEMA_VERSION,
    Store,
    clean_person,
    export_csv,
    import_csv,
)

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "history_schema2.sqlite3"


def _counts(path: Path) -> tuple[int, int, int, list[str]]:
    conn = sqlite3.connect(path)
    try:
        n = [int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
             for t in ("sessions", "results", "holds")]  # fmt: skip
        uids = [str(r[0]) for r in conn.execute("SELECT uid FROM sessions ORDER BY id")]
    finally:
        conn.close()
    return n[0], n[1], n[2], uids


def test_migrates_a_schema_2_history_in_place_keeping_every_session(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite3"
    shutil.copy(FIXTURE, db)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    columns = {r[1] for r in conn.execute("PRAGMA table_info(sessions)")}
    conn.close()
    assert "person" not in columns  # really the old schema
    before = _counts(db)
    assert before[0] == 7 and before[2] > 0

    with Store.open(db) as store:
        assert store.schema_version == SCHEMA_VERSION == 3
        sessions = store.sessions()
        assert [p.name for p in store.people()] == [DEFAULT_PERSON]
        assert store.people()[0].sessions == 7
        assert {s.person for s in sessions} == {DEFAULT_PERSON}
        assert all(r.end_range_s is None for s in sessions for r in s.results)
        assert any(s.interrupted for s in sessions)
        # the range gained across holds comes from the stored holds: 2nd peak - 1st = -1°
        gains = {r.range_gained_deg for s in sessions for r in s.results}
        assert gains == {-1.0}
        store.add_session(make_summary(content="new"), person="Anna")
    after = _counts(db)
    assert after[3][:7] == before[3]  # same sessions, same uids, none lost
    assert after[0] == 8
    with Store.open(db) as store:  # opening again migrates nothing and keeps everything
        assert [p.sessions for p in store.people()] == [1, 7]


def test_people_are_stored_listed_and_matched_ignoring_case(tmp_path: Path) -> None:
    with Store.open(tmp_path / "h.sqlite3") as store:
        store.add_session(make_summary(content="a1"), person="Anna Berg")
        store.add_session(make_summary(content="a2", started_at=START + timedelta(days=9)),
                          person="anna berg ")  # fmt: skip
        store.add_session(make_summary(content="b1"), person="Ben")
        store.add_session(make_summary(content="me"))
        people = store.people()
        assert [(p.name, p.sessions) for p in people] == [
            ("Anna Berg", 2), ("Ben", 1), (DEFAULT_PERSON, 1)]
        assert people[0].first_started_at == "2026-10-01T18:30:00Z"
        assert people[0].last_started_at == "2026-10-10T18:30:00Z"
        assert {s.person for s in store.sessions(person="ANNA BERG")} == {"Anna Berg"}
        assert len(store.sessions(person="Ben")) == 1
        assert store.sessions(person="Nobody") == []


def test_rename_and_delete_a_person(tmp_path: Path) -> None:
    with Store.open(tmp_path / "h.sqlite3") as store:
        store.add_session(make_summary(content="a1"), person="anna")
        store.add_session(make_summary(content="a2"), person="anna")
        store.add_session(make_summary(content="b1"), person="Ben")
        with pytest.raises(StoreError, match="already has sessions"):
            store.rename_person("anna", "ben")
        assert store.rename_person("anna", "Anna") == 2  # a change of case is fine
        with pytest.raises(StoreError, match=r"No sessions of 'Carl'.*people: Anna, Ben"):
            store.rename_person("Carl", "Dora")
        assert store.delete_person("ANNA") == 2
        assert [p.name for p in store.people()] == ["Ben"]


@pytest.mark.parametrize("name", ["x" * 61, "tab\there"])
def test_bad_person_names_are_refused(name: str) -> None:
    with pytest.raises(StoreError, match="person name"):
        clean_person(name)


def test_csv_export_of_one_person_and_import_under_another(tmp_path: Path) -> None:
    src = tmp_path / "a.sqlite3"
    with Store.open(src) as store:
        store.add_session(make_summary(content="a1", left=11.5), person="Anna")
        store.add_session(make_summary(content="b1", left=44.5), person="Ben")
        buf = io.StringIO()
        assert export_csv(store, buf, person="Anna") == 1
    text = buf.getvalue()
    assert "Ben" not in text and "44.5" not in text
    with Store.open(tmp_path / "b.sqlite3") as other:
        assert import_csv(other, io.StringIO(text)).added == 1
        assert [p.name for p in other.people()] == ["Anna"]
    with Store.open(tmp_path / "c.sqlite3") as other:
        assert import_csv(other, io.StringIO(text), person="Anna Berg").added == 1
        assert [p.name for p in other.people()] == ["Anna Berg"]


def test_csv_of_the_previous_release_imports_to_the_default_person(tmp_path: Path) -> None:
    with Store.open(tmp_path / "a.sqlite3") as store:
        store.add_session(make_summary(content="a1"), person="Anna")
        buf = io.StringIO()
        export_csv(store, buf)
    rows = list(csv.DictReader(io.StringIO(buf.getvalue())))
    old = io.StringIO()
    writer = csv.DictWriter(old, [c for c in rows[0] if c not in CSV_OPTIONAL_COLUMNS],
                            extrasaction="ignore", lineterminator="\n")  # fmt: skip
    writer.writeheader()
    writer.writerows(rows)
    with Store.open(tmp_path / "b.sqlite3") as other:
        assert import_csv(other, io.StringIO(old.getvalue())).added == 1
        assert [p.name for p in other.people()] == [DEFAULT_PERSON]


def test_report_of_a_migrated_history_says_what_older_sessions_lack(tmp_path: Path) -> None:
    from posecheck.report_html import render_html

    db = tmp_path / "old.sqlite3"
    shutil.copy(FIXTURE, db)
    with Store.open(db) as store:
        page = render_html(store.sessions(person=DEFAULT_PERSON))
    assert "Hip rotation progress: me" in page
    assert "not recorded (the session was stored by an older posecheck" in page
    assert "stored by an older posecheck that did not record the camera set-up" in page
    assert "Camera set-up changed" not in page
