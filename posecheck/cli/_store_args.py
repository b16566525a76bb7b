"""Options shared by several commands: ``--db PATH`` (the session history) and
``--model PATH`` (the pose model), each described once.

``add_db_argument(parser)`` adds ``--db``; ``open_store(args)`` opens the database it
names (flag, then ``$POSECHECK_DB``, then the user data directory). Every command that
reads or saves sessions (analyse, live, history, report, ...) uses it.
``add_model_argument(parser)`` adds ``--model``. Standard library only at import time.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from posecheck.errors import ConfigError
from posecheck.store import Store, resolve_db_path


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


def open_store(args: argparse.Namespace) -> Store:
    """Open the history named by ``args.db`` (StoreError when foreign or corrupt)."""
    return Store.open(resolve_db_path(getattr(args, "db", None)))


def parse_date(text: str) -> datetime:
    """A ``--since`` value: ``YYYY-MM-DD`` (start of that UTC day) or an ISO date-time."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ConfigError(
            f"--since {text!r} is not a date; use YYYY-MM-DD (e.g. 2026-11-01)."
        ) from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
