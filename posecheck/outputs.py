"""Write results to disk: atomic files, summary.json and the annotated video (the per-frame
CSV is :mod:`posecheck.frames_csv`, the OpenSim ``.mot`` file :mod:`posecheck.mot`, both
written through the atomic files here).

Every file is written atomically: to a temporary file in the target's directory, renamed
over the target (``os.replace``) only when complete. On an exception the temporary file is
removed and an existing target is left untouched, so an interrupted run never leaves a
half-written result. Directories are created as needed.

Convention: degrees, seconds; hip rotation positive = internal rotation (IR).

Imports the standard library and numpy only; PyAV (``av``) and cv2 are imported inside
:class:`VideoSink` (must not import mediapipe or matplotlib).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, ClassVar, Self

import numpy as np

from posecheck.errors import PosecheckError

NEW_FILE_MODE = 0o644


# ---------------------------------------------------------------------- atomic files
class CommitOrAbort:
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


# ---------------------------------------------------------------------- video
class VideoSink(CommitOrAbort):
    """Writes RGB frames to an H.264 mp4 at a constant ``fps`` (a context manager).

    ``size`` is (width, height) in pixels; frames of another size are an error. Frames go
    to a temporary file renamed to ``path`` on :meth:`close` (an exception discards it).

    Codec: H.264 (``avc1``, yuv420p (BT.601, converted by OpenCV), x264 preset ``ultrafast``,
    tune ``zerolatency``, CRF 26, one thread: :attr:`OPTIONS`) in MP4 with the index
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
    # one x264 thread: it runs beside the model, which has the other cores; its frame
    # threads cost 15% more CPU (14.7 vs 12.6 ms a 540x960 frame) for no gain then.
    # ultrafast + zerolatency (no B-frames, no lookahead) at CRF 26, measured on the
    # annotated portrait sample (540x960, 150 frames, rgb -> yuv included): 7.8 ms a frame
    # and +7 MB of encoder memory, vs 15.8 ms and +45 MB for veryfast CRF 23, at the same
    # quality (PSNR 35.3 vs 35.7 dB against the frames; overlay text alike side by side)
    # and 1.9x the file size (1.42 vs 0.75 MB)
    OPTIONS: ClassVar[dict[str, str]] = {"preset": "ultrafast", "tune": "zerolatency",
                                         "crf": "26", "threads": "1"}

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
        self._pace = VideoSink.Pace(self.fps, max_gap_s)
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
        import cv2  # RGB -> I420 in OpenCV: 1.6 ms a 540x960 frame, FFmpeg's swscale 4.8

        frame = av.VideoFrame.from_ndarray(cv2.cvtColor(image_rgb, cv2.COLOR_RGB2YUV_I420),
                                           format="yuv420p")
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
        return self._pace.copies(t)

    class Pace:
        """The constant-rate timeline of a :class:`VideoSink`: how many output frames a
        frame at ``t`` seconds fills (0: dropped, it arrived early). A second Pace of the
        same ``fps`` fed the same times tells a producer ahead of the sink which frames it
        will show (:meth:`due`), so the others need not be drawn."""

        def __init__(self, fps: float, max_gap_s: float = 5.0) -> None:
            self.fps, self.max_gap_s = fps, max_gap_s
            self._t0: float | None = None
            self.frames = 0

        def copies(self, t: float) -> int:
            """Output frames due up to and including ``t`` not yet counted; counts them."""
            if self._t0 is None:
                self._t0 = t
            slot = math.floor((t - self._t0) * self.fps + 1e-6)  # last slot at or before t
            due = slot + 1 - self.frames
            cap = 1 + int(self.max_gap_s * self.fps)
            if due > cap:  # a long stall: shorten it and re-anchor the timeline after it
                self._t0 += (due - cap) / self.fps
                due = cap
            due = max(0, due)
            self.frames += due
            return due

        def due(self, t: float) -> bool:
            """Whether the frame at ``t`` is shown (advances the timeline like copies)."""
            return self.copies(t) > 0

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

