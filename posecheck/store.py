"""The session history: one SQLite file that remembers every analysed or live session.

Usage::

    with Store.open(resolve_db_path(None)) as store:
        session_id = store.add_session(summary)        # None when already stored
        rows = store.sessions(stretch="internal-rotation", side="right")

The input is the ``summary.json`` dict of ``docs/summary.md``. Rows are kept in three
tables (sessions, results per stretch and side, holds) plus the full summary as JSON.

Safety: a file that is not SQLite, is corrupt, or belongs to another application
(``PRAGMA application_id``) raises :class:`~posecheck.errors.StoreError` and is never
written to. Schema changes are numbered migrations (``PRAGMA user_version``), each applied
in one transaction, that only add. WAL mode and a busy timeout let two processes write at
once; every write is one ``BEGIN IMMEDIATE`` transaction (all or nothing).

Conventions: angles in degrees, positive = internal rotation; times in seconds;
``started_at`` stored as UTC ISO 8601 text ending in ``Z``.

Standard library only (+ platformdirs for the default path); must not import numpy,
matplotlib, mediapipe or cv2.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from posecheck import __version__
from posecheck.csv_rules import check_row, export_row
from posecheck.errors import StoreError

APPLICATION_ID = 0x50534348  # "PSCH": marks a SQLite file as a posecheck history
SQLITE_MAGIC = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 15_000
ENV_VAR = "POSECHECK_DB"
PERSON_ENV_VAR = "POSECHECK_PERSON"
DEFAULT_PERSON = "me"  # sessions stored without a person (and all from schema <= 2)
MAX_PERSON_LEN = 60
KINDS = ("video", "live", "landmarks")
SIDES = ("left", "right")

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


def resolve_db_path(explicit: str | os.PathLike[str] | None) -> Path:
    """The history file: ``explicit`` (``--db``) wins, then ``$POSECHECK_DB``, then the
    user data directory (``platformdirs.user_data_path("posecheck")/history.sqlite3``)."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return platformdirs.user_data_path("posecheck") / "history.sqlite3"


@dataclass(frozen=True, slots=True)
class HoldRecord:
    """One stored hold (seconds; degrees in the stretch's direction, deeper = larger)."""

    start_s: float | None
    end_s: float | None
    duration_s: float | None
    peak_deg: float | None
    mean_deg: float | None


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """One stretch x side of a session (degrees, IR positive; seconds)."""

    stretch: str
    side: str
    threshold_deg: float | None
    peak_rotation_deg: float | None
    peak_internal_deg: float | None
    peak_external_deg: float | None
    peak_measured_deg: float | None
    total_hold_s: float | None
    time_in_target_s: float | None
    mean_confidence: float | None
    frames_measured: int | None
    neutral_offset_deg: float | None
    end_range_s: float | None = None  # seconds within summary.END_RANGE_DEG of the peak
    holds: tuple[HoldRecord, ...] = ()

    @property
    def range_gained_deg(self) -> float | None:
        """Range gained across repeated holds of this session: the last hold's peak minus the
        first hold's (degrees in the stretch's direction, + = deeper later); None with fewer
        than two holds with a peak."""
        peaks = [h.peak_deg for h in self.holds if h.peak_deg is not None]
        return peaks[-1] - peaks[0] if len(peaks) > 1 else None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One stored session with its results (see ``docs/history.md``)."""

    id: int
    uid: str
    started_at: str  # UTC ISO 8601, "...Z"
    kind: str
    input: str | None
    content_sha256: str | None
    stretch: str | None
    threshold_deg: float | None
    fps: float | None
    frames: int | None
    frames_with_pose: int | None
    duration_s: float | None
    interrupted: bool
    app_version: str | None
    model_name: str | None
    model_sha256: str | None
    person: str = DEFAULT_PERSON
    image_width: int | None = None  # camera set-up (None for sessions stored before schema 3)
    image_height: int | None = None
    view_yaw_deg: float | None = None  # how far the person faced away from the camera
    results: tuple[ResultRecord, ...] = field(default=())

    @property
    def started(self) -> datetime:
        """``started_at`` as an aware UTC datetime."""
        return parse_utc(self.started_at)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (used by ``history --json``)."""
        out = {k: getattr(self, k) for k in SESSION_KEYS}
        out["results"] = [
            {
                **{k: getattr(r, k) for k in RESULT_KEYS},
                "holds": [{k: getattr(h, k) for k in HOLD_FIELDS} for h in r.holds],
            }
            for r in self.results
        ]
        return out


SESSION_KEYS = (
    "id", "uid", "started_at", "kind", "input", "content_sha256", "stretch", "threshold_deg",
    "fps", "frames", "frames_with_pose", "duration_s", "interrupted", "app_version",
    "model_name", "model_sha256", "person", "image_width", "image_height", "view_yaw_deg",
)  # fmt: skip
RESULT_KEYS = ("stretch", "side", "threshold_deg", *RESULT_FIELDS)


@dataclass(frozen=True, slots=True)
class PersonSummary:
    """One person of the history: how many sessions and over which dates (UTC ISO text)."""

    name: str
    sessions: int
    first_started_at: str
    last_started_at: str


def clean_person(name: str | None) -> str:
    """A person's name as stored: surrounding spaces removed; None or empty = the default
    person. StoreError for names too long or with control characters."""
    text = (name or "").strip()
    if not text:
        return DEFAULT_PERSON
    if len(text) > MAX_PERSON_LEN:
        raise StoreError(f"The person name {text[:20]!r}... is longer than {MAX_PERSON_LEN} "
                         "characters.")  # fmt: skip
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise StoreError(f"The person name {text!r} contains control characters.")
    return text


def parse_utc(text: str) -> datetime:
    """Parse an ISO 8601 time (``Z`` or offset; naive = UTC) into an aware UTC datetime."""
    try:
        value = datetime.fromisoformat(text.strip())
    except (AttributeError, ValueError) as exc:
        raise StoreError(f"started_at {text!r} is not an ISO 8601 date-time.") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def local_time(value: datetime) -> datetime:
    """An aware datetime in the computer's local time zone (``$TZ`` or the system's)."""
    return value.astimezone()


def zone_label(values: Iterable[datetime] = ()) -> str:
    """The local zone's name(s) over ``values`` (e.g. ``CET/CEST``; now when empty), with
    the UTC offset when there is one zone: ``CET, UTC+01:00``."""
    local = [local_time(v) for v in values] or [datetime.now().astimezone()]
    names = sorted({v.tzname() or "local time" for v in local})
    if len(names) == 1:
        offset = local[0].strftime("%z")
        return f"{names[0]}, UTC{offset[:3]}:{offset[3:]}" if offset else names[0]
    return "/".join(names)


def format_utc(value: datetime) -> str:
    """An aware datetime as UTC ISO 8601 text ending in ``Z`` (seconds, or microseconds)."""
    spec = "microseconds" if value.microsecond else "seconds"
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec=spec) + "Z"


class Store:
    """An open history database; use :meth:`open` (also a context manager)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Store:
        """Open or create the history at ``path``; StoreError for a foreign or corrupt file."""
        path = Path(path)
        _check_file(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"Cannot create the history database {path}: its folder "
                             f"{path.parent} cannot be made ({exc.strerror or exc}); use --db "
                             "to choose another file.") from None
        try:
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except sqlite3.Error as exc:
            raise db_error(exc, path, "it was left untouched") or StoreError(
                f"Cannot open the history database {path}: {exc}.") from exc
        try:
            _check_database(conn, path)
            _use_wal(conn)
            conn.execute("PRAGMA foreign_keys = ON")
            _migrate(conn, SCHEMA_VERSION)
        except sqlite3.Error as exc:
            conn.close()
            raise db_error(exc, path, "it was left untouched") or StoreError(
                f"The history database {path} cannot be used: {exc}.") from exc
        except StoreError:
            conn.close()
            raise
        return cls(conn, path)

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        """The schema version of the open file (``PRAGMA user_version``)."""
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One all-or-nothing write transaction (IMMEDIATE: takes the write lock up front,
        so the busy timeout applies instead of a deadlock between two writers)."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise db_error(exc, self.path, "nothing was stored") or StoreError(
                f"The history database {self.path} is busy: {exc}.") from exc
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.Error):
                raise db_error(exc, self.path, "nothing was stored") or StoreError(
                    f"Cannot write to the history database {self.path}: {exc}; nothing "
                    "was stored.") from exc
            raise

    def _rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already (it does on disk full)."""
        if self._conn.in_transaction:
            with suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    def find_duplicate(self, summary: dict[str, Any], *, max_id: int | None = None) -> int | None:
        """The id of a stored session of the same input file analysed for the same stretch
        and threshold, or None. Live sessions (no content hash) never have duplicates."""
        sha = summary.get("content_sha256")
        if not sha:
            return None
        row = self._conn.execute(
            "SELECT id FROM sessions WHERE content_sha256 = ? AND stretch IS ? "
            "AND threshold_deg IS ? AND id <= ? ORDER BY id LIMIT 1",
            (sha, summary.get("stretch"), _opt_float(summary.get("threshold_deg")),
             max_id if max_id is not None else 2**62),
        ).fetchone()  # fmt: skip
        return None if row is None else int(row[0])

    def add_session(
        self, summary: dict[str, Any], *, force: bool = False, uid: str | None = None,
        person: str | None = None,
    ) -> int | None:  # fmt: skip
        """Store one ``summary.json`` dict for ``person`` (else the summary's ``"person"``,
        else the default person); returns the new session id, or None when the same input was
        already stored for the same stretch and threshold (unless ``force``). A person name
        that matches a stored one but for upper/lower case is stored with the stored spelling.

        Everything (session, results, holds) is written in one transaction.
        """
        session = _session_row(summary)
        name = clean_person(person if person is not None else _opt_str(summary.get("person")))
        with self._write() as conn:
            if not force and self.find_duplicate(summary) is not None:
                return None
            session["person"] = self.find_person(name) or name
            uid = uid or uuid.uuid4().hex
            cur = conn.execute(
                f"INSERT INTO sessions ({', '.join(session)}, uid, added_at) "
                f"VALUES ({', '.join('?' * len(session))}, ?, ?)",
                (*session.values(), uid, format_utc(datetime.now(UTC))),
            )
            session_id = int(cur.lastrowid or 0)
            for result in _result_rows(summary):
                _insert_result(conn, session_id, result)
        return session_id

    def add_or_find(
        self, summary: dict[str, Any], *, force: bool = False, person: str | None = None
    ) -> tuple[int, bool]:
        """Like :meth:`add_session`, but returns ``(session_id, added)``: the new id and True,
        or the id of the session already stored for this input and False. A caller prints
        ``already in history (session N); use --force to add again`` when not added."""
        session_id = self.add_session(summary, force=force, person=person)
        if session_id is not None:
            return session_id, True
        existing = self.find_duplicate(summary)
        if existing is None:  # deleted in between by another process: store it after all
            return self.add_or_find(summary, force=force, person=person)
        return existing, False

    # --- people -------------------------------------------------------------------------

    def find_person(self, name: str) -> str | None:
        """The stored spelling of a person (matched ignoring case), or None."""
        row = self._conn.execute(
            "SELECT person FROM sessions WHERE person = ? COLLATE NOCASE ORDER BY id LIMIT 1",
            (clean_person(name),),
        ).fetchone()
        return None if row is None else str(row[0])

    def people(self) -> list[PersonSummary]:
        """Everyone with sessions, by name (ignoring case)."""
        rows = self._conn.execute(
            "SELECT person, count(*), min(started_at), max(started_at) FROM sessions "
            "GROUP BY person ORDER BY person COLLATE NOCASE, person"
        ).fetchall()
        return [PersonSummary(str(r[0]), int(r[1]), str(r[2]), str(r[3])) for r in rows]

    def require_person(self, name: str) -> str:
        """The stored spelling of ``name``; StoreError naming the people there are if none."""
        found = self.find_person(name)
        if found is None:
            names = ", ".join(p.name for p in self.people()) or "nobody yet"
            raise StoreError(f"No sessions of {clean_person(name)!r} in the history "
                             f"(people: {names}).")  # fmt: skip
        return found

    def rename_person(self, old: str, new: str) -> int:
        """Give every session of ``old`` to ``new``; returns how many. StoreError when ``old``
        has no sessions or ``new`` is another person who already has some (no silent merge);
        a change of case only (``anna`` -> ``Anna``) is allowed."""
        new_name = clean_person(new)
        with self._write() as conn:
            stored = self.require_person(old)
            other = self.find_person(new_name)
            if other is not None and other.lower() != stored.lower():
                raise StoreError(f"{other!r} already has sessions; rename to a name nobody has "
                                 "(sessions of two people are never merged silently).")  # fmt: skip
            cur = conn.execute("UPDATE sessions SET person = ? WHERE person = ?",
                               (new_name, stored))  # fmt: skip
            return int(cur.rowcount)

    def delete_person(self, name: str) -> int:
        """Delete every session of a person (results and holds too); returns how many."""
        with self._write() as conn:
            stored = self.require_person(name)
            cur = conn.execute("DELETE FROM sessions WHERE person = ?", (stored,))
            return int(cur.rowcount)

    def has_uid(self, uid: str) -> bool:
        """True when a session with this uid is stored."""
        return (
            self._conn.execute("SELECT 1 FROM sessions WHERE uid = ?", (uid,)).fetchone()
            is not None
        )

    def max_id(self) -> int:
        """The largest session id (0 when empty)."""
        return int(self._conn.execute("SELECT coalesce(max(id), 0) FROM sessions").fetchone()[0])

    def sessions(
        self, *, stretch: str | None = None, side: str | None = None, since: datetime | None = None,
        newest_first: bool = True, person: str | None = None,
    ) -> list[SessionRecord]:  # fmt: skip
        """Stored sessions with their results, filtered; a session appears only if one of
        its results matches ``stretch``/``side`` (and only matching results are kept).
        ``person`` (ignoring case) keeps one person's sessions; None keeps everyone's."""
        where, params = ["1"], []
        if person is not None:
            where.append("person = ? COLLATE NOCASE")
            params.append(clean_person(person))
        if since is not None:
            where.append("started_at >= ?")
            params.append(format_utc(since))
        order = "DESC" if newest_first else "ASC"
        rows = self._conn.execute(
            f"SELECT {', '.join(SESSION_KEYS)} FROM sessions WHERE {' AND '.join(where)} "
            f"ORDER BY started_at {order}, id {order}",
            params,
        ).fetchall()
        out = []
        for row in rows:
            results = self._results(int(row[0]), stretch, side)
            if (stretch or side) and not results:
                continue
            out.append(_session_record(row, results))
        return out

    def get_session(self, session_id: int) -> SessionRecord:
        """One session by id; StoreError when there is none."""
        row = self._conn.execute(
            f"SELECT {', '.join(SESSION_KEYS)} FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        if row is None:
            raise StoreError(f"There is no session {session_id} in the history ({self.path}).")
        return _session_record(row, self._results(session_id, None, None))

    def summary(self, session_id: int) -> dict[str, Any]:
        """The original summary dict stored with a session."""
        self.get_session(session_id)
        text = self._conn.execute(
            "SELECT summary_json FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()[0]
        return dict(json.loads(text))

    def delete_session(self, session_id: int) -> None:
        """Delete a session with its results and holds; StoreError when there is none."""
        with self._write() as conn:
            cur = conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            if cur.rowcount == 0:
                raise StoreError(f"There is no session {session_id} in the history ({self.path}).")

    def _results(
        self, session_id: int, stretch: str | None, side: str | None
    ) -> tuple[ResultRecord, ...]:
        sql = f"SELECT id, {', '.join(RESULT_KEYS)} FROM results WHERE session_id = ?"
        params: list[Any] = [session_id]
        if stretch:
            sql += " AND stretch = ?"
            params.append(stretch)
        if side:
            sql += " AND side = ?"
            params.append(side)
        rows = self._conn.execute(sql + " ORDER BY stretch, side", params).fetchall()
        return tuple(ResultRecord(*row[1:], holds=self._holds(int(row[0]))) for row in rows)

    def _holds(self, result_id: int) -> tuple[HoldRecord, ...]:
        rows = self._conn.execute(
            f"SELECT {', '.join(HOLD_FIELDS)} FROM holds WHERE result_id = ? ORDER BY start_s, id",
            (result_id,),
        ).fetchall()
        return tuple(HoldRecord(*row) for row in rows)


def _session_record(row: Sequence[Any], results: tuple[ResultRecord, ...]) -> SessionRecord:
    values = dict(zip(SESSION_KEYS, row, strict=True))
    values["interrupted"] = bool(values["interrupted"])
    return SessionRecord(**values, results=results)


# --- opening checks --------------------------------------------------------------------


def _check_file(path: Path) -> None:
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


def _check_database(conn: sqlite3.Connection, path: Path) -> None:
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


def _use_wal(conn: sqlite3.Connection) -> None:
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


def _migrate(conn: sqlite3.Connection, target: int) -> None:
    """Apply migrations up to ``target``, each in its own transaction (never drops data)."""
    while True:
        if int(conn.execute("PRAGMA user_version").fetchone()[0]) >= target:
            return  # up to date: no write lock, so a read-only history can still be read
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read inside the write lock: another process may have migrated meanwhile.
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version >= target:
                conn.execute("COMMIT")
                return
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:
            if conn.in_transaction:
                with suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


# --- summary dict -> rows ----------------------------------------------------------------


def _session_row(summary: dict[str, Any]) -> dict[str, Any]:
    """Validate the top level of a summary dict and map it to the sessions columns."""
    if not isinstance(summary, dict):
        raise StoreError(f"A session summary must be a JSON object, got {type(summary).__name__}.")
    if summary.get("schema") != 1:
        raise StoreError(f"Unsupported summary schema {summary.get('schema')!r} (expected 1).")
    kind = summary.get("kind")
    if kind not in KINDS:
        raise StoreError(f"Summary kind {kind!r} is not one of {', '.join(KINDS)}.")
    if "started_at" not in summary:
        raise StoreError("The summary has no 'started_at'.")
    model = summary.get("model") or {}
    if not isinstance(model, dict):
        raise StoreError("The summary's 'model' must be an object or null.")
    return {
        "started_at": format_utc(parse_utc(str(summary["started_at"]))),
        "kind": kind,
        "input": _opt_str(summary.get("input")),
        "content_sha256": _opt_str(summary.get("content_sha256")),
        "stretch": _opt_str(summary.get("stretch")),
        "threshold_deg": _opt_float(summary.get("threshold_deg")),
        "fps": _opt_float(summary.get("fps")),
        "frames": _opt_int(summary.get("frames")),
        "frames_with_pose": _opt_int(summary.get("frames_with_pose")),
        "duration_s": _opt_float(summary.get("duration_s")),
        "interrupted": int(bool(summary.get("interrupted", False))),
        "app_version": _opt_str(summary.get("posecheck_version")),
        "model_name": _opt_str(model.get("name")),
        "model_sha256": _opt_str(model.get("sha256")),
        **_setup_columns(summary.get("setup")),
        "summary_json": _to_json(summary),
    }


def _setup_columns(setup: Any) -> dict[str, Any]:
    """The camera set-up of a summary (``"setup"``; absent in older summaries)."""
    if setup is None:
        setup = {}
    if not isinstance(setup, dict):
        raise StoreError("The summary's 'setup' must be an object or null.")
    return {
        "image_width": _opt_int(setup.get("image_width")),
        "image_height": _opt_int(setup.get("image_height")),
        "view_yaw_deg": _opt_float(setup.get("view_yaw_deg")),
    }


def _to_json(summary: dict[str, Any]) -> str:
    try:
        return json.dumps(summary, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"The summary cannot be stored as JSON: {exc}.") from exc


def _result_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per stretch x side from ``by_stretch`` (or ``sides`` when it is absent)."""
    by_stretch = summary.get("by_stretch")
    if by_stretch is None and summary.get("stretch") and summary.get("sides") is not None:
        by_stretch = {
            summary["stretch"]: {"threshold_deg": summary.get("threshold_deg"),
                                 "sides": summary["sides"]}
        }  # fmt: skip
    if not isinstance(by_stretch, dict):
        raise StoreError("The summary's 'by_stretch' must be an object of stretch results.")
    rows = []
    for stretch, entry in by_stretch.items():
        sides = entry.get("sides") if isinstance(entry, dict) else None
        if not isinstance(sides, dict):
            raise StoreError(f"by_stretch[{stretch!r}] has no 'sides' object.")
        for side, values in sides.items():
            if side not in SIDES or not isinstance(values, dict):
                raise StoreError(f"by_stretch[{stretch!r}].sides has a bad entry {side!r}.")
            rows.append(_result_row(str(stretch), side, entry.get("threshold_deg"), values))
    return rows


def _result_row(stretch: str, side: str, threshold: Any, values: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"stretch": stretch, "side": side, "threshold_deg": _opt_float(threshold)}
    for key in RESULT_FIELDS:
        row[key] = (
            _opt_int(values.get(key)) if key == "frames_measured" else _opt_float(values.get(key))
        )
    holds = values.get("holds") or []
    if not isinstance(holds, list) or not all(isinstance(h, dict) for h in holds):
        raise StoreError(f"The {side} holds of {stretch!r} must be a list of objects.")
    row["holds"] = [{k: _opt_float(h.get(k)) for k in HOLD_FIELDS} for h in holds]
    return row


def _insert_result(conn: sqlite3.Connection, session_id: int, result: dict[str, Any]) -> None:
    holds = result.pop("holds")
    cur = conn.execute(
        f"INSERT INTO results (session_id, {', '.join(result)}) "
        f"VALUES (?, {', '.join('?' * len(result))})",
        (session_id, *result.values()),
    )
    conn.executemany(
        f"INSERT INTO holds (result_id, {', '.join(HOLD_FIELDS)}) "
        f"VALUES (?, {', '.join('?' * len(HOLD_FIELDS))})",
        [(cur.lastrowid, *(h[k] for k in HOLD_FIELDS)) for h in holds],
    )


def _opt_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise StoreError(f"Expected a number, got {value!r}.")
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"Expected a number, got {value!r}.") from exc


def _opt_int(value: Any) -> int | None:
    number = _opt_float(value)
    return None if number is None else int(number)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


# --- CSV export / import -------------------------------------------------------------------

CSV_SESSION_COLUMNS = (
    "session_uid", "started_at", "kind", "input", "content_sha256", "session_stretch",
    "session_threshold_deg", "fps", "frames", "frames_with_pose", "duration_s", "interrupted",
    "app_version", "model_name", "model_sha256", "person", "image_width", "image_height",
    "view_yaw_deg",
)  # fmt: skip
CSV_COLUMNS = (*CSV_SESSION_COLUMNS, "stretch", "side", "threshold_deg", *RESULT_FIELDS, "holds")
# Columns added with schema 3: an export of an older posecheck lacks them (read as empty).
CSV_OPTIONAL_COLUMNS = frozenset({"person", "image_width", "image_height", "view_yaw_deg",
                                  "end_range_s"})  # fmt: skip
_SESSION_ATTR = {"session_uid": "uid", "session_stretch": "stretch",
                 "session_threshold_deg": "threshold_deg"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What :func:`import_csv` did."""

    added: int
    skipped: int


def export_csv(store: Store, fh: Any, *, person: str | None = None) -> int:
    """Write every session (or only ``person``'s), oldest first, one row per stretch x side
    (holds as JSON); returns the number of sessions. Import of this file reproduces it."""
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    sessions = store.sessions(newest_first=False, person=person)
    for session in sessions:
        head = [_cell(getattr(session, _SESSION_ATTR.get(c, c))) for c in CSV_SESSION_COLUMNS]
        for result in session.results or (None,):
            writer.writerow(export_row(CSV_COLUMNS, head + _result_cells(result)))
    return len(sessions)


def _result_cells(result: ResultRecord | None) -> list[str]:
    if result is None:
        return [""] * (len(CSV_COLUMNS) - len(CSV_SESSION_COLUMNS))
    holds = [{k: getattr(h, k) for k in HOLD_FIELDS} for h in result.holds]
    cells = [_cell(getattr(result, k)) for k in RESULT_KEYS]
    return [*cells, json.dumps(holds, separators=(",", ":"))]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def import_csv(store: Store, fh: Iterable[str], *, person: str | None = None) -> ImportResult:
    """Add the sessions of an exported CSV, skipping those already stored (same uid, or
    same input, stretch and threshold as a session stored before this import). ``person``
    assigns every imported session to that person (else the CSV's ``person`` column, else
    the default person). The whole file is validated before anything is written."""
    if person is not None:
        clean_person(person)
    summaries = _summaries_from_csv(fh)
    before = store.max_id()
    added = skipped = 0
    for uid, summary in summaries:
        if store.has_uid(uid) or store.find_duplicate(summary, max_id=before) is not None:
            skipped += 1
            continue
        store.add_session(summary, force=True, uid=uid, person=person)
        added += 1
    return ImportResult(added, skipped)


def _summaries_from_csv(fh: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
    reader = csv.DictReader(fh)
    missing = set(CSV_COLUMNS) - set(reader.fieldnames or ()) - CSV_OPTIONAL_COLUMNS
    if missing:
        raise StoreError(f"The CSV is not a posecheck export: missing columns {sorted(missing)}.")
    grouped: dict[str, dict[str, Any]] = {}
    heads: dict[str, list[str]] = {}
    try:
        for line, raw in enumerate(reader, start=2):
            row = check_row(raw, line)  # ranges, types, formulas; text cells unescaped
            row = {c: row.get(c) or "" for c in CSV_COLUMNS}
            uid = row["session_uid"]
            if not uid:
                raise StoreError(f"CSV line {line}: empty session_uid.")
            head = [row[c] for c in CSV_SESSION_COLUMNS]
            if heads.setdefault(uid, head) != head:
                raise StoreError(f"CSV line {line}: session {uid} differs from its earlier rows.")
            summary = grouped.setdefault(uid, _summary_from_row(row))
            if row["stretch"]:
                _add_csv_result(summary, row, line)
    except csv.Error as exc:
        raise StoreError(f"The CSV cannot be read (line {reader.line_num}): {exc}; nothing "
                         "was imported.") from exc
    for summary in grouped.values():
        _session_row(summary)  # validate everything before writing
        _result_rows(summary)
    return list(grouped.items())


def _summary_from_row(row: dict[str, str]) -> dict[str, Any]:
    model = None
    if row["model_name"] or row["model_sha256"]:
        model = {"name": row["model_name"] or None, "sha256": row["model_sha256"] or None}
    return {
        "schema": 1,
        "posecheck_version": row["app_version"] or None,
        "kind": row["kind"],
        "input": row["input"] or None,
        "content_sha256": row["content_sha256"] or None,
        "started_at": row["started_at"],
        "model": model,
        "fps": _opt_float(row["fps"]),
        "frames": _opt_int(row["frames"]),
        "frames_with_pose": _opt_int(row["frames_with_pose"]),
        "duration_s": _opt_float(row["duration_s"]),
        "interrupted": row["interrupted"] == "true",
        "stretch": row["session_stretch"] or None,
        "threshold_deg": _opt_float(row["session_threshold_deg"]),
        "person": row["person"] or None,
        "setup": {k: row[k] or None for k in ("image_width", "image_height", "view_yaw_deg")},
        "by_stretch": {},
    }


def _add_csv_result(summary: dict[str, Any], row: dict[str, str], line: int) -> None:
    try:
        holds = json.loads(row["holds"] or "[]")
    except json.JSONDecodeError as exc:
        raise StoreError(f"CSV line {line}: the holds column is not JSON ({exc.msg}).") from exc
    side: dict[str, Any] = {k: _opt_float(row[k]) for k in RESULT_FIELDS}
    side["frames_measured"] = _opt_int(row["frames_measured"])
    side["holds"] = holds
    entry = summary["by_stretch"].setdefault(
        row["stretch"], {"threshold_deg": _opt_float(row["threshold_deg"]), "sides": {}}
    )
    entry["sides"][row["side"]] = side
    if summary["stretch"] == row["stretch"]:
        summary["sides"] = entry["sides"]
