"""Write results to disk: summary.json, the per-frame CSV, an OpenSim ``.mot`` file and the
annotated video.

Every file is written atomically: to a temporary file in the target's directory, renamed
over the target (``os.replace``) only when complete. On an exception the temporary file is
removed and an existing target is left untouched, so an interrupted run never leaves a
half-written result. Directories are created as needed.

Convention: degrees, seconds; hip rotation positive = internal rotation (IR). The ``.mot``
file follows OpenSim's signs, see :class:`MotWriter`.

Imports the standard library and numpy only; PyAV (``av``) is imported inside
:class:`VideoSink` (must not import mediapipe or matplotlib).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import tempfile
from array import array
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, ClassVar, Self

import numpy as np

from posecheck.errors import PosecheckError
from posecheck.landmarks import SIDES
from posecheck.types import FrameResult

NEW_FILE_MODE = 0o644


# ---------------------------------------------------------------------- atomic files
class _CommitOrAbort:
    """Context-manager protocol of the writers: ``close()`` on success, ``abort()`` on error."""

    def close(self) -> Any:  # pragma: no cover - every writer defines it
        raise NotImplementedError

    def abort(self) -> None:  # pragma: no cover - every writer defines it
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class AtomicFile:
    """Context manager that writes a file atomically::

        with AtomicFile("out/summary.json") as f:
            f.write(text)

    ``mode`` is "w" (text) or "wb" (bytes). The file object writes to a temporary file next
    to ``path``; leaving the block normally replaces ``path`` with it, an exception deletes
    it. For streaming writers, :meth:`open`, :meth:`commit` and :meth:`abort` do the same
    by hand. Raises :class:`PosecheckError` when the file cannot be created or renamed.
    """

    def __init__(self, path: str | os.PathLike[str], mode: str = "w", *,
                 encoding: str = "utf-8", newline: str | None = None) -> None:
        if mode not in ("w", "wb"):
            raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
        self.path = Path(path)
        self.mode = mode
        self.encoding = encoding
        self.newline = newline
        self.tmp_path: Path | None = None
        self._file: IO[Any] | None = None

    def open(self) -> IO[Any]:
        """Create the temporary file and return it open for writing."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.",
                                       suffix=".part")
        except OSError as exc:
            raise PosecheckError(f"Cannot write {self.path}: {exc.strerror or exc}.") from exc
        self.tmp_path = Path(tmp)
        if "b" in self.mode:
            self._file = os.fdopen(fd, self.mode)
        else:
            self._file = os.fdopen(fd, self.mode, encoding=self.encoding, newline=self.newline)
        return self._file

    def commit(self) -> None:
        """Flush, sync and rename the temporary file over the target."""
        if self._file is None or self.tmp_path is None:
            raise RuntimeError("AtomicFile.commit() before open()")
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            mode = self.path.stat().st_mode & 0o777 if self.path.exists() else NEW_FILE_MODE
            os.chmod(self.tmp_path, mode)
            os.replace(self.tmp_path, self.path)
        except OSError as exc:
            self.abort()
            raise PosecheckError(f"Cannot write {self.path}: {exc.strerror or exc}.") from exc
        self._file = None
        self.tmp_path = None

    def abort(self) -> None:
        """Close and delete the temporary file; the target is not touched."""
        if self._file is not None:
            with contextlib.suppress(OSError):  # on a full disk closing flushes and fails
                self._file.close()
            self._file = None
        if self.tmp_path is not None:
            self.tmp_path.unlink(missing_ok=True)
            self.tmp_path = None

    def __enter__(self) -> IO[Any]:
        return self.open()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()


def atomic_write_text(path: str | os.PathLike[str], text: str, *,
                      encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    with AtomicFile(path, "w", encoding=encoding, newline="") as f:
        f.write(text)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with AtomicFile(path, "wb") as f:
        f.write(data)
    return Path(path)


# ---------------------------------------------------------------------- summary.json
def _jsonable(value: Any) -> Any:
    """``value`` with numpy scalars/arrays, paths and tuples made JSON types; NaN/inf -> None."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def write_summary(path: str | os.PathLike[str], summary: Mapping[str, Any]) -> Path:
    """Write ``summary`` (docs/summary.md) as JSON, indent 2, UTF-8, atomically.

    numpy numbers become JSON numbers, paths strings, and NaN/inf ``null`` (JSON has no
    NaN). Raises TypeError for values JSON cannot hold.
    """
    text = json.dumps(_jsonable(summary), indent=2, ensure_ascii=False, allow_nan=False)
    return atomic_write_text(path, text + "\n")


# ---------------------------------------------------------------------- frames.csv
# Words, the same in every output and doc: "raw" = unsmoothed, straight from the geometry;
# "uncorrected" = smoothed, before the neutral reference is subtracted; plain names
# (rotation_deg, measured_deg) = smoothed and neutral-corrected, the number the summary
# and the history hold.
#: Per-side columns of frames.csv (prefixed "left_" / "right_"), in order.
SIDE_COLUMNS: tuple[str, ...] = (
    "rotation_deg",              # smoothed, neutral-corrected hip rotation, IR positive
    "rotation_uncorrected_deg",  # smoothed, before the neutral reference
    "rotation_raw_deg",          # unsmoothed, uncorrected: straight from the geometry
    "neutral_offset_deg",        # the neutral reference subtracted (rotation)
    "knee_flexion_deg",          # smoothed; 0 = straight knee
    "hip_flexion_deg",           # smoothed; + = flexion
    "hip_abduction_deg",         # smoothed; + = abduction, - = adduction
    "confidence",                # 0..1, trust in the rotation value
    "measured_deg",              # the stretch's measured angle (corrected), + = deeper
    "holding",                   # 1 while in a hold, else 0
    "hold_elapsed_s",            # seconds into the current hold (0 when not holding)
)
FRAME_COLUMNS: tuple[str, ...] = ("t", *(f"{side}_{col}" for side in SIDES
                                         for col in SIDE_COLUMNS))
_NUMBERS_PER_SIDE = 11  # what FramesCsvWriter keeps per side and frame (see _numbers)


def _num(value: float | None, digits: int = 3) -> str:
    """A CSV cell: fixed decimals, empty for None/NaN."""
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.{digits}f}"


def _f(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _numbers(result: FrameResult, measure: str, direction: int) -> list[float]:
    """One frame as floats (NaN = none): t, then per side the uncorrected rotation, the raw
    rotation, the rotation offset in use, knee, hip flexion, abduction, confidence, the
    uncorrected and the shown (corrected then) measured value, holding, hold elapsed."""
    out = [float(result.t)]
    for side in SIDES:
        sm, raw = result.smoothed.side(side), result.raw.side(side)
        rot, off = result.rotation_deg.get(side), result.neutral_offset_deg.get(side, 0.0)
        measured = result.measured.get(side)
        out += [
            _f(None if rot is None else rot + off), _f(raw.rotation_deg), _f(off),
            _f(sm.knee_flexion_deg), _f(sm.hip_flexion_deg), _f(sm.hip_abduction_deg),
            _f(sm.confidence),
            _f(None if measured is None else direction * getattr(sm, measure)), _f(measured),
            1.0 if result.holding.get(side) else 0.0, _f(result.hold_elapsed.get(side, 0.0)),
        ]
    return out


def _cells(numbers: Sequence[float], direction: int,
           offsets: Mapping[str, tuple[float, float]] | None) -> list[str]:
    """The cells of one row from :func:`_numbers`; ``offsets``: side -> (rotation offset,
    measure offset) to subtract, None = the ones in use at that frame."""
    row = [_num(numbers[0], 4)]
    for i, side in enumerate(SIDES):
        (unc, raw, off_then, knee, hip, abd, conf, meas_unc, meas_then, holding,
         elapsed) = numbers[1 + i * _NUMBERS_PER_SIDE:1 + (i + 1) * _NUMBERS_PER_SIDE]
        if offsets is None:  # each frame's own offsets: the values as shown then
            rot_off, meas = off_then, meas_then
        else:
            rot_off = offsets[side][0]
            meas = meas_unc - direction * offsets[side][1]
        row += [_num(unc - rot_off), _num(unc), _num(raw), _num(rot_off), _num(knee),
                _num(hip), _num(abd), _num(conf), _num(meas), "1" if holding else "0",
                _num(elapsed)]
    return row


class FramesCsvWriter(_CommitOrAbort):
    """Collects one CSV row per frame; the file is written (atomically) on close.

    Columns (:data:`FRAME_COLUMNS`): ``t`` (seconds), then for ``left`` and ``right`` the
    :data:`SIDE_COLUMNS` (degrees unless named ``_s``; empty cell = not measured).
    ``rotation_deg`` and ``measured_deg`` are neutral-corrected with the offsets given to
    :meth:`close` (the session's final ones: the summary corrects every frame with them, so
    the file and the summary agree); the uncorrected and the raw rotation have their own
    columns. ``measure`` / ``direction``: the stretch behind ``measured_deg``. Rows are
    kept as 23 float64 each (184 bytes a frame) until close. Use as a context manager (an
    exception discards the file) or call :meth:`close` / :meth:`abort`.
    """

    def __init__(self, path: str | os.PathLike[str], *, measure: str = "rotation_deg",
                 direction: int = 1) -> None:
        self._atomic = AtomicFile(path, "w", newline="")
        self._file = self._atomic.open()  # fails now, not after the video, if it cannot
        self.measure = measure
        self.direction = direction
        self._numbers: array[float] = array("d")
        self.rows = 0

    @property
    def path(self) -> Path:
        """The final path of the CSV file."""
        return self._atomic.path

    def write(self, result: FrameResult) -> None:
        """Add the row of one frame."""
        self._numbers.extend(_numbers(result, self.measure, self.direction))
        self.rows += 1

    def close(self, offsets: Mapping[tuple[str, str], float] | None = None) -> None:
        """Write the file and rename it into place. ``offsets``: (measure, side) -> neutral
        offset (:meth:`posecheck.session.Session.neutral_offsets`); None keeps each frame's
        own rotation offset."""
        per_side = None if offsets is None else {
            side: (offsets.get(("rotation_deg", side), 0.0),
                   offsets.get((self.measure, side), 0.0)) for side in SIDES}
        writer = csv.writer(self._file, lineterminator="\n")
        writer.writerow(FRAME_COLUMNS)
        width = 1 + _NUMBERS_PER_SIDE * len(SIDES)
        for i in range(self.rows):
            writer.writerow(_cells(self._numbers[i * width:(i + 1) * width], self.direction,
                                   per_side))
        self._atomic.commit()

    def abort(self) -> None:
        """Discard the file."""
        self._atomic.abort()


def write_frames_csv(path: str | os.PathLike[str], results: Iterable[FrameResult],
                     offsets: Mapping[tuple[str, str], float] | None = None) -> Path:
    """Write every result as a frames.csv row (see :class:`FramesCsvWriter`)."""
    writer = FramesCsvWriter(path)
    try:
        for r in results:
            writer.write(r)
    except BaseException:
        writer.abort()
        raise
    writer.close(offsets)
    return Path(path)


# ---------------------------------------------------------------------- OpenSim .mot
#: Columns of the .mot file after "time".
MOT_COLUMNS: tuple[str, ...] = (
    "hip_rotation_l", "hip_rotation_r", "hip_flexion_l", "hip_flexion_r",
    "hip_adduction_l", "hip_adduction_r", "knee_angle_l", "knee_angle_r",
)


def mot_row(result: FrameResult) -> list[float]:
    """The .mot values of one frame (degrees, OpenSim signs, NaN = missing), after time."""

    def f(v: float | None, sign: float = 1.0) -> float:
        return math.nan if v is None else sign * float(v)

    vals: dict[str, float] = {}
    for side, sfx in (("left", "l"), ("right", "r")):
        a = result.smoothed.side(side)
        vals[f"hip_rotation_{sfx}"] = f(result.rotation_deg.get(side))
        vals[f"hip_flexion_{sfx}"] = f(a.hip_flexion_deg)
        vals[f"hip_adduction_{sfx}"] = f(a.hip_abduction_deg, -1.0)
        vals[f"knee_angle_{sfx}"] = f(a.knee_flexion_deg)
    return [vals[c] for c in MOT_COLUMNS]


class MotWriter:
    """Collects frames and writes an OpenSim Storage (``.mot``) file of the hip angles.

    Header: the file name, ``version=1``, ``nRows``, ``nColumns`` (time included),
    ``inDegrees=yes``, ``endheader``; then tab-separated columns ``time`` and
    :data:`MOT_COLUMNS`, ``NaN`` where a value is missing.

    Convention (OpenSim coordinate signs, degrees):
    ``hip_rotation`` = posecheck rotation (neutral-corrected), internal rotation positive
    (same sign); ``hip_flexion`` = hip flexion, flexion positive (same sign);
    ``hip_adduction`` = **minus** posecheck's hip abduction (OpenSim: adduction positive);
    ``knee_angle`` = knee flexion, flexion positive (the Rajagopal 2016 model; gait2392
    counts knee flexion negative). Rows are buffered because the header needs nRows.
    """

    def __init__(self, path: str | os.PathLike[str], name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or self.path.stem
        self.times: list[float] = []
        self.rows: list[list[float]] = []
        # rows from add() hold the rotation before the neutral offset: row -> offsets then
        self._frame_offsets: dict[int, dict[str, float]] = {}
        self._offsets: Mapping[tuple[str, str], float] | None = None

    def add(self, result: FrameResult) -> None:
        """Add one frame (its rotation kept uncorrected until :meth:`close` corrects it)."""
        row = mot_row(result)
        offsets = {side: result.neutral_offset_deg.get(side, 0.0) for side in SIDES}
        for side, sfx in (("left", "l"), ("right", "r")):
            row[MOT_COLUMNS.index(f"hip_rotation_{sfx}")] += offsets[side]
        self.add_row(result.t, row)
        self._frame_offsets[len(self.rows) - 1] = offsets

    def add_row(self, t: float, values: Sequence[float]) -> None:
        """Add one row: ``t`` seconds and one value per :data:`MOT_COLUMNS` (degrees)."""
        if len(values) != len(MOT_COLUMNS):
            raise ValueError(f"a .mot row needs {len(MOT_COLUMNS)} values, got {len(values)}")
        self.times.append(float(t))
        self.rows.append([float(v) for v in values])

    def text(self) -> str:
        """The whole file as text."""
        out = io.StringIO()
        out.write(f"{self.name}\nversion=1\nnRows={len(self.rows)}\n"
                  f"nColumns={len(MOT_COLUMNS) + 1}\ninDegrees=yes\n\n"
                  "Units are S.I. units (second, meters, Newtons, ...)\n"
                  "Angles are in degrees. Written by posecheck from monocular video.\n\n"
                  "endheader\n")
        out.write("\t".join(("time", *MOT_COLUMNS)) + "\n")
        for i, (t, row) in enumerate(zip(self.times, self.rows, strict=True)):
            subtract = [0.0] * len(MOT_COLUMNS)
            then = self._frame_offsets.get(i)
            if then is not None:
                for side, sfx in (("left", "l"), ("right", "r")):
                    subtract[MOT_COLUMNS.index(f"hip_rotation_{sfx}")] = then[side] if (
                        self._offsets is None) else self._offsets.get(("rotation_deg", side), 0.0)
            cells = [f"{t:.6f}"] + ["NaN" if math.isnan(v) else f"{v - d:.6f}"
                                    for v, d in zip(row, subtract, strict=True)]
            out.write("\t".join(cells) + "\n")
        return out.getvalue()

    def close(self, offsets: Mapping[tuple[str, str], float] | None = None) -> Path:
        """Write the file atomically; returns its path. ``offsets``: (measure, side) -> the
        session's final neutral offsets, subtracted from every frame's rotation (as in the
        summary and frames.csv); None: the offset each frame had."""
        self._offsets = offsets
        return atomic_write_text(self.path, self.text())

    def __enter__(self) -> MotWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()


def write_mot(path: str | os.PathLike[str], results: Iterable[FrameResult]) -> Path:
    """Write ``results`` as an OpenSim ``.mot`` file (see :class:`MotWriter`)."""
    w = MotWriter(path)
    for r in results:
        w.add(r)
    return w.close()


def read_mot(path: str | os.PathLike[str]) -> tuple[dict[str, str], list[str], np.ndarray]:
    """Parse a ``.mot``/``.sto`` file: (header key=value pairs, column names, (N, C) data)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    try:
        end = next(i for i, line in enumerate(lines) if line.strip() == "endheader")
    except StopIteration:
        raise PosecheckError(f"{path} is not an OpenSim storage file: no 'endheader'.") from None
    header = dict(line.split("=", 1) for line in lines[:end] if "=" in line)
    columns = lines[end + 1].split("\t")
    rows = [[float(c) for c in line.split("\t")] for line in lines[end + 2:] if line.strip()]
    data = np.array(rows, dtype=float).reshape(len(rows), len(columns))
    return header, columns, data


# ---------------------------------------------------------------------- video
class VideoSink(_CommitOrAbort):
    """Writes RGB frames to an H.264 mp4 at a constant ``fps`` (a context manager).

    ``size`` is (width, height) in pixels; frames of another size are an error. Frames go
    to a temporary file renamed to ``path`` on :meth:`close` (an exception discards it).

    Codec: H.264 (``avc1``, yuv420p, x264 preset ``veryfast``, CRF 23) in MP4 with the index
    at the front (``+faststart``): the one video format every browser plays. OpenCV's
    bundled FFmpeg has no H.264 encoder (only MPEG-4 part 2, which browsers do not play,
    and VP8/VP9, ~15-100x slower than x264 here), so the video is encoded with PyAV's
    FFmpeg (libx264). An odd width or height is padded by one repeated pixel row/column
    (yuv420p needs even sizes).

    Constant frame rate from variable-rate input: pass each frame's time ``t`` (seconds) to
    :meth:`write`; frame *k* of the output shows the latest input frame at or before
    ``t0 + k / fps``: frames arriving early are dropped, gaps are filled by repeating the
    previous frame (at most ``max_gap_s`` worth). Without ``t`` every frame is written once.
    """

    CODEC = "libx264"
    FOURCC = "avc1"  # the MP4 sample entry of H.264
    OPTIONS: ClassVar[dict[str, str]] = {"preset": "veryfast", "crf": "23"}

    def __init__(self, path: str | os.PathLike[str], fps: float, size: tuple[int, int], *,
                 max_gap_s: float = 5.0) -> None:
        if not (fps > 0 and math.isfinite(fps)):
            raise ValueError(f"fps must be a positive number, got {fps}")
        if size[0] <= 0 or size[1] <= 0:
            raise ValueError(f"size must be positive (width, height), got {size}")
        self.path = Path(path)
        self.fps = float(fps)
        self.size = (int(size[0]), int(size[1]))
        self.max_gap_s = max_gap_s
        self.frames_written = 0
        self.fourcc = self.FOURCC
        self._t0: float | None = None
        self._last: Any = None
        self._pad = (self.size[1] % 2, self.size[0] % 2)  # rows, columns to add
        self._tmp, self._container, self._stream = self._open()

    def _open(self) -> tuple[Path, Any, Any]:
        from fractions import Fraction

        import av

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.stem}.",
                                       suffix=".mp4")
        except OSError as exc:
            raise PosecheckError(f"Cannot write {self.path}: {exc.strerror or exc}.") from exc
        os.close(fd)
        try:
            container = av.open(tmp, mode="w", format="mp4",
                                options={"movflags": "+faststart"})
            rate = Fraction(self.fps).limit_denominator(1001)
            stream = container.add_stream(self.CODEC, rate=rate)
            stream.width = self.size[0] + self._pad[1]
            stream.height = self.size[1] + self._pad[0]
            stream.pix_fmt = "yuv420p"
            stream.options = dict(self.OPTIONS)
            stream.codec_context.time_base = 1 / rate
        except (av.FFmpegError, ValueError, OSError) as exc:
            Path(tmp).unlink(missing_ok=True)
            w, h = self.size
            raise PosecheckError(f"Cannot write the video {self.path}: the H.264 encoder does "
                                 f"not accept {w}x{h} frames at {self.fps:g} fps ({exc}); "
                                 "try --no-video.") from exc
        return Path(tmp), container, stream

    def write(self, image_rgb: np.ndarray, t: float | None = None) -> int:
        """Add one RGB frame shown at ``t`` seconds; returns how many frames were written."""
        import av

        h, w = image_rgb.shape[:2]
        if (w, h) != self.size or image_rgb.ndim != 3:
            raise ValueError(f"frame size {w}x{h} does not match the video size "
                             f"{self.size[0]}x{self.size[1]}")
        if any(self._pad):
            image_rgb = np.pad(image_rgb, ((0, self._pad[0]), (0, self._pad[1]), (0, 0)),
                               mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image_rgb), format="rgb24")
        n = 1 if t is None else self._copies(t)
        if n > 0:
            # the slots before this frame's own slot still show the previous frame
            fill = self._last if self._last is not None else frame
            for _ in range(n - 1):
                self._encode(fill)
            self._encode(frame)
        self._last = frame
        return n

    def _encode(self, frame: Any) -> None:
        import av

        frame.pts = self.frames_written
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except (av.FFmpegError, OSError) as exc:
            raise PosecheckError(f"Cannot write the video {self.path}: {exc}.") from exc
        self.frames_written += 1

    def _copies(self, t: float) -> int:
        """Output frames due up to and including time ``t`` that are not written yet."""
        if self._t0 is None:
            self._t0 = t
        slot = math.floor((t - self._t0) * self.fps + 1e-6)  # last slot at or before t
        due = slot + 1 - self.frames_written
        cap = 1 + int(self.max_gap_s * self.fps)
        if due > cap:  # a long stall: shorten it and re-anchor the timeline after it
            self._t0 += (due - cap) / self.fps
            due = cap
        return max(0, due)

    def close(self) -> Path:
        """Finish the video and rename it into place; returns the path."""
        import av

        try:
            for packet in self._stream.encode(None):  # flush the encoder
                self._container.mux(packet)
            self._container.close()
            os.chmod(self._tmp, NEW_FILE_MODE)
            os.replace(self._tmp, self.path)
        except (av.FFmpegError, OSError) as exc:
            self._tmp.unlink(missing_ok=True)
            raise PosecheckError(f"Cannot write {self.path}: "
                                 f"{getattr(exc, 'strerror', None) or exc}.") from exc
        return self.path

    def abort(self) -> None:
        """Discard the video."""
        with contextlib.suppress(Exception):
            self._container.close()
        self._tmp.unlink(missing_ok=True)

