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

import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from posecheck.errors import StoreError
from posecheck.store_csv import (
    CSV_COLUMNS,
    CSV_OPTIONAL_COLUMNS,
    ImportResult,
    export_csv,
    import_csv,
)
from posecheck.store_records import (
    DEFAULT_PERSON,
    PERSON_ENV_VAR,
    RESULT_KEYS,
    SESSION_KEYS,
    SIDES,
    HoldRecord,
    PersonSummary,
    ResultRecord,
    SessionRecord,
    clean_person,
    format_utc,
    local_time,
    parse_utc,
    zone_label,
)
from posecheck.store_rows import opt_float, opt_str, result_rows, session_row
from posecheck.store_schema import (
    APPLICATION_ID,
    BUSY_TIMEOUT_MS,
    HOLD_FIELDS,
    MIGRATIONS,
    SCHEMA_VERSION,
    check_database,
    check_file,
    db_error,
    use_wal,
)

ENV_VAR = "POSECHECK_DB"

# The public surface of the history, for the CLI, the tests and scripts (docs/history.md):
# the store itself, what its queries return, the person and time rules, the schema and CSV.
__all__ = [
    "APPLICATION_ID", "CSV_COLUMNS", "CSV_OPTIONAL_COLUMNS", "DEFAULT_PERSON", "ENV_VAR",
    "MIGRATIONS", "PERSON_ENV_VAR", "SCHEMA_VERSION", "SIDES", "HoldRecord", "ImportResult",
    "PersonSummary", "ResultRecord", "SessionRecord", "Store", "clean_person", "export_csv",
    "format_utc", "import_csv", "local_time", "parse_utc", "resolve_db_path", "zone_label",
]  # fmt: skip


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


class Store:
    """An open history database; use :meth:`open` (also a context manager)."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, readonly: bool = False) -> Store:
        """Open or create the history at ``path``; StoreError for a foreign or corrupt file.

        ``readonly``: for commands that only read (history, report, export): an existing,
        up-to-date history is opened without writing to it, so it can be read from a
        read-only file, folder or medium (see :func:`_open_readonly`). A missing or older
        history is migrated as usual; a missing one is read as an empty history held in
        memory (a command that only reads never creates a file or a folder).
        """
        path = Path(path)
        check_file(path)
        if readonly and path.is_file() and path.stat().st_size > 0:
            conn = _open_readonly(path)
            if conn is not None:
                return cls(conn, path)
        if readonly and not path.exists() and _under_folders(path):
            def empty(conn: sqlite3.Connection) -> bool:
                _migrate(conn, SCHEMA_VERSION)
                return True

            memory = _connect(path, ":memory:", empty)
            assert memory is not None  # empty never declines
            return cls(memory, path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"Cannot create the history database {path}: its folder "
                             f"{path.parent} cannot be made ({exc.strerror or exc}); use --db "
                             "to choose another file.") from None

        def prepare(conn: sqlite3.Connection) -> bool:
            check_database(conn, path)
            use_wal(conn)
            conn.execute("PRAGMA foreign_keys = ON")
            _migrate(conn, SCHEMA_VERSION)
            return True

        conn = _connect(path, str(path), prepare)
        assert conn is not None  # prepare never declines
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
            (sha, summary.get("stretch"), opt_float(summary.get("threshold_deg")),
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
        session = session_row(summary)
        name = clean_person(person if person is not None else opt_str(summary.get("person")))
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
            for result in result_rows(summary):
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


def _open_readonly(path: Path) -> sqlite3.Connection | None:
    """A read-only connection to the existing history at ``path``, or None when its schema
    is older than this posecheck's (a migration has to write: the caller opens it as usual).

    ``mode=ro`` never writes the database. A WAL-mode history also needs its ``-shm`` (and
    ``-wal``) file, which SQLite creates when the folder is writable; on a read-only file,
    folder or medium ``immutable=1`` lets SQLite read the file without them. Caveats
    (sqlite.org, URI filenames and WAL): an immutable file is taken to never change, so
    another program writing it meanwhile could give wrong results; and immutable ignores a
    ``-wal`` file, so it is used only when there is none with content (else SQLite reads the
    existing ``-wal`` and ``-shm`` read-only, or says why it cannot).
    """
    wal = path.with_name(path.name + "-wal")
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    immutable = not writable and not (wal.exists() and wal.stat().st_size > 0)
    uri = path.resolve().as_uri() + "?mode=ro" + ("&immutable=1" if immutable else "")

    def up_to_date(conn: sqlite3.Connection) -> bool:
        check_database(conn, path)
        return int(conn.execute("PRAGMA user_version").fetchone()[0]) >= SCHEMA_VERSION

    return _connect(path, uri, up_to_date, uri=True)


def _under_folders(path: Path) -> bool:
    """Whether every existing ancestor of ``path`` is a folder (no file stands in the way)."""
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent.is_dir()


def _connect(path: Path, target: str, prepare: Callable[[sqlite3.Connection], bool], *,
             uri: bool = False) -> sqlite3.Connection | None:
    """Connect to the history ``path`` through ``target`` (the path, or a ``file:`` URI when
    ``uri``) and run ``prepare`` on the connection: the connection, or None (closed) when
    ``prepare`` declines. An SQLite error is a one-line StoreError; the file is left as it
    was (``prepare`` checks before it writes)."""
    try:
        conn = sqlite3.connect(target, uri=uri, timeout=BUSY_TIMEOUT_MS / 1000,
                               isolation_level=None)
    except sqlite3.Error as exc:
        raise db_error(exc, path, "it was left untouched") or StoreError(
            f"Cannot open the history database {path}: {exc}.") from exc
    try:
        if prepare(conn):
            return conn
    except sqlite3.Error as exc:
        conn.close()
        raise db_error(exc, path, "it was left untouched") or StoreError(
            f"The history database {path} cannot be used: {exc}.") from exc
    except StoreError:
        conn.close()
        raise
    conn.close()
    return None


def _session_record(row: Sequence[Any], results: tuple[ResultRecord, ...]) -> SessionRecord:
    values = dict(zip(SESSION_KEYS, row, strict=True))
    values["interrupted"] = bool(values["interrupted"])
    return SessionRecord(**values, results=results)


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
