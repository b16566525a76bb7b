"""Options shared by several commands, each described once: ``--db PATH`` (the session
history), ``--person NAME`` (who was measured) and ``--model PATH`` (the pose model).

``add_db_argument(parser)`` adds ``--db``; ``open_store(args)`` opens the database it
names (flag, then ``$POSECHECK_DB``, then the user data directory); every command that
reads or saves sessions uses it. ``add_person_argument`` / ``person_from``: who was
measured (flag, then ``$POSECHECK_PERSON``, else None = the default person when storing).
``add_model_argument(parser)`` adds ``--model``. Standard library only at import time.
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path

from posecheck.errors import ConfigError
from posecheck.store import Store, resolve_db_path
from posecheck.store_records import DEFAULT_PERSON, PERSON_ENV_VAR, clean_person


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--db PATH`` to a command's parser."""
    parser.add_argument(
        "--db",
        metavar="PATH",
        default=None,
        help="history database file (default: $POSECHECK_DB, else "
        "history.sqlite3 in the user data directory)",
    )


def add_model_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--model PATH`` to a command's parser."""
    parser.add_argument(
        "--model",
        metavar="PATH",
        type=Path,
        default=None,
        help="MediaPipe pose landmarker .task file (default: $POSECHECK_MODEL, else the "
        "bundled full model models/pose_landmarker_full.task)",
    )


def add_person_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``--person NAME``; ``what`` ends the help text (e.g. "whose sessions to list")."""
    parser.add_argument(
        "--person", metavar="NAME", default=None,
        help=f"{what} (default: ${PERSON_ENV_VAR}, else '{DEFAULT_PERSON}' when storing; "
        "names match ignoring case)",
    )  # fmt: skip


def person_from(args: argparse.Namespace) -> str | None:
    """``--person``, else ``$POSECHECK_PERSON``, cleaned; None when neither is given."""
    name = getattr(args, "person", None) or os.environ.get(PERSON_ENV_VAR) or None
    return None if name is None or not name.strip() else clean_person(name)


def open_store(args: argparse.Namespace, *, readonly: bool = False) -> Store:
    """Open the history named by ``args.db`` (StoreError when foreign or corrupt);
    ``readonly`` for a command that only reads it (it may then be on read-only media)."""
    return Store.open(resolve_db_path(getattr(args, "db", None)), readonly=readonly)


def parse_date(text: str) -> datetime:
    """A ``--since`` value: ``YYYY-MM-DD`` (start of that UTC day) or an ISO date-time."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ConfigError(
            f"--since {text!r} is not a date; use YYYY-MM-DD (e.g. 2026-11-01)."
        ) from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
