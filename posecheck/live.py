"""The live loop: camera (or paced video) -> pose -> routine/session -> window, sound, record.

Threads:

- the source's capture thread keeps only the newest frame (:mod:`posecheck.sources`), so
  lag never builds up;
- a *pose* thread takes the newest frame and runs pose estimation on it, back to back;
- a *measuring* thread runs the routine on each pose (:class:`posecheck.routine.Routine`
  around :class:`posecheck.session.Session`) while the model works on the next frame, and
  hands the newest result to the display and, when recording, every result to the
  recorder;
- the main thread draws and shows the newest result and reads keys (OpenCV GUI calls must
  stay on the main thread); in ``headless`` mode it only waits.

Keys: space pause, n next, s switch side, f full screen, q / Esc quit. Ctrl-C, closing the
window, or a camera that stops delivering frames all end the session normally: what was
measured is returned (and saved by the caller).

The window opens at the largest size that fits the screen with the camera's aspect
(:func:`window_size`); every frame is scaled to the window's current size before the
overlay is drawn, so the overlay is laid out for the window (and stays so when the user
resizes it or presses f).

No video is written unless ``record`` is given. Imports cv2 (through render and sources) and
mediapipe (through pose) lazily from :func:`run_live`.
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from posecheck.errors import PosecheckError
from posecheck.routine import Routine, Step
from posecheck.types import FrameResult, VideoFrame

WINDOW = "posecheck"
KEYS = {ord(" "): "pause", ord("n"): "next", ord("s"): "switch", ord("q"): "quit", 27: "quit",
        ord("f"): "fullscreen"}
SCREEN_MARGIN = (40, 48)  # px kept free of the window: borders, title bar, a task bar
DEFAULT_SCREEN = (1280, 720)  # when the screen size cannot be read


def screen_size() -> tuple[int, int] | None:
    """(width, height) of the screen in pixels, or None when it cannot be read.

    X11 (``$DISPLAY``, through libX11 with ctypes) and Windows; None elsewhere.
    """
    import ctypes
    import ctypes.util
    import os
    import sys

    if sys.platform == "win32":  # pragma: no cover - not tested on this platform
        user32 = ctypes.windll.user32  # type: ignore[attr-defined]
        return int(user32.GetSystemMetrics(0)), int(user32.GetSystemMetrics(1))
    if not os.environ.get("DISPLAY"):
        return None
    name = ctypes.util.find_library("X11")
    if name is None:
        return None
    try:
        x11 = ctypes.CDLL(name)
        x11.XOpenDisplay.restype = ctypes.c_void_p
        x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        display = x11.XOpenDisplay(None)
        if not display:
            return None
        x11.XDefaultScreen.argtypes = [ctypes.c_void_p]
        x11.XDisplayWidth.argtypes = x11.XDisplayHeight.argtypes = [ctypes.c_void_p,
                                                                     ctypes.c_int]
        x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        screen = x11.XDefaultScreen(display)
        size = int(x11.XDisplayWidth(display, screen)), int(x11.XDisplayHeight(display, screen))
        x11.XCloseDisplay(display)
    except (OSError, AttributeError):
        return None
    return size if size[0] > 0 and size[1] > 0 else None


def window_size(frame: tuple[int, int], screen: tuple[int, int] | None) -> tuple[int, int]:
    """The largest (width, height) with the frame's aspect that fits the screen (less
    :data:`SCREEN_MARGIN`); :data:`DEFAULT_SCREEN` when the screen is unknown."""
    sw, sh = screen or DEFAULT_SCREEN
    fw, fh = frame
    if fw <= 0 or fh <= 0:
        return sw - SCREEN_MARGIN[0], sh - SCREEN_MARGIN[1]
    scale = min((sw - SCREEN_MARGIN[0]) / fw, (sh - SCREEN_MARGIN[1]) / fh)
    return max(1, round(fw * scale)), max(1, round(fh * scale))


def fit(frame: tuple[int, int], area: tuple[int, int]) -> tuple[int, int]:
    """The largest size with the frame's aspect inside ``area`` (both (width, height))."""
    fw, fh = frame
    aw, ah = area
    if aw <= 0 or ah <= 0 or fw <= 0 or fh <= 0:
        return frame
    scale = min(aw / fw, ah / fh)
    return max(1, round(fw * scale)), max(1, round(fh * scale))


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """What the live command was asked to do."""

    source: str
    headless: bool = False
    record: Path | None = None
    landmarks_out: Path | None = None
    model: Path | None = None
    sound: bool = True
    num_poses: int = 1  # 2 tracks two people every frame: ~40% slower (bench_live.py)
    people_check_s: float = 2.0  # how often to count the people in view (0 = never)
    max_seconds: float | None = None  # stop after this much stream time (tests, demos)


@dataclass
class LiveStats:
    """Throughput and latency of the run (seconds)."""

    frames: int = 0
    dropped: int = 0
    latencies: list[float] = dataclasses.field(default_factory=list)
    wall_s: float = 0.0
    stop_reason: str = ""
    window: tuple[int, int] | None = None  # size of the last image shown, px

    @property
    def fps(self) -> float:
        """Frames measured per second of wall time."""
        return self.frames / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def median_latency_ms(self) -> float | None:
        """Median capture-to-result latency in milliseconds."""
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return 1000.0 * ordered[len(ordered) // 2]


class _Shared:
    """State handed between the measuring thread and the main thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latest: tuple[VideoFrame, FrameResult, str, float] | None = None
        self.seq = 0
        self.stop = threading.Event()
        self.done = threading.Event()
        self.commands: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.error: BaseException | None = None
        self.fps_times: deque[float] = deque(maxlen=30)


class LiveRunner:
    """Runs one live session; :meth:`run` returns when the routine ends or the user quits."""

    def __init__(self, routine: Routine, options: LiveOptions,
                 say: Callable[[str], None] = print) -> None:
        self.routine = routine
        self.options = options
        self.say = say
        self.stats = LiveStats()
        self._shared = _Shared()
        self.source: Any = None
        self.people_note: str | None = None
        # (stretch id, side) -> best corrected value of that step's measuring phase
        self.best: dict[tuple[str, str], float | None] = {}
        self.counter: PeopleCounter | None = None

    # ------------------------------------------------------------ measuring thread
    def _measure_loop(self, estimator: Any, recorder: Any, writer: Any, cues: Any,
                      counter: PeopleCounter | None) -> None:
        from posecheck.threads import Prefetch

        shared = self._shared

        def poses() -> Any:  # the pose thread: the model back to back on the newest frames
            for frame in self.source:
                if shared.stop.is_set():
                    return
                yield frame, estimator.detect(frame.image, frame.t)

        # The routine, the session and the cues of frame n run while the model works on
        # frame n + 1 (its inference releases the GIL): the model alone sets the rate.
        found = Prefetch(poses(), maxsize=1, name="posecheck-pose")
        try:
            for frame, pose in found:
                if shared.stop.is_set():
                    break
                self._apply_commands(frame.t)
                if counter is not None:
                    counter.maybe_count(frame.image, frame.t)
                result, kinds = self.routine.update(pose)
                status = self.routine.status(result)
                result = dataclasses.replace(result, status=status)
                self._after_result(frame, result, kinds, estimator, cues)
                if writer is not None:
                    writer.write(pose)
                if recorder is not None:
                    recorder.put((frame, result))
                if self.routine.finished:
                    break
                if self._over_time(frame.t):
                    self.stats.stop_reason = "time limit"
                    break
        except PosecheckError as exc:
            shared.error = exc
        finally:
            found.close()
            shared.done.set()

    def _over_time(self, t: float) -> bool:
        limit = self.options.max_seconds
        return limit is not None and t >= limit

    def _apply_commands(self, t: float) -> None:
        while True:
            try:
                cmd = self._shared.commands.get_nowait()
            except queue.Empty:
                return
            if cmd == "pause":
                self.routine.toggle_pause()
                self.say("paused" if self.routine.paused else "resumed")
            elif cmd == "next":
                self.routine.skip(t)
            elif cmd == "switch":
                self.routine.switch_side(t)

    def _after_result(self, frame: VideoFrame, result: FrameResult, kinds: list[str],
                      estimator: Any, cues: Any) -> None:
        now = time.monotonic()
        shared = self._shared
        if self.options.headless:
            self._latency(frame, now)
        self.stats.frames += 1
        shared.fps_times.append(now)
        step = self.routine.step
        if step is not None:  # the number the summary and the history will store
            key = (step.stretch.id, step.side)
            self.best[key] = self.routine.session.best_deg(*key)
        n_people = max(getattr(estimator, "last_num_people", 1) or 0, self._people)
        self.people_note = (f"{n_people} people in view: following one (largest, most central)"
                            if n_people > 1 else None)
        for kind in kinds:
            cues.play(kind)
        self._announce(result, kinds)
        with shared.lock:
            shared.latest = (frame, result, self.routine.phase, now)
            shared.seq += 1

    def _latency(self, frame: VideoFrame, now: float) -> None:
        """Record capture-to-display (headless: capture-to-result) latency."""
        origin = getattr(self.source, "clock_origin", None)
        if origin is not None:
            self.stats.latencies.append(now - (origin + frame.t))

    def _announce(self, result: FrameResult, kinds: list[str]) -> None:
        for event in result.events:
            if event.kind == "start":
                self.say(f"[{event.t:7.1f} s] {event.side}: hold started at "
                         f"{event.value_deg:.0f}°" if event.value_deg is not None else
                         f"[{event.t:7.1f} s] {event.side}: hold started")
            elif event.kind == "target":
                self.say(f"[{event.t:7.1f} s] {event.side}: hold target reached")
            elif event.kind == "end":
                self.say(f"[{event.t:7.1f} s] {event.side}: hold ended after "
                         f"{event.elapsed_s:.1f} s")
        for kind in kinds:
            if kind in ("next", "finished", "go", "neutral"):
                step = self.routine.step
                what = step.label if step is not None else "routine"
                text = {"next": f"next: {what}", "finished": "routine finished",
                        "go": f"go: {what}", "neutral": self.routine.note}[kind]
                self.say(f"[{result.t:7.1f} s] {text}")

    # ------------------------------------------------------------ main thread
    def overlay_info(self, result: FrameResult) -> Any:
        """The render context for the current state."""
        from posecheck.render import OverlayInfo

        step: Step | None = self.routine.step
        best = {}
        if step is not None:
            best = {step.side: self.best.get((step.stretch.id, step.side))}
        times = self._shared.fps_times
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and \
            times[-1] > times[0] else None
        return OverlayInfo(
            stretch=step.stretch if step else None,
            active_side=step.side if step else None,
            best_deg=best, fps=fps, mirrored=not self.options.headless,
            paused=self.routine.paused, countdown=self.routine.countdown_left(result.t),
            instructions=self.routine.phase in ("setup", "neutral", "countdown"),
            people_note=self.people_note,
        )

    def _display_loop(self, annotator: Any) -> None:
        import cv2

        shared = self._shared
        seen = 0
        cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO | cv2.WINDOW_GUI_NORMAL)
        sized = full = False
        while not shared.done.is_set():
            with shared.lock:
                latest, seq = shared.latest, shared.seq
            if latest is not None and seq != seen:
                seen = seq
                frame, result, _, _ = latest
                if not sized:  # the first frame gives the aspect: open as large as fits
                    cv2.resizeWindow(WINDOW, *window_size(frame.size, screen_size()))
                    sized = True
                image = self._window_image(cv2, frame)
                image = annotator.annotate(image, result, self.overlay_info(result))
                self.stats.window = (int(image.shape[1]), int(image.shape[0]))
                cv2.imshow(WINDOW, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
                self._latency(frame, time.monotonic())
            key = cv2.waitKey(5) & 0xFF
            command = KEYS.get(key)
            if command == "quit" or cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
                self.stats.stop_reason = "window closed" if command != "quit" else "quit"
                break
            if command == "fullscreen":
                full = not full
                cv2.setWindowProperty(WINDOW, cv2.WND_PROP_FULLSCREEN,
                                      cv2.WINDOW_FULLSCREEN if full else cv2.WINDOW_NORMAL)
            elif command:
                shared.commands.put(command)
        cv2.destroyWindow(WINDOW)

    @staticmethod
    def _window_image(cv2: Any, frame: VideoFrame) -> Any:
        """The frame scaled to the window's current image area (aspect kept)."""
        try:
            _, _, w, h = cv2.getWindowImageRect(WINDOW)
        except cv2.error:
            return frame.image
        size = fit(frame.size, (w, h))
        if size == frame.size:
            return frame.image
        inter = cv2.INTER_AREA if size[0] < frame.size[0] else cv2.INTER_LINEAR
        return cv2.resize(frame.image, size, interpolation=inter)

    @property
    def _people(self) -> int:
        return self.counter.count if self.counter is not None else 0

    def run(self, source: Any, estimator: Any, *, recorder: Any = None, writer: Any = None,
            cues: Any = None, annotator: Any = None,
            counter: PeopleCounter | None = None) -> LiveStats:
        """Run until the routine finishes, the user quits, or the source ends."""
        self.source = source
        shared = self._shared
        if cues is None:
            from posecheck.cues import make_cue_player

            cues = make_cue_player(False)
        worker = threading.Thread(target=self._measure_loop, name="posecheck-measure",
                                  args=(estimator, recorder, writer, cues, counter),
                                  daemon=True)
        self.counter = counter
        start = time.monotonic()
        worker.start()
        try:
            if self.options.headless or annotator is None:
                while not shared.done.wait(0.1):
                    pass
            else:
                self._display_loop(annotator)
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM/SIGHUP raised as one (cli)
            self.stats.stop_reason = f"interrupted ({exc or 'Ctrl-C'})"
        finally:
            shared.stop.set()
            worker.join(timeout=10.0)
            self.stats.wall_s = time.monotonic() - start
            self.stats.dropped = int(getattr(source, "dropped", 0) or 0)
        if shared.error is not None:
            self.stats.stop_reason = str(shared.error)
        elif not self.stats.stop_reason:
            error = getattr(source, "error", None)
            self.stats.stop_reason = error or ("routine finished" if self.routine.finished
                                               else "source ended")
        return self.stats


class PeopleCounter:
    """Counts the people in view every ``every_s`` seconds of stream time.

    The tracking estimator follows one person (``num_poses=1`` keeps the live loop at camera
    rate); this separate still-image estimator looks for up to ``max_people`` now and then,
    so the user can be told that someone else is in view. ``estimator`` is any object with
    ``detect(image, t)`` and ``last_num_people`` (a :class:`posecheck.pose.PoseEstimator`
    in image mode).
    """

    def __init__(self, estimator: Any, every_s: float = 2.0) -> None:
        if every_s <= 0:
            raise ValueError(f"every_s must be > 0 seconds, got {every_s}")
        self.estimator = estimator
        self.every_s = every_s
        self.count = 0
        self._last_t: float | None = None

    def maybe_count(self, image: Any, t: float) -> int:
        """Count now if ``every_s`` has passed since the last count; returns the count."""
        if self._last_t is None or t - self._last_t >= self.every_s:
            self._last_t = t
            self.estimator.detect(image, t)
            self.count = int(self.estimator.last_num_people)
        return self.count


class Recorder:
    """Renders and writes every measured frame to an mp4 in its own thread (``--record``).

    The queue is bounded: when encoding cannot keep up, the measuring thread waits rather
    than the recording silently skipping frames.
    """

    def __init__(self, sink: Any, annotator: Any, info: Callable[[FrameResult], Any],
                 maxsize: int = 32) -> None:
        self.sink = sink
        self.annotator = annotator
        self.info = info
        self._queue: queue.Queue[tuple[VideoFrame, FrameResult] | None] = queue.Queue(maxsize)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="posecheck-record", daemon=True)
        self._thread.start()

    def put(self, item: tuple[VideoFrame, FrameResult]) -> None:
        """Queue one frame (blocks when the queue is full)."""
        if self.error is None:
            self._queue.put(item)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            frame, result = item
            try:
                image = self.annotator.annotate(frame.image, result, self.info(result))
                self.sink.write(image, frame.t)
            except PosecheckError as exc:
                self.error = exc

    def close(self) -> None:
        """Finish writing the queued frames and close the video file."""
        self._queue.put(None)
        self._thread.join()
        self.sink.close()
