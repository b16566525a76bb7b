"""What a posecheck history file is: its tables, built by numbered migrations, and the checks
that refuse (by reading only) a path that is no SQLite file, or a corrupt, foreign or
too-new database; SQLite errors about the file's situation (read-only, disk full, locked,
I/O) become one-line :class:`~posecheck.errors.StoreError` s.

Standard library only; used by :mod:`posecheck.store`.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from posecheck import __version__
from posecheck.errors import StoreError

APPLICATION_ID = 0x50534348  # "PSCH": marks a SQLite file as a posecheck history
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 15_000
DEFAULT_PERSON = "me"  # sessions stored without a person (and all from schema <= 2)

RESULT_FIELDS = (
    "peak_rotation_deg",
    "peak_internal_deg",
    "peak_external_deg",
    "peak_measured_deg",
    "total_hold_s",
    "time_in_target_s",
    "mean_confidence",
    "frames_measured",
    "neutral_offset_deg",
    "end_range_s",
)
HOLD_FIELDS = ("start_s", "end_s", "duration_s", "peak_deg", "mean_deg")

# Each migration brings the schema from version i to i + 1. Only ever append; never edit
# or drop. Version 1 is the first release; version 2 adds a stable per-session uid (so an
# exported CSV can be imported elsewhere without duplicates); version 3 adds who was measured
# (every older session belongs to the default person), the camera set-up, and the time spent
# near the peak (NULL for older sessions, whose summaries lack the per-frame data).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        f"PRAGMA application_id = {APPLICATION_ID}",
        """CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            kind TEXT NOT NULL,
            input TEXT,
            content_sha256 TEXT,
            stretch TEXT,
            threshold_deg REAL,
            fps REAL,
            frames INTEGER,
            frames_with_pose INTEGER,
            duration_s REAL,
            interrupted INTEGER NOT NULL DEFAULT 0,
            app_version TEXT,
            model_name TEXT,
            model_sha256 TEXT,
            summary_json TEXT NOT NULL,
            added_at TEXT NOT NULL
        )""",
        """CREATE TABLE results (
            id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            stretch TEXT NOT NULL,
            side TEXT NOT NULL CHECK (side IN ('left', 'right')),
            threshold_deg REAL,
            peak_rotation_deg REAL,
            peak_internal_deg REAL,
            peak_external_deg REAL,
            peak_measured_deg REAL,
            total_hold_s REAL,
            time_in_target_s REAL,
            mean_confidence REAL,
            frames_measured INTEGER,
            neutral_offset_deg REAL,
            UNIQUE (session_id, stretch, side)
        )""",
        """CREATE TABLE holds (
            id INTEGER PRIMARY KEY,
            result_id INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,
            start_s REAL,
            end_s REAL,
            duration_s REAL,
            peak_deg REAL,
            mean_deg REAL
        )""",
        "CREATE INDEX sessions_started ON sessions(started_at)",
        "CREATE INDEX sessions_content ON sessions(content_sha256, stretch, threshold_deg)",
        "CREATE INDEX results_session ON results(session_id)",
        "CREATE INDEX holds_result ON holds(result_id)",
    ),
    (
        "ALTER TABLE sessions ADD COLUMN uid TEXT",
        "UPDATE sessions SET uid = lower(hex(randomblob(16))) WHERE uid IS NULL",
        "CREATE UNIQUE INDEX sessions_uid ON sessions(uid)",
    ),
    (
        f"ALTER TABLE sessions ADD COLUMN person TEXT NOT NULL DEFAULT '{DEFAULT_PERSON}'",
        "ALTER TABLE sessions ADD COLUMN image_width INTEGER",
        "ALTER TABLE sessions ADD COLUMN image_height INTEGER",
        "ALTER TABLE sessions ADD COLUMN view_yaw_deg REAL",
        "ALTER TABLE results ADD COLUMN end_range_s REAL",
        "CREATE INDEX sessions_person ON sessions(person, started_at)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


def check_file(path: Path) -> None:
    """Refuse, by reading only, a path that is a directory or a non-SQLite file."""
    if path.is_dir():
        raise StoreError(f"The history path {path} is a directory; give a file name.")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with path.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise StoreError(f"Cannot read the history database {path}: {exc.strerror}.") from exc
    if head != SQLITE_MAGIC:
        raise StoreError(
            f"{path} is not a SQLite database, so not a posecheck history; it was left "
            "untouched. Use --db to choose another file."
        )


def check_database(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse (reading only) a corrupt, foreign or too-new database."""
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    try:
        check = conn.execute("PRAGMA quick_check").fetchone()[0]
        app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = int(conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
    except sqlite3.DatabaseError as exc:
        raise db_error(exc, path, "it was left untouched") or StoreError(
            f"The history database {path} is corrupt or unreadable ({exc}); it was left "
            "untouched. Restore a backup or use --db to choose another file."
        ) from exc
    if check != "ok":
        raise StoreError(
            f"The history database {path} is corrupt ({check}); it was left untouched."
        )
    if app_id != APPLICATION_ID and (app_id != 0 or tables > 0):
        raise StoreError(
            f"{path} is a SQLite database of another application, not a posecheck history; "
            "it was left untouched. Use --db to choose another file."
        )
    if version < 0 or (version == 0 and app_id == APPLICATION_ID and tables > 0):
        raise StoreError(
            f"The history database {path} has schema version {version}, which no posecheck "
            "writes (damaged or edited by hand); it was left untouched. Restore a backup or "
            "use --db to choose another file."
        )
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"The history database {path} has schema version {version}, newer than this "
            f"posecheck ({__version__}, schema {SCHEMA_VERSION}) understands; upgrade posecheck."
        )


def db_error(exc: sqlite3.Error, path: Path, outcome: str) -> StoreError | None:
    """A one-line StoreError naming the real cause of an SQLite error that is not about
    the file's content (read-only, disk full, locked, I/O), else None. ``outcome`` says
    what happened to the data ("nothing was stored")."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_CANTOPEN")) and _disk_full(path):
        name = "SQLITE_FULL"  # e.g. the -shm file cannot grow: an "I/O error" on a full disk
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")):
        return StoreError(f"The history database {path} cannot be written: it (or its "
                          f"folder) is read-only ({exc}); {outcome}. Make it writable, or use "
                          "--db to choose another file.")
    if name.startswith("SQLITE_FULL"):
        return StoreError(f"The disk holding the history database {path} is full; "
                          f"{outcome}. Free some space and try again.")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return StoreError(f"The history database {path} is locked by another program "
                          f"({exc}); {outcome}. Try again when it has finished.")
    if name.startswith("SQLITE_IOERR"):
        return StoreError(f"The history database {path} cannot be read or written "
                          f"(disk I/O error: {exc}); {outcome}.")
    return None


def _disk_full(path: Path) -> bool:
    """True when the file system holding ``path`` has (almost) no free space left."""
    try:
        st = os.statvfs(path.parent if not path.is_dir() else path)
    except (OSError, AttributeError):  # no statvfs on Windows
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024


def use_wal(conn: sqlite3.Connection) -> None:
    """Switch to WAL, retrying while another process holds the lock.

    SQLite answers "database is locked" at once, without the busy timeout, when two
    processes switch a new file's journal mode at the same moment.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)
