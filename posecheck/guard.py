"""Refuse any output that would overwrite what the user has: an input or the history.

Every command that writes files calls :func:`refuse_overwrite` before it writes anything.
An output *file* is refused when it is the same file as a protected one (same device and
inode, so hard links and symlinks count) or, when either does not exist yet, when both
resolve to the same path (symlinks followed). An output *folder* (a result folder that is
replaced as a whole) is refused when a protected file lies inside it or is the folder.

The history database is protected together with its ``-wal``, ``-shm`` and ``-journal``
files (:func:`db_files`). Standard library only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from posecheck.errors import UnsafeOutputError

PathLike = str | os.PathLike[str]
#: (path, what it is), e.g. (Path("clip.mp4"), "the input")
Protected = tuple[PathLike, str]


def db_files(db: PathLike | None) -> list[Protected]:
    """The history database and the files SQLite keeps beside it."""
    if db is None:
        return []
    db = os.fspath(db)
    return [(db, "the history database"),
            *((db + sfx, "a file of the history database") for sfx in ("-wal", "-shm",
                                                                       "-journal"))]


def inputs(paths: Iterable[PathLike | None], what: str = "an input") -> list[Protected]:
    """Protected entries for input files (None and URLs are skipped)."""
    return [(p, what) for p in paths if p is not None and "://" not in os.fspath(p)]


def _resolved(path: PathLike) -> str:
    return os.path.realpath(os.path.abspath(os.path.expanduser(os.fspath(path))))


def same_file(a: PathLike, b: PathLike) -> bool:
    """True when ``a`` and ``b`` are (or, not existing yet, would be) the same file."""
    try:
        if os.path.samefile(a, b):
            return True
    except (OSError, ValueError):
        pass
    return _resolved(a) == _resolved(b)


def _inside(path: PathLike, folder: PathLike) -> bool:
    p, f = _resolved(path), _resolved(folder)
    return p == f or p.startswith(f.rstrip(os.sep) + os.sep)


def refuse_overwrite(files: Iterable[PathLike | None], protected: Iterable[Protected], *,
                     folders: Iterable[PathLike] = ()) -> None:
    """Raise :class:`UnsafeOutputError` (one line, exit status 2) when an output file is a
    protected file, or an output folder holds one. ``None`` outputs (stdout) are skipped."""
    guarded = [(p, what) for p, what in protected if p is not None]
    for out in files:
        if out is None or os.fspath(out) == "-":
            continue
        for p, what in guarded:
            if same_file(out, p):
                raise UnsafeOutputError(
                    f"Refusing to write {os.fspath(out)}: it is {what} ({os.fspath(p)}), "
                    "which would be destroyed; choose another output path.")
    for folder in folders:
        for p, what in guarded:
            if _inside(p, folder):
                raise UnsafeOutputError(
                    f"Refusing to write the result folder {os.fspath(folder)}: it holds "
                    f"{what} ({os.fspath(p)}), which would be destroyed; choose another "
                    "--out folder.")

