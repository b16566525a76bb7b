"""The landmark JSONL replay format: one :class:`posecheck.types.PoseFrame` per line.

Each line is a JSON object::

    {"t": <seconds>, "image_size": [w, h],
     "landmarks": [[x, y, z, visibility] x 33] | null,
     "world_landmarks": [[x, y, z, visibility] x 33] | null}

Floats are written with ``repr`` (shortest round-trip form), so reading a file back gives
bit-identical float64 arrays. ``t`` must not decrease from one line to the next (equal
times are accepted). See ``docs/landmark-format.md`` for the coordinate conventions.

Standard library and numpy only: must not import mediapipe or cv2.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from posecheck.errors import LandmarkFileError, PosecheckError
from posecheck.landmarks import NUM_LANDMARKS
from posecheck.types import PoseFrame

KEYS = ("t", "image_size", "landmarks", "world_landmarks")
#: Longest line accepted, in characters (a real line is about 6 000): a file that is not a
#: landmark file (or /dev/zero) fails at once instead of filling the memory.
MAX_LINE_CHARS = 1_000_000


def _num(value: float) -> str:
    """A float as JSON text that round-trips exactly (NaN/inf are not JSON: null)."""
    value = float(value)
    return repr(value) if math.isfinite(value) else "null"


def _array_json(arr: np.ndarray | None) -> str:
    if arr is None:
        return "null"
    if np.isfinite(arr).all():  # the same text, written by json's C encoder (twice as fast)
        return json.dumps(arr.tolist())
    rows = ("[" + ", ".join(_num(v) for v in row) + "]" for row in arr.tolist())
    return "[" + ", ".join(rows) + "]"


def frame_to_json(frame: PoseFrame) -> str:
    """One JSONL line (without the newline) for ``frame``."""
    w, h = frame.image_size
    return (f'{{"t": {_num(frame.t)}, "image_size": [{int(w)}, {int(h)}], '
            f'"landmarks": {_array_json(frame.landmarks)}, '
            f'"world_landmarks": {_array_json(frame.world_landmarks)}}}')


def _is_number(v: Any) -> bool:
    return v is None or (type(v) is not bool and isinstance(v, int | float))


def _parse_array(value: Any, key: str) -> np.ndarray | None:
    """A (33, 4) array of numbers or nulls (NaN); strings and booleans are errors."""
    if value is None:
        return None
    rows_ok = (isinstance(value, list) and len(value) == NUM_LANDMARKS
               and all(isinstance(row, list) and len(row) == 4 for row in value))
    if not rows_ok:
        widths = ({len(row) if isinstance(row, list) else -1 for row in value}
                  if isinstance(value, list) else {-1})
        if len(widths) == 1 and -1 not in widths:
            raise ValueError(f'"{key}" must have shape ({NUM_LANDMARKS}, 4), got '
                             f"({len(value)}, {widths.pop()})")
        raise ValueError(f'"{key}" must be a list of {NUM_LANDMARKS} [x, y, z, visibility] '
                         "number lists")
    for i, row in enumerate(value):
        for v in row:
            if not _is_number(v):
                raise ValueError(f'"{key}" must be a list of {NUM_LANDMARKS} [x, y, z, '
                                 f"visibility] number lists; [{i}] holds {v!r}")
    return np.array(value, dtype=np.float64)  # null -> nan


def _parse_size(value: Any) -> tuple[int, int]:
    ok = (isinstance(value, list) and len(value) == 2
          and all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value))
    if not ok:
        raise ValueError(f'"image_size" must be [width, height] positive integers, got {value!r}')
    return int(value[0]), int(value[1])


def frame_from_json(text: str) -> PoseFrame:
    """Parse one line; raises ValueError (with a reason) when it is malformed."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ValueError("invalid JSON (nested too deeply)") from None
    if not isinstance(obj, dict):
        raise ValueError("expected a JSON object")
    missing = [k for k in KEYS if k not in obj]
    if missing:
        raise ValueError(f"missing key(s): {', '.join(missing)}")
    t = obj["t"]
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
        raise ValueError(f'"t" must be a number of seconds, got {t!r}')
    return PoseFrame(t=float(t), image_size=_parse_size(obj["image_size"]),
                     landmarks=_parse_array(obj["landmarks"], "landmarks"),
                     world_landmarks=_parse_array(obj["world_landmarks"], "world_landmarks"))


def _open(path: Path) -> IO[str]:
    try:
        return path.open("r", encoding="utf-8")
    except FileNotFoundError:
        raise LandmarkFileError(f"Landmark file not found: {path}") from None
    except OSError as exc:
        raise LandmarkFileError(f"Cannot read landmark file {path}: {exc.strerror}") from None


def read_landmarks(path: str | Path) -> Iterator[PoseFrame]:
    """Yield the frames of a landmark JSONL file in order (blank lines are skipped).

    Raises :class:`LandmarkFileError` naming the file and line number for a missing file,
    a malformed line or a time that goes backwards.
    """
    path = Path(path)
    with _open(path) as fh:
        yield from _read_lines(fh, path)


class LandmarkReader:
    """A landmark JSONL file opened once and read from its start any number of times
    (:meth:`frames`): every pass reads the same file, even when its path is replaced
    meanwhile. Errors as :func:`read_landmarks`; use as a context manager or :meth:`close`.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fh = _open(self.path)

    def frames(self) -> Iterator[PoseFrame]:
        """The file's frames from the first line (one pass at a time)."""
        self._fh.seek(0)
        yield from _read_lines(self._fh, self.path)

    def close(self) -> None:
        """Close the file (idempotent)."""
        self._fh.close()

    def __enter__(self) -> LandmarkReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _read_lines(fh: IO[str], path: Path) -> Iterator[PoseFrame]:
    last_t: float | None = None
    lineno = 0
    try:
        while line := fh.readline(MAX_LINE_CHARS + 1):
            lineno += 1
            if len(line) > MAX_LINE_CHARS:
                raise LandmarkFileError(f"{path}, line {lineno}: longer than "
                                        f"{MAX_LINE_CHARS} characters; is this a landmark "
                                        "JSONL file?")
            if not line.strip():
                continue
            try:
                frame = frame_from_json(line)
            except ValueError as exc:
                raise LandmarkFileError(f"{path}, line {lineno}: {exc}") from None
            if last_t is not None and frame.t < last_t:
                raise LandmarkFileError(f"{path}, line {lineno}: time goes backwards "
                                        f"(t={frame.t!r} after t={last_t!r})")
            last_t = frame.t
            yield frame
    except UnicodeDecodeError:
        raise LandmarkFileError(f"{path}, line {lineno + 1}: not UTF-8 text; is this a "
                                "landmark JSONL file?") from None
    except OSError as exc:
        raise LandmarkFileError(f"Cannot read landmark file {path}: "
                                f"{exc.strerror or exc}") from None


class LandmarkWriter:
    """Stream PoseFrames to a JSONL file, atomically.

    Lines go to a temporary file in the same directory that replaces ``path`` on
    :meth:`close` (also when the ``with`` block ends by an exception, so what was written
    is kept). Times must not decrease (ValueError otherwise).
    """

    def __init__(self, path: str | Path) -> None:
        from posecheck.outputs import AtomicFile

        self.path = Path(path)
        self.count = 0
        self._last_t: float | None = None
        self._file = AtomicFile(self.path, "w", newline="\n")
        try:
            self._fh: IO[str] | None = self._file.open()
        except PosecheckError as exc:
            raise LandmarkFileError(str(exc)) from None

    def write(self, frame: PoseFrame) -> None:
        """Append one frame (one line)."""
        if self._fh is None:
            raise ValueError("LandmarkWriter is closed")
        if self._last_t is not None and frame.t < self._last_t:
            raise ValueError(f"frame time goes backwards: t={frame.t} after t={self._last_t}")
        try:
            self._fh.write(frame_to_json(frame) + "\n")
        except OSError as exc:  # disk full: a truncated file must not replace anything
            self._fh = None
            self._file.abort()
            raise LandmarkFileError(f"Cannot write {self.path}: "
                                    f"{exc.strerror or exc}.") from None
        self._last_t = frame.t
        self.count += 1

    def reader(self) -> LandmarkReader:
        """The lines written so far, read back (flushed first): the same PoseFrames, bit
        for bit, except that an infinite coordinate comes back as NaN (JSON has neither).
        The file is read where it is being written, so it stays open for writing, and
        :meth:`close` (or an interruption) still moves it into place."""
        if self._fh is None or self._file.tmp_path is None:
            raise ValueError("LandmarkWriter is closed")
        try:
            self._fh.flush()
        except OSError as exc:  # as in write: a truncated file must not replace anything
            self._fh = None
            self._file.abort()
            raise LandmarkFileError(f"Cannot write {self.path}: {exc.strerror or exc}.") from None
        return LandmarkReader(self._file.tmp_path)

    def close(self) -> None:
        """Flush and move the file into place (idempotent)."""
        if self._fh is None:
            return
        self._fh = None
        try:
            self._file.commit()
        except PosecheckError as exc:
            raise LandmarkFileError(str(exc)) from None

    def __enter__(self) -> LandmarkWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def write_landmarks(path: str | Path, frames: Iterable[PoseFrame]) -> int:
    """Write all ``frames`` to ``path`` (atomically); returns the number of lines."""
    with LandmarkWriter(path) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.count
