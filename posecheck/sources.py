"""Video sources: files, cameras and stream URLs behind one iterable protocol.

``open_source(spec)`` returns a :class:`VideoSource`: a context manager and an iterable of
:class:`posecheck.types.VideoFrame` (``t`` seconds, ``image`` (H, W, 3) uint8 RGB, never
mirrored, ``index`` counting delivered frames from 0).

- :class:`FileSource` decodes every frame of a file in order. ``t`` comes from the
  container (``CAP_PROP_POS_MSEC`` of each frame), so variable-frame-rate phone videos get
  their true times; it falls back to stepping by 1/fps when the container gives no usable
  time. Rotation metadata of phone videos is applied (OpenCV's
  ``CAP_PROP_ORIENTATION_AUTO``). Bad input is refused up front with one-line
  :class:`SourceError`; a file that breaks off mid-way ends the iteration and sets
  :attr:`VideoSource.error` instead of raising.
- :class:`CameraSource` (camera index or rtsp/http URL) runs its own capture thread that
  keeps only the NEWEST frame, so a slow consumer never builds up lag; ``t`` is a
  monotonic clock at capture, relative to the first frame. A camera that delivers nothing
  for ``stall_timeout`` seconds ends the iteration with ``error`` set, never a hang.
- ``open_source(path, paced=True)`` plays a file at its own frame rate through the same
  newest-frame machinery, as a camera would deliver it (frames are dropped when the
  consumer is slow); ``t`` stays the file's own timestamp.

Imports cv2; must not import mediapipe.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from posecheck.errors import SourceError
from posecheck.types import VideoFrame

DEFAULT_STALL_TIMEOUT_S = 5.0
FALLBACK_FPS = 30.0  # only to step time in a file whose container has neither times nor fps
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif",
                            ".heic", ".avif", ".ppm", ".pgm"})

# One captured frame: (ok, RGB image or None, t seconds).
Grab = Callable[[], tuple[bool, np.ndarray | None, float]]

# Keep FFmpeg chatter ("moov atom not found", "header damaged") off stderr: our errors say
# what went wrong in one line. OpenCV reads this once, when it first uses FFmpeg (reading
# or writing), so it is set at import; export OPENCV_FFMPEG_LOGLEVEL to override.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
_quiet_done = False


def _quiet_opencv() -> None:
    """Keep OpenCV's own warnings off stderr (export OPENCV_LOG_LEVEL to see them)."""
    global _quiet_done
    if not _quiet_done:
        if "OPENCV_LOG_LEVEL" not in os.environ:  # set it to debug OpenCV itself
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        _quiet_done = True


def _positive(value: float) -> float | None:
    return value if math.isfinite(value) and value > 0 else None


class VideoSource:
    """Common protocol of every source (see the module docstring).

    Properties: ``fps`` (frames per second or None if unknown), ``frame_count`` (None for
    live sources or when unknown), ``size`` ((width, height) px after rotation),
    ``is_live``, ``description`` (for messages) and ``error`` (why iteration stopped
    early, or None).
    """

    fps: float | None = None
    frame_count: int | None = None
    is_live: bool = False
    description: str = ""
    error: str | None = None
    rotation_deg: int = 0

    def __init__(self) -> None:
        self._size = (0, 0)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels of the delivered (rotated) frames."""
        return self._size

    def __iter__(self) -> Iterator[VideoFrame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file (idempotent)."""

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# ------------------------------------------------------------------------------ files

def _check_file(path: Path) -> None:
    """Refuse inputs that are not a video file, with a one-line SourceError."""
    if not path.exists():
        raise SourceError(f"Video file not found: {path}")
    if path.is_dir():
        raise SourceError(f"{path} is a directory, not a video file")
    if not path.is_file():
        raise SourceError(f"{path} is not a regular file")
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as exc:
        raise SourceError(f"Cannot read {path}: {exc.strerror}") from None
    if size == 0:
        raise SourceError(f"{path} is empty (0 bytes), not a video")
    if path.suffix.lower() in IMAGE_SUFFIXES or cv2.haveImageReader(str(path)):
        raise SourceError(f"{path} is an image, not a video; record or pass a video file")


class FileSource(VideoSource):
    """Every frame of a video file in order, timed by the container (see module doc)."""

    def __init__(self, path: str | Path, threads: int | None = None) -> None:
        super().__init__()
        _quiet_opencv()
        self.path = Path(path).expanduser()
        self.description = str(self.path)
        _check_file(self.path)
        self._threads = threads
        cap = self._open()
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"{self.path} cannot be opened as a video (not a video file, "
                              "truncated, or an unsupported format)")
        self._cap: Any = cap
        # Apply rotation metadata (phone videos); OpenCV 5 defaults to it, be explicit.
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
        self.fps = _positive(cap.get(cv2.CAP_PROP_FPS))
        count = _positive(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self.frame_count = int(count) if count and count < 1e9 else None
        self.rotation_deg = int(cap.get(cv2.CAP_PROP_ORIENTATION_META) or 0)
        ok, first = cap.read()
        if not ok or first is None:
            cap.release()
            raise SourceError(f"{self.path} contains no decodable video frames")
        self._first: np.ndarray | None = first
        self._size = (int(first.shape[1]), int(first.shape[0]))
        self._last_t: float | None = None
        self._index = 0

    def _open(self) -> Any:
        """An FFmpeg capture of the file; ``threads`` decoder threads (None: FFmpeg's
        choice, one per core; each thread holds frames: 1 saves memory when the cores
        are busy anyway)."""
        params = [] if self._threads is None else [cv2.CAP_PROP_N_THREADS, self._threads]
        return cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG, params)

    def _time(self, pos_ms: float) -> float:
        """Seconds of the frame just read: container time if usable, else previous + 1/fps."""
        t = pos_ms / 1000.0
        usable = math.isfinite(t) and t >= 0 and (self._index == 0 or t > 0)
        if self._last_t is None:
            return t if usable else 0.0
        if usable and t > self._last_t:
            return t
        return self._last_t + 1.0 / (self.fps or FALLBACK_FPS)

    def read(self) -> VideoFrame | None:
        """The next frame, or None at the end (``error`` is set if the file broke off)."""
        if self._cap is None:
            return None
        if self._first is not None:
            bgr, self._first = self._first, None
        else:
            ok, bgr = self._cap.read()
            if not ok or bgr is None:
                self._note_end()
                return None
        t = self._time(self._cap.get(cv2.CAP_PROP_POS_MSEC))
        frame = VideoFrame(t=t, image=cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), index=self._index)
        self._last_t = t
        self._index += 1
        return frame

    def _note_end(self) -> None:
        if self.frame_count is not None and self._index < self.frame_count - 1:
            self.error = (f"{self.path} ended early after {self._index} of {self.frame_count} "
                          "frames (truncated or corrupt file?)")

    def __iter__(self) -> Iterator[VideoFrame]:
        while (frame := self.read()) is not None:
            yield frame

    def close(self) -> None:
        """Release the decoder (idempotent)."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None


# ----------------------------------------------------------------- newest-frame threads

class LatestFrameReader:
    """A daemon thread calling ``grab()`` in a loop and keeping only the newest frame.

    ``grab`` returns ``(ok, rgb_image, t)``; ``ok=False`` with ``image=None`` and
    ``t=math.inf`` means "end of stream", ``ok=False`` otherwise "no frame this time".
    :meth:`frames` yields delivered frames (index counts delivered frames) and stops at the
    end of the stream, on :meth:`stop`, or when no frame arrived for ``stall_timeout`` s.
    """

    def __init__(self, grab: Grab, stall_timeout: float = DEFAULT_STALL_TIMEOUT_S,
                 name: str = "posecheck-capture") -> None:
        if stall_timeout <= 0:
            raise ValueError(f"stall_timeout must be > 0 seconds, got {stall_timeout}")
        self._grab = grab
        self.stall_timeout = stall_timeout
        self._cond = threading.Condition()
        self._latest: tuple[np.ndarray, float] | None = None
        self._seq = 0
        self._ended = False
        self._stop = threading.Event()
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ok, image, t = self._grab()
            if ok and image is not None:
                with self._cond:
                    if self._latest is not None:
                        self.dropped += 1
                    self._latest = (image, t)
                    self._seq += 1
                    self._cond.notify_all()
            elif image is None and t == math.inf:
                break
            else:
                self._stop.wait(0.005)  # a failed read: do not spin
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def next_frame(self) -> tuple[np.ndarray, float] | str | None:
        """The newest undelivered (image, t); None at the end; "stalled" after the timeout."""
        deadline = time.monotonic() + self.stall_timeout
        with self._cond:
            while self._latest is None:
                if self._ended or self._stop.is_set():
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return "stalled"
                self._cond.wait(remaining)
            latest, self._latest = self._latest, None
            return latest

    def stop(self, join_timeout: float = 1.0) -> None:
        """Ask the thread to end and wait briefly (a blocked device read may outlive this)."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join(join_timeout)


class _ThreadedSource(VideoSource):
    """Shared iteration over a :class:`LatestFrameReader`."""

    _reader: LatestFrameReader | None = None
    stall_message = "camera stopped delivering frames"

    def __iter__(self) -> Iterator[VideoFrame]:
        index = 0
        while self._reader is not None:
            item = self._reader.next_frame()
            if item is None:
                return
            if isinstance(item, str):
                self.error = (f"{self.description}: {self.stall_message} for more than "
                              f"{self._reader.stall_timeout:g} s")
                return
            image, t = item
            self._size = (int(image.shape[1]), int(image.shape[0]))
            yield VideoFrame(t=t, image=image, index=index)
            index += 1

    @property
    def dropped(self) -> int:
        """Frames replaced by a newer one before the consumer took them."""
        return self._reader.dropped if self._reader else 0


class CameraSource(_ThreadedSource):
    """A camera or stream URL read by a newest-frame thread (see module docstring).

    ``capture`` is an opened ``cv2.VideoCapture`` (or any object with ``read()``,
    ``get(prop)`` and ``release()``); :func:`open_source` builds it.
    """

    is_live = True

    def __init__(self, capture: Any, description: str,
                 stall_timeout: float = DEFAULT_STALL_TIMEOUT_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._cap = capture
        self.description = description
        self.fps = _positive(float(capture.get(cv2.CAP_PROP_FPS) or 0.0))
        self._size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH) or 0),
                      int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0))
        self._clock = clock
        self._t0: float | None = None
        self._reader = LatestFrameReader(self._grab, stall_timeout)

    @property
    def clock_origin(self) -> float | None:
        """``time.monotonic()`` at t = 0 (the first frame), for latency measurements."""
        return self._t0

    def _grab(self) -> tuple[bool, np.ndarray | None, float]:
        ok, bgr = self._cap.read()
        now = self._clock()
        if not ok or bgr is None:
            return False, None, 0.0
        if self._t0 is None:
            self._t0 = now
        return True, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), now - self._t0

    def close(self) -> None:
        """Stop the capture thread and release the device (idempotent)."""
        if self._reader is not None:
            self._reader.stop()
            self._reader = None
            self._cap.release()


class PacedFileSource(_ThreadedSource):
    """A file played at its own frame rate as a camera would deliver it (newest frame wins).

    ``t`` is the file's own timestamp of each delivered frame; frames the consumer is too
    slow to take are dropped. Playback starts when the frames are first asked for (the
    consumer is ready: a model that takes 2 s to load does not lose the first 2 s).
    ``loop``: start again at the end, times going on (one pass + 1 frame later).
    """

    is_live = True
    stall_message = "stopped delivering frames"

    def __init__(self, path: str | Path, stall_timeout: float = DEFAULT_STALL_TIMEOUT_S,
                 speed: float = 1.0, *, loop: bool = False) -> None:
        super().__init__()
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self._path = path
        self._file = FileSource(path)
        self.description = self._file.description
        self.fps = self._file.fps
        self.frame_count = self._file.frame_count
        self.rotation_deg = self._file.rotation_deg
        self._size = self._file.size
        self._speed = speed
        self._stall_timeout = stall_timeout
        self._start: float | None = None
        self._loop = loop
        self._offset = 0.0  # added to the file's times after each replay
        self._last_t: float | None = None
        self.passes = 1
        self._closed = False

    def __iter__(self) -> Iterator[VideoFrame]:
        if self._reader is None and not self._closed:
            self._reader = LatestFrameReader(self._grab, self._stall_timeout,
                                             name="posecheck-paced")
        yield from super().__iter__()

    def _next_file_frame(self) -> VideoFrame | None:
        frame = self._file.read()
        if frame is None and self._loop and self._last_t is not None and not self._file.error:
            self._file.close()
            self._file = FileSource(self._path)
            step = 1.0 / self.fps if self.fps else 1.0 / 30.0
            self._offset = self._last_t + step
            self.passes += 1
            frame = self._file.read()
            if frame is not None:
                frame = VideoFrame(t=frame.t + self._offset, image=frame.image,
                                   index=frame.index)
        elif frame is not None and self._offset:
            frame = VideoFrame(t=frame.t + self._offset, image=frame.image, index=frame.index)
        if frame is not None:
            self._last_t = frame.t
        return frame

    @property
    def clock_origin(self) -> float | None:
        """``time.monotonic()`` at which the frame with t = 0 was (or would be) released."""
        return self._start

    def _grab(self) -> tuple[bool, np.ndarray | None, float]:
        frame = self._next_file_frame()
        if frame is None:
            self.error = self._file.error
            return False, None, math.inf
        now = time.monotonic()
        if self._start is None:
            self._start = now - frame.t / self._speed
        delay = self._start + frame.t / self._speed - now
        if delay > 0:
            time.sleep(delay)
        return True, frame.image, frame.t

    def close(self) -> None:
        """Stop the pacing thread and release the file (idempotent)."""
        self._closed = True
        if self._reader is not None:
            self._reader.stop()
            self._reader = None
        self._file.close()


# -------------------------------------------------------------------------- factory

def _open_capture(spec: int | str) -> Any:
    _quiet_opencv()
    if isinstance(spec, int):
        cap = cv2.VideoCapture(spec)
        what = f"camera {spec}"
        hint = "is it connected and not in use by another program?"
    else:
        cap = cv2.VideoCapture(spec, cv2.CAP_FFMPEG)
        what = f"stream {spec}"
        hint = "check the URL and the network"
    if not cap.isOpened():
        cap.release()
        raise SourceError(f"Cannot open {what} ({hint})")
    return cap


def open_source(spec: str | int | Path, *, paced: bool = False,
                stall_timeout: float = DEFAULT_STALL_TIMEOUT_S,
                loop: bool = False) -> VideoSource:
    """Open a video file path, a camera index (``0`` or ``"0"``) or an rtsp/http(s) URL.

    ``paced=True`` plays a file in real time (see :class:`PacedFileSource`; ``loop``
    replays it);
    ``stall_timeout`` (seconds) ends a live source that stops delivering frames.
    Raises :class:`SourceError` with one line when the source cannot be used.
    """
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        index = int(spec)
        return CameraSource(_open_capture(index), f"camera {index}", stall_timeout)
    text = str(spec)
    if "://" in text:
        return CameraSource(_open_capture(text), text, stall_timeout)
    if paced:
        return PacedFileSource(text, stall_timeout, loop=loop)
    return FileSource(text)
