"""Tests of the history store: add/dedup/query/delete, CSV round trip, safety on open,
migrations and two writers at once.

``make_summary`` / ``make_history`` build summary dicts following docs/summary.md; the
report and CLI tests import them from here.
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from posecheck.errors import StoreError
from posecheck.store import (
    APPLICATION_ID,
    MIGRATIONS,
    SCHEMA_VERSION,
    Store,
    _migrate,
    export_csv,
    import_csv,
    resolve_db_path,
)

START = datetime(2026, 10, 1, 18, 30, tzinfo=UTC)


def make_side(peak: float, hold_s: float, *, direction: int = 1) -> dict[str, Any]:
    """One SIDE dict for a stretch whose measured angle peaks at ``peak`` degrees."""
    rotation = direction * peak
    holds = []
    if hold_s > 0:
        holds = [
            {"start_s": 2.0, "end_s": 2.0 + hold_s * 0.6, "duration_s": hold_s * 0.6,
             "peak_deg": peak, "mean_deg": peak - 3.0},
            {"start_s": 40.0, "end_s": 40.0 + hold_s * 0.4, "duration_s": hold_s * 0.4,
             "peak_deg": peak - 1.0, "mean_deg": peak - 4.0},
        ]  # fmt: skip
    return {
        "peak_rotation_deg": rotation,
        "peak_internal_deg": max(rotation, 0.0),
        "peak_external_deg": max(-rotation, 0.0) or 3.5,
        "peak_measured_deg": peak,
        "total_hold_s": hold_s,
        "time_in_target_s": hold_s + 1.5,
        "mean_confidence": 0.83,
        "frames_measured": 280,
        "neutral_offset_deg": 2.1,
        "holds": holds,
    }


def make_summary(
    *,
    left: float = 22.0,
    right: float = 30.0,
    hold_s: float = 25.0,
    started_at: datetime = START,
    kind: str = "video",
    input_name: str = "samples/session.mp4",
    stretch: str | None = "internal-rotation",
    threshold: float = 20.0,
    content: str | None = "video-1",
    interrupted: bool = False,
) -> dict[str, Any]:
    """A summary.json dict (docs/summary.md); ``content`` seeds the content hash."""
    direction = -1 if stretch == "external-rotation" else 1
    sides = {"left": make_side(left, hold_s, direction=direction),
             "right": make_side(right, hold_s * 1.2, direction=direction)}  # fmt: skip
    name = stretch or "internal-rotation"
    live = kind == "live"
    return {
        "schema": 1,
        "posecheck_version": "0.1.0",
        "kind": kind,
        "input": "camera:0" if live else input_name,
        "content_sha256": None if live or content is None
        else hashlib.sha256(content.encode()).hexdigest(),
        "started_at": started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": {"name": "pose_landmarker_full.task", "sha256": "ab" * 32},
        "fps": 30.0,
        "frames": 1800,
        "frames_with_pose": 1790,
        "duration_s": 60.0,
        "interrupted": interrupted,
        "stretch": stretch,
        "threshold_deg": threshold if stretch else None,
        "sides": sides,
        "by_stretch": {name: {"threshold_deg": threshold, "sides": sides}},
    }  # fmt: skip


def make_history(weeks: int = 6) -> list[dict[str, Any]]:
    """Two sessions a week (IR and ER) with improving values; right IR 22 -> 31 degrees."""
    out = []
    for week in range(weeks):
        when = START + timedelta(days=7 * week)
        gain = 9.0 * week / max(weeks - 1, 1)
        out.append(
            make_summary(
                left=14.0 + gain * 0.2,
                right=22.0 + gain,
                hold_s=20.0 + 3 * week,
                started_at=when,
                content=f"ir-{week}",
            )
        )
        out.append(make_summary(left=30.0 + gain * 0.5, right=33.0 + gain * 0.4,
                                hold_s=15.0 + 2 * week, started_at=when + timedelta(minutes=20),
                                stretch="external-rotation", content=f"er-{week}"))  # fmt: skip
    return out


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "sub" / "history.sqlite3"


def test_new_file_created_with_parents_and_schema(db: Path) -> None:
    with Store.open(db) as store:
        assert store.schema_version == SCHEMA_VERSION
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_add_and_read_back(db: Path) -> None:
    summary = make_summary(left=21.5, right=30.25, hold_s=25.0)
    with Store.open(db) as store:
        sid = store.add_session(summary)
        assert sid is not None
        session = store.get_session(sid)
        assert store.summary(sid) == summary
    assert session.started_at == "2026-10-01T18:30:00Z"
    assert session.kind == "video" and not session.interrupted
    by_side = {r.side: r for r in session.results}
    assert by_side["left"].peak_measured_deg == 21.5
    assert by_side["right"].peak_rotation_deg == 30.25
    assert by_side["right"].total_hold_s == pytest.approx(30.0)
    assert len(by_side["left"].holds) == 2
    assert by_side["left"].holds[0].duration_s == pytest.approx(15.0)


def test_started_at_with_offset_is_stored_in_utc(db: Path) -> None:
    summary = make_summary()
    summary["started_at"] = "2026-11-26T22:04:05+01:00"
    with Store.open(db) as store:
        sid = store.add_session(summary)
        assert store.get_session(sid or 0).started_at == "2026-11-26T21:04:05Z"


def test_same_video_same_stretch_is_not_duplicated(db: Path) -> None:
    with Store.open(db) as store:
        first = store.add_session(make_summary())
        assert store.add_session(make_summary()) is None
        assert store.find_duplicate(make_summary()) == first
        # another threshold or another stretch is another measurement
        assert store.add_session(make_summary(threshold=25.0)) is not None
        assert store.add_session(make_summary(stretch="external-rotation")) is not None
        forced = store.add_session(make_summary(), force=True)
        assert forced is not None and forced != first
        assert len(store.sessions()) == 4


def test_add_or_find_reports_the_existing_session(db: Path) -> None:
    with Store.open(db) as store:
        first, added = store.add_or_find(make_summary())
        assert added
        assert store.add_or_find(make_summary()) == (first, False)
        forced, added = store.add_or_find(make_summary(), force=True)
        assert added and forced != first


def test_live_sessions_are_never_deduplicated(db: Path) -> None:
    with Store.open(db) as store:
        assert store.add_session(make_summary(kind="live")) is not None
        assert store.add_session(make_summary(kind="live")) is not None
        assert len(store.sessions()) == 2


def test_bad_summary_writes_nothing(db: Path) -> None:
    bad = make_summary()
    bad["by_stretch"]["internal-rotation"]["sides"]["right"]["holds"] = [{"start_s": "soon"}]
    with Store.open(db) as store:
        with pytest.raises(StoreError, match="number"):
            store.add_session(bad)
        assert store.sessions() == []
        assert store._conn.execute("SELECT count(*) FROM results").fetchone()[0] == 0


def test_failure_midway_rolls_back_the_whole_session(db: Path, monkeypatch: Any) -> None:
    import posecheck.store as store_mod

    calls = {"n": 0}
    real = store_mod._insert_result

    def fail_second(conn: sqlite3.Connection, sid: int, result: dict[str, Any]) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise sqlite3.OperationalError("disk I/O error (simulated)")
        real(conn, sid, result)

    monkeypatch.setattr(store_mod, "_insert_result", fail_second)
    with Store.open(db) as store:
        with pytest.raises(StoreError, match=r"simulated.*nothing was stored"):
            store.add_session(make_summary())
        counts = [store._conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in ("sessions", "results", "holds")]  # fmt: skip
    assert calls["n"] == 2 and counts == [0, 0, 0]


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda s: s.update(schema=2), "schema"),
        (lambda s: s.update(kind="dream"), "kind"),
        (lambda s: s.pop("started_at"), "started_at"),
        (lambda s: s.update(started_at="last tuesday"), "ISO 8601"),
        (lambda s: s.update(by_stretch=[1, 2]), "by_stretch"),
        (lambda s: s["by_stretch"]["internal-rotation"]["sides"].update(middle={}), "middle"),
    ],
)
def test_invalid_summaries_are_rejected(db: Path, mutate: Any, message: str) -> None:
    summary = make_summary()
    mutate(summary)
    with Store.open(db) as store, pytest.raises(StoreError, match=message):
        store.add_session(summary)


def test_interrupted_flag_is_kept(db: Path) -> None:
    with Store.open(db) as store:
        sid = store.add_session(make_summary(kind="live", interrupted=True))
        assert store.get_session(sid or 0).interrupted is True


def test_filters_and_order(db: Path) -> None:
    with Store.open(db) as store:
        for summary in make_history(weeks=4):
            store.add_session(summary)
        everything = store.sessions()
        assert len(everything) == 8
        starts = [s.started_at for s in everything]
        assert starts == sorted(starts, reverse=True)
        er = store.sessions(stretch="external-rotation")
        assert len(er) == 4 and all(r.stretch == "external-rotation" for s in er for r in s.results)
        right = store.sessions(side="right")
        assert all([r.side for r in s.results] == ["right"] for s in right)
        since = store.sessions(since=START + timedelta(days=14))
        assert len(since) == 4
        assert store.sessions(stretch="nope") == []


def test_delete_cascades(db: Path) -> None:
    with Store.open(db) as store:
        sid = store.add_session(make_summary()) or 0
        keep = store.add_session(make_summary(content="other")) or 0
        store.delete_session(sid)
        assert [s.id for s in store.sessions()] == [keep]
        assert store._conn.execute("SELECT count(*) FROM results").fetchone()[0] == 2
        assert store._conn.execute("SELECT count(*) FROM holds").fetchone()[0] == 4
        with pytest.raises(StoreError, match="no session 999"):
            store.delete_session(999)
        with pytest.raises(StoreError, match=f"no session {sid}"):
            store.get_session(sid)


# --- CSV round trip ------------------------------------------------------------------------


def _export(store: Store) -> str:
    buf = io.StringIO()
    export_csv(store, buf)
    return buf.getvalue()


def test_csv_round_trip_is_identical(tmp_path: Path) -> None:
    with Store.open(tmp_path / "a.sqlite3") as a:
        for summary in make_history(weeks=3):
            a.add_session(summary)
        a.add_session(make_summary(kind="live", interrupted=True, left=18.125))
        a.add_session(make_summary(), force=True)  # a deliberate duplicate survives the trip
        a.delete_session(2)  # a gap in the ids must not matter
        first = _export(a)
    with Store.open(tmp_path / "b.sqlite3") as b:
        result = import_csv(b, io.StringIO(first))
        assert (result.added, result.skipped) == (7, 0)
        second = _export(b)
        again = import_csv(b, io.StringIO(first))
        assert (again.added, again.skipped) == (0, 7)
    assert second == first
    assert first.count("\n") == 1 + 7 * 2  # header + one row per session x side


def test_import_skips_same_video_analysed_elsewhere(tmp_path: Path) -> None:
    with Store.open(tmp_path / "a.sqlite3") as a:
        a.add_session(make_summary())
        text = _export(a)
    with Store.open(tmp_path / "b.sqlite3") as b:
        b.add_session(make_summary())  # same video, different uid
        assert import_csv(b, io.StringIO(text)).skipped == 1


@pytest.mark.parametrize(
    "text, message",
    [
        ("a,b\n1,2\n", "missing columns"),
        ("", "missing columns"),
    ],
)
def test_import_rejects_foreign_csv(db: Path, text: str, message: str) -> None:
    with Store.open(db) as store, pytest.raises(StoreError, match=message):
        import_csv(store, io.StringIO(text))


def test_import_validates_before_writing(db: Path, tmp_path: Path) -> None:
    with Store.open(tmp_path / "a.sqlite3") as a:
        a.add_session(make_summary())
        a.add_session(make_summary(content="second"))
        lines = _export(a).splitlines(keepends=True)
    good = "2026-10-01T18:30:00Z"
    bad_date = [*lines[:-2], *(line.replace(good, "not-a-date") for line in lines[-2:])]
    inconsistent = [*lines[:-1], lines[-1].replace(good, "2026-10-02T18:30:00Z")]
    with Store.open(db) as store:
        with pytest.raises(StoreError, match="ISO 8601"):
            import_csv(store, io.StringIO("".join(bad_date)))
        with pytest.raises(StoreError, match="differs from its earlier rows"):
            import_csv(store, io.StringIO("".join(inconsistent)))
        assert store.sessions() == []


# --- opening safety ------------------------------------------------------------------------


def _open_fails_and_file_unchanged(path: Path, message: str) -> None:
    before = path.read_bytes()
    with pytest.raises(StoreError, match=message):
        Store.open(path)
    assert path.read_bytes() == before
    assert not Path(str(path) + "-wal").exists()


def test_random_bytes_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(os.urandom(8192))
    _open_fails_and_file_unchanged(path, "not a SQLite database")


def test_corrupt_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    with Store.open(path) as store:
        for summary in make_history(weeks=2):
            store.add_session(summary)
    data = bytearray(path.read_bytes())
    data[100:] = os.urandom(len(data) - 100)  # keep the 100-byte header, scramble the pages
    path.write_bytes(bytes(data))
    _open_fails_and_file_unchanged(path, "corrupt")


def test_foreign_sqlite_db_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE recipes (name TEXT)")
    conn.execute("INSERT INTO recipes VALUES ('soup')")
    conn.commit()
    conn.close()
    _open_fails_and_file_unchanged(path, "another application")


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    _open_fails_and_file_unchanged(path, "newer")


def test_directory_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="directory"):
        Store.open(tmp_path)


def test_empty_sqlite_file_becomes_a_history(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    sqlite3.connect(path).close()  # zero bytes, or an empty database: nothing to lose
    with Store.open(path) as store:
        assert store.add_session(make_summary()) == 1


def test_migration_from_version_1_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    _migrate(conn, 1)  # the schema of the first release (no uid column)
    conn.execute(
        "INSERT INTO sessions (started_at, kind, input, interrupted, summary_json, added_at) "
        "VALUES ('2026-09-01T10:00:00Z', 'video', 'old.mp4', 0, '{}', '2026-09-01T10:05:00Z')"
    )
    conn.execute("INSERT INTO results (session_id, stretch, side, peak_measured_deg) "
                 "VALUES (1, 'internal-rotation', 'left', 19.5)")  # fmt: skip
    conn.close()
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION == len(MIGRATIONS)
        (session,) = store.sessions()
        assert session.input == "old.mp4" and len(session.uid) == 32
        assert session.results[0].peak_measured_deg == 19.5
        assert store.add_session(make_summary()) == 2


def test_resolve_db_path_flag_beats_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("POSECHECK_DB", str(tmp_path / "env.sqlite3"))
    assert resolve_db_path(tmp_path / "flag.sqlite3") == tmp_path / "flag.sqlite3"
    assert resolve_db_path(None) == tmp_path / "env.sqlite3"
    monkeypatch.delenv("POSECHECK_DB")
    default = resolve_db_path(None)
    assert default.name == "history.sqlite3" and "posecheck" in str(default)


# --- two writers ---------------------------------------------------------------------------

WRITER = """
import sys
from datetime import timedelta
sys.path.insert(0, {tests!r})
from test_store import make_summary, START
from posecheck.store import Store
name, n = sys.argv[1], int(sys.argv[2])
with Store.open({db!r}) as store:
    for i in range(n):
        summary = make_summary(started_at=START + timedelta(minutes=i), content=f"{{name}}-{{i}}")
        assert store.add_session(summary) is not None
print("ok", name)
"""


def test_two_processes_writing_at_once_both_succeed(tmp_path: Path) -> None:
    db = tmp_path / "shared.sqlite3"
    code = WRITER.format(tests=str(Path(__file__).parent), db=str(db))
    procs = [
        subprocess.Popen([sys.executable, "-c", code, name, "40"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for name in ("a", "b")
    ]  # fmt: skip
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    with Store.open(db) as store:
        inputs = sorted(s.content_sha256 or "" for s in store.sessions())
    assert len(inputs) == 80 and len(set(inputs)) == 80
