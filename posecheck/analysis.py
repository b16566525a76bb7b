"""Analyse recorded inputs (videos or landmark JSONL files): the engine of ``posecheck analyse``.

API::

    AnalyseOptions(stretch=None, threshold_deg=None, out_dir="posecheck-out", video=True,
                   model_path=None, mot=False, neutral=True, smooth=True,
                   detect_max_side=960, progress=True, pose_workers=None)
    expand_inputs(specs) -> list[Path]            # files, folders, globs -> input files
    output_dirs(inputs, out_root) -> list[Path]   # one folder per input, same stems suffixed
    analyse_file(path, out_dir, options) -> InputResult      # never raises for a bad input
    analyse_many(paths, options, jobs=None, on_result=None) -> list[InputResult]
    result_line(result) -> str                    # "cam01.mp4: 100 frames, ... -> out/cam01/"

Per input, everything goes through :class:`posecheck.session.Session` (the same pipeline as
``live`` and replay): a video is decoded, each frame's pose is found with
:class:`posecheck.pose.PoseEstimator` and fed to the session; a landmark file's frames go
straight into the session. Results land in ``out_dir``: ``summary.json``, ``frames.csv``,
``landmarks.jsonl`` (videos), ``annotated.mp4`` (videos unless ``video=False``),
``angles.png`` and, with ``mot=True``, ``angles.mot``. Every file is written atomically.

Speed: a pipeline of threads joined by small bounded queues. Decoding (and downscaling)
runs in one thread, pose inference in a worker process fed by the calling thread, the
session and the per-frame writers in another thread, drawing and encoding the annotated
video in a fourth. Without the annotated video, the later part of a long enough video is
inferred meanwhile by a second worker process (:mod:`posecheck.segments`). MediaPipe gets
the frame downscaled so its longest side is at most ``detect_max_side`` px (the model
input is 256x256 px; normalized landmarks stay within a few thousandths of the full-size
ones, see docs/analyse.md); landmarks are reported for the full-size frame. The annotated
video is drawn at that reduced size too.

Memory: streaming. No frame is kept after it is drawn; per frame only a small row of
numbers is kept (for the plot and the .mot file).

Errors: a bad input (missing, not a video, truncated, no frames, malformed JSONL) gives an
:class:`InputResult` with ``error`` set; other inputs are unaffected.

Convention: degrees; hip rotation positive = internal rotation (IR), negative = external
rotation (ER); times in seconds from the container's timestamps.

Imports cv2 (through sources/render) and, when a video is analysed, mediapipe (through
posecheck.pose). Must not print or exit: the CLI does that.
"""

from __future__ import annotations

import functools
import glob
import itertools
import os
import queue
import sys
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from posecheck.errors import PosecheckError
from posecheck.landmarks import SIDES
from posecheck.session import Session
from posecheck.stretches import Stretch, get_stretch, load_catalogue
from posecheck.summary import deg_text
from posecheck.types import FrameResult, PoseFrame

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".webm", ".mkv", ".m4v"})
LANDMARK_SUFFIXES = frozenset({".jsonl"})
DEFAULT_STRETCHES = ("internal-rotation", "external-rotation")
DEFAULT_DETECT_MAX_SIDE = 960
QUEUE_SIZE = 4  # frames in flight between threads; bounds memory


@dataclass(frozen=True, slots=True)
class AnalyseOptions:
    """What to measure and what to write (see the module docstring).

    ``threshold_deg``: entry threshold of the (first) stretch, degrees in its direction.
    ``detect_max_side``: longest side (px) of the image handed to MediaPipe; 0 = full size.
    ``pose_workers``: pose model processes for one video, each inferring a part of it
    (:mod:`posecheck.segments`); None = :func:`pose_workers` decides; 1 = one pass.
    """

    stretch: str | None = None
    threshold_deg: float | None = None
    out_dir: Path = Path("posecheck-out")
    video: bool = True
    model_path: Path | None = None
    mot: bool = False
    neutral: bool = True
    smooth: bool = True
    detect_max_side: int = DEFAULT_DETECT_MAX_SIDE
    progress: bool = True
    pose_workers: int | None = None

    def __post_init__(self) -> None:
        if self.detect_max_side < 0:
            raise ValueError(f"detect_max_side must be >= 0, got {self.detect_max_side}")
        if self.pose_workers is not None and self.pose_workers < 1:
            raise ValueError(f"pose_workers must be >= 1, got {self.pose_workers}")
        if self.threshold_deg is not None and not 0 <= self.threshold_deg <= 180:
            raise ValueError(f"threshold_deg must be in 0..180, got {self.threshold_deg}")


@dataclass(frozen=True, slots=True)
class InputResult:
    """The outcome of one input: ``summary`` (summary.json dict) unless it failed.

    ``error``: why the input could not be analysed, or not completely (a video that broke
    off mid-way has both ``summary`` and ``error``); None when it was. ``note``: something
    worth knowing that is not a failure (no person found). ``files``: the outputs written.
    """

    input: Path
    out_dir: Path
    summary: dict[str, Any] | None = None
    error: str | None = None
    note: str | None = None
    files: tuple[Path, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the input was analysed completely (no error)."""
        return self.error is None


# ------------------------------------------------------------------------- inputs
def _is_input(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES | LANDMARK_SUFFIXES


def expand_inputs(specs: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The input files named by ``specs``, in order, each once.

    A folder gives its videos and ``.jsonl`` files (not recursive, sorted by name), and so
    does a glob pattern; anything else is kept as given, so a missing file becomes a
    failed input with a clear message instead of stopping the batch.
    """
    out: list[Path] = []
    for spec in specs:
        text = os.fspath(spec)
        path = Path(text).expanduser()
        if path.is_dir():
            out.extend(sorted(p for p in path.iterdir() if p.is_file() and _is_input(p)))
        elif not path.exists() and glob.has_magic(text):
            out.extend(sorted(Path(p) for p in glob.glob(os.path.expanduser(text))
                              if Path(p).is_file() and _is_input(Path(p))))
        else:
            out.append(path)
    seen: set[Path] = set()
    unique = []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def output_dirs(inputs: Sequence[Path], out_root: Path) -> list[Path]:
    """One output folder per input: ``out_root/<stem>``; a repeated stem gets ``-2``, ``-3``…"""
    used: set[str] = set()
    dirs = []
    for p in inputs:
        name = p.stem or "input"
        k = 2
        while name.lower() in used:
            name = f"{p.stem}-{k}"
            k += 1
        used.add(name.lower())
        dirs.append(out_root / name)
    return dirs


def stretches_for(options: AnalyseOptions) -> list[Stretch]:
    """The stretches measured: ``options.stretch``, else both rotation stretches."""
    catalogue = load_catalogue()
    ids = (options.stretch,) if options.stretch else DEFAULT_STRETCHES
    return [get_stretch(sid, catalogue) for sid in ids]


# ------------------------------------------------------------------------- threads
_END = object()


class Prefetch:
    """Runs ``iterable`` (with ``prepare`` applied) in a thread feeding a bounded queue.

    Iterating yields ``(item, prepare(item))`` in order (``(keep(item), prepare(item))``
    with ``keep``, e.g. to let go of a full-size image once prepared). An exception in the
    thread is raised again by the iteration, after the items before it. :meth:`close`
    stops the thread early (e.g. when the consumer failed).
    """

    def __init__(self, pool: ThreadPoolExecutor, iterable: Any,
                 prepare: Callable[[Any], Any], maxsize: int = QUEUE_SIZE,
                 keep: Callable[[Any], Any] | None = None) -> None:
        self._q: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._stop = threading.Event()
        self._iterable = iterable
        self._prepare = prepare
        self._keep = keep
        self._future: Future[None] = pool.submit(self._produce)

    def _put(self, item: Any) -> bool:
        """Put unless stopped; False when the consumer is gone."""
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            keep = self._keep
            for item in self._iterable:
                if not self._put((item if keep is None else keep(item), self._prepare(item))):
                    return
        finally:
            self._put(_END)

    def __iter__(self) -> Iterator[tuple[Any, Any]]:
        while (item := self._q.get()) is not _END:
            yield item
        self._future.result()  # raise what the thread raised, if anything

    def close(self) -> None:
        """Stop the thread and drop what is queued (idempotent)."""
        self._stop.set()
        while not self._future.done():
            try:
                self._q.get(timeout=0.1)
            except queue.Empty:
                continue


class Consumer:
    """Runs ``handle(item)`` for every :meth:`put` item in a thread, through a bounded queue.

    :meth:`finish` waits for the queue to drain and raises what ``handle`` raised; so does
    :meth:`put` once the thread has failed.
    """

    def __init__(self, pool: ThreadPoolExecutor, handle: Callable[[Any], None],
                 maxsize: int = QUEUE_SIZE) -> None:
        self._q: queue.Queue[Any] = queue.Queue(maxsize=maxsize)
        self._handle = handle
        self._future: Future[None] = pool.submit(self._run)

    def _run(self) -> None:
        while (item := self._q.get()) is not _END:
            self._handle(item)

    def put(self, item: Any) -> None:
        """Queue one item (blocks while the queue is full)."""
        while True:
            if self._future.done():
                self._future.result()
                raise RuntimeError("consumer thread ended early")
            try:
                self._q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def finish(self) -> None:
        """Wait until every item is handled; raise the thread's exception, if any."""
        if not self._future.done():
            self.put(_END)
        self._future.result()

    def abandon(self) -> None:
        """Stop without handling what is queued (after an error elsewhere)."""
        while not self._future.done():
            try:
                while True:
                    self._q.get_nowait()
            except queue.Empty:
                pass
            try:
                self._q.put(_END, timeout=0.1)
            except queue.Full:
                continue
            wait([self._future])


def scaled_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """(width, height) shrunk so the longest side is <= ``max_side`` px (0: unchanged)."""
    w, h = size
    if max_side <= 0 or max(w, h) <= max_side:
        return w, h
    s = max_side / max(w, h)
    return max(1, round(w * s)), max(1, round(h * s))


def downscale(image_rgb: np.ndarray, max_side: int) -> np.ndarray:
    """``image_rgb`` shrunk (INTER_AREA) to :func:`scaled_size` (``max_side`` px).

    Returned unchanged when already small enough or ``max_side`` is 0. The aspect ratio is
    kept (to rounding), so normalized landmark coordinates mean the same in both images.
    """
    import cv2

    h, w = image_rgb.shape[:2]
    size = scaled_size((w, h), max_side)
    if size == (w, h):
        return image_rgb
    return cv2.resize(image_rgb, size, interpolation=cv2.INTER_AREA)


# ------------------------------------------------------------------------- per input
@dataclass
class _Series:
    """Per-frame numbers kept for the plot: 5 float64 per frame (40 bytes), never images.

    ``gate``: plot the rotation only in frames where the shown stretch was measurable (the
    view check passed), so the plot agrees with the summary's peaks.
    """

    gate: bool = True
    t: array[float] = field(default_factory=lambda: array("d"))
    rotation: dict[str, array[float]] = field(
        default_factory=lambda: {s: array("d") for s in SIDES})
    measured: dict[str, array[float]] = field(
        default_factory=lambda: {s: array("d") for s in SIDES})

    def add(self, r: FrameResult) -> None:
        self.t.append(r.t)
        for s in SIDES:
            rot, meas = r.rotation_deg.get(s), r.measured.get(s)
            if self.gate and meas is None:
                rot = None
            self.rotation[s].append(np.nan if rot is None else float(rot))
            self.measured[s].append(np.nan if meas is None else float(meas))


class _Outputs:
    """The per-frame writers of one input; :meth:`finish` renames them into place."""

    def __init__(self, out_dir: Path, options: AnalyseOptions, landmarks: bool,
                 gate_rotation: bool) -> None:
        from posecheck.landmark_io import LandmarkWriter
        from posecheck.outputs import FramesCsvWriter, MotWriter

        self.out_dir = out_dir
        self.csv = FramesCsvWriter(out_dir / "frames.csv")
        self.mot = MotWriter(out_dir / "angles.mot") if options.mot else None
        self.landmarks = LandmarkWriter(out_dir / "landmarks.jsonl") if landmarks else None
        self.series = _Series(gate=gate_rotation)

    def frame(self, result: FrameResult) -> None:
        self.csv.write(result)
        if self.mot is not None:
            self.mot.add(result)
        if self.landmarks is not None:
            self.landmarks.write(result.pose)
        self.series.add(result)

    def finish(self) -> list[Path]:
        self.csv.close()
        files = [self.csv.path]
        if self.landmarks is not None:
            self.landmarks.close()
            files.append(self.out_dir / "landmarks.jsonl")
        if self.mot is not None:
            files.append(self.mot.close())
        return files

    def abort(self) -> None:
        self.csv.abort()
        if self.landmarks is not None:
            self.landmarks.close()  # keeps the landmarks found before the failure


@dataclass
class _Run:
    """What the frame loop of one input produced."""

    session: Session
    outputs: _Outputs
    kind: str
    fps: float | None
    frame_count: int | None = None
    model: dict[str, str] | None = None
    source_error: str | None = None
    files: list[Path] = field(default_factory=list)


def _progress(path: Path, total: int | None, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=path.name, unit="frame", file=sys.stderr,
                disable=not enabled, leave=False, dynamic_ncols=True)


def _new_session(options: AnalyseOptions) -> Session:
    return Session(stretches_for(options), threshold_deg=options.threshold_deg,
                   smooth=options.smooth, neutral=options.neutral)


def _gated(session: Session) -> bool:
    """Plot rotation only where measured: when the shown stretch measures rotation."""
    return session.primary.measure == "rotation_deg"


def _overlay(session: Session) -> Any:
    from posecheck.render import OverlayInfo

    single = len(session.stretches) == 1
    return OverlayInfo(stretch=session.primary if single else None, mirrored=False)


def pose_estimator_for(options: AnalyseOptions, instance: int = 0) -> Any:
    """The pose model for one video (or for part ``instance`` of it): a shared worker
    process, reset for this input."""
    from posecheck.pose_worker import shared_worker

    return shared_worker(options.model_path, instance=instance)


def pose_workers(options: AnalyseOptions) -> int:
    """How many pose model processes share one video (see :class:`AnalyseOptions`).

    By default one per core (at most :data:`posecheck.segments.MAX_PARTS`) without the
    annotated video, and one with it: drawing must follow the session frame by frame, so
    the later parts could only be drawn after the first, and the time saved (about 7 %
    measured) does not pay for another model process's memory.
    """
    from posecheck.segments import MAX_PARTS

    if options.pose_workers is not None:
        return options.pose_workers
    if options.video:
        return 1
    return max(1, min(MAX_PARTS, os.cpu_count() or 1))


def _run_video(path: Path, out_dir: Path, options: AnalyseOptions) -> _Run:
    """Decode -> detect -> session -> outputs -> annotated video, as a pipeline of threads.

    Pose inference (the bottleneck) runs in a worker process (:mod:`posecheck.pose_worker`:
    MediaPipe holds the GIL while it infers); this thread hands it each frame and waits,
    while decoding and downscaling, the session and the per-frame writers, and drawing
    and encoding each run in their own thread of this process on the other core. With
    several cores the later parts of the video are inferred meanwhile by other worker
    processes (:mod:`posecheck.segments`); the session still sees every frame in order.
    """
    from posecheck.segments import plan_parts
    from posecheck.sources import FileSource

    session = _new_session(options)
    workers = pose_workers(options)
    # several model processes keep every core busy: one decoder thread each then, fewer
    # frames held (memory), and matplotlib imported at the end, when the decoders are gone
    with FileSource(path, threads=1 if workers > 1 or _IN_POOL else None) as source, \
            ThreadPoolExecutor(4, thread_name_prefix="posecheck-analyse") as pool:
        est = pose_estimator_for(options)
        parts = plan_parts(source.frame_count, source.fps, workers) \
            if hasattr(est, "detect_stream") else plan_parts(None, None, 1)
        if len(parts) == 1:
            pool.submit(_warm_imports)  # matplotlib for the plot, on the idle core
        model = {"name": est.model.name, "sha256": est.model.sha256}
        outputs = _Outputs(out_dir, options, True, _gated(session))
        run = _Run(session, outputs, "video", source.fps, source.frame_count, model)
        bar = _progress(path, source.frame_count, options.progress)
        stages: _Stages | None = None
        helpers: list[Any] = []
        threads = _opencv_threads(1 if len(parts) > 1 else None)
        try:
            helpers = _start_parts(path, parts[1:], options, lambda: bar.update(1))
            stages = _Stages(pool, out_dir, source, session, outputs, options)
            head = _Before(stages.frames, parts[0].end_s)
            for (frame, small), pose in _poses(est, head):
                stages.post.put((replace(pose, image_size=frame.size), small))
                bar.update(1)
            if helpers:
                later = itertools.chain.from_iterable(h.poses() for h in helpers)
                if options.video:  # the frames are needed to draw them: decode on
                    for (frame, small), pose in _matched(head.rest(), later, est):
                        stages.post.put((replace(pose, image_size=frame.size), small))
                else:
                    stages.frames.close()
                    for pose in later:
                        stages.post.put((pose, None))
            stages.finish()
        except BaseException:
            for h in helpers:
                h.stop()
            if stages is not None:
                stages.abandon()
            outputs.abort()
            raise
        finally:
            bar.close()
            for h in helpers:
                h.close()
            _opencv_threads(threads)
        if options.video:
            run.files.append(out_dir / "annotated.mp4")
        run.source_error = source.error or next(
            (h.source_error for h in helpers if h.source_error), None)
    return run


def _opencv_threads(n: int | None) -> int:
    """Set OpenCV's thread count (None: leave it); returns the previous one.

    While several model processes keep every core busy, OpenCV's own worker threads (for
    colour conversion and resizing) only add switching: measured about 3 % faster with 1.
    """
    import cv2

    prev = int(cv2.getNumThreads())
    if n is not None:
        cv2.setNumThreads(n)
    return prev


def _start_parts(path: Path, parts: Sequence[Any], options: AnalyseOptions,
                 on_frame: Callable[[], None]) -> list[Any]:
    """A :class:`posecheck.segments.PartInference` thread per part (none for no parts)."""
    from posecheck.segments import PartInference
    from posecheck.sources import FileSource

    def prepare(image: np.ndarray) -> np.ndarray:
        return downscale(image, options.detect_max_side)

    helpers = []
    try:
        for k, part in enumerate(parts, start=1):
            helpers.append(PartInference(
                path, part, functools.partial(FileSource, threads=1),
                functools.partial(pose_estimator_for, options, k), prepare, on_frame))
    except BaseException:
        for h in helpers:
            h.stop()
        raise
    return helpers


class _Before:
    """The items of ``frames`` ((frame, small) pairs) timed before ``end_s``; :meth:`rest`
    continues with the first item at or after it, then the others."""

    def __init__(self, frames: Iterable[tuple[Any, np.ndarray]], end_s: float) -> None:
        self._it = iter(frames)
        self._end = end_s
        self._held: tuple[Any, np.ndarray] | None = None

    def __iter__(self) -> Iterator[tuple[Any, np.ndarray]]:
        for item in self._it:
            if item[0].t >= self._end:
                self._held = item
                return
            yield item

    def rest(self) -> Iterator[tuple[Any, np.ndarray]]:
        if self._held is not None:
            yield self._held
            self._held = None
        yield from self._it


def _matched(frames: Iterable[tuple[Any, np.ndarray]], poses: Iterable[PoseFrame], est: Any
             ) -> Iterator[tuple[tuple[Any, np.ndarray], PoseFrame]]:
    """Pair decoded frames with the poses inferred for them elsewhere, by timestamp.

    Both come from the same container's timestamps, so they match exactly; a frame
    without a pose (a container whose times had to be made up differs between decoders)
    is inferred here instead, a pose without a frame is dropped.
    """
    tol = 1e-4
    it = iter(poses)
    pending = next(it, None)
    for frame, small in frames:
        while pending is not None and pending.t < frame.t - tol:
            pending = next(it, None)
        if pending is not None and abs(pending.t - frame.t) <= tol:
            yield (frame, small), pending
            pending = next(it, None)
        else:
            yield (frame, small), est.detect(small, frame.t)


def _poses(est: Any, frames: Iterable[tuple[Any, np.ndarray]]
           ) -> Iterator[tuple[tuple[Any, np.ndarray], PoseFrame]]:
    """``((frame, small), pose)`` in order: pipelined when the estimator can stream."""
    items = ((item, item[1], item[0].t) for item in frames)
    if hasattr(est, "detect_stream"):
        yield from est.detect_stream(items)
    else:
        for item, small, t in items:
            yield item, est.detect(small, t)


def _warm_imports() -> None:
    """Import matplotlib's figure machinery early (in a thread), so the plot is quick."""
    import matplotlib.backends.backend_agg
    import matplotlib.figure  # noqa: F401


@dataclass(frozen=True, slots=True)
class _FrameInfo:
    """What the pipeline keeps of a decoded frame once it is downscaled: its time (s) and
    full (width, height) px."""

    t: float
    size: tuple[int, int]


class _Stages:
    """The threads of a video run: decode (:class:`Prefetch`), post (session + writers),
    render (overlay + encoder, optional)."""

    def __init__(self, pool: ThreadPoolExecutor, out_dir: Path, source: Any,
                 session: Session, outputs: _Outputs, options: AnalyseOptions) -> None:
        self.session, self.outputs = session, outputs
        # the encoder first: when it cannot be opened no thread has been started yet
        self.render = _video_writer(pool, out_dir, source, session, options) \
            if options.video else None
        self.post = Consumer(pool, self._post)
        self.frames = Prefetch(pool, source, lambda f: downscale(f.image, options.detect_max_side),
                               keep=lambda f: _FrameInfo(f.t, f.size))

    def _post(self, item: tuple[PoseFrame, np.ndarray]) -> None:
        pose, small = item
        result = self.session.update(pose)
        self.outputs.frame(result)
        if self.render is not None:
            self.render.put((small, result))

    def finish(self) -> None:
        """Wait until every frame went through every stage; raise what a stage raised."""
        self.post.finish()
        if self.render is not None:
            self.render.finish()

    def abandon(self) -> None:
        """Stop every stage (after an error); the caller discards the outputs."""
        self.frames.close()
        if self.render is not None:
            self.render.abandon()
        self.post.abandon()


def _video_writer(pool: ThreadPoolExecutor, out_dir: Path, source: Any, session: Session,
                  options: AnalyseOptions) -> Consumer:
    """A thread that draws the overlay on each (image, result) and encodes the video.

    The video has the size of the image given to the pose model (longest side
    ``detect_max_side``): drawing and encoding full-size phone frames would cost more than
    the pose inference itself.
    """
    from posecheck.outputs import VideoSink
    from posecheck.render import Annotator

    size = scaled_size(source.size, options.detect_max_side)
    annotator, info = Annotator(), _overlay(session)
    sink = VideoSink(out_dir / "annotated.mp4", source.fps or 30.0, size)

    def handle(item: Any) -> None:
        if item is None:
            sink.close()
            return
        image, result = item
        sink.write(annotator.annotate(image, result, info), result.t)

    class _Writer(Consumer):
        def finish(self) -> None:
            self.put(None)  # close the sink inside the thread, after the last frame
            super().finish()

        def abandon(self) -> None:
            super().abandon()
            sink.abort()

    return _Writer(pool, handle)


def _run_landmarks(path: Path, out_dir: Path, options: AnalyseOptions) -> _Run:
    """Landmark frames straight into the session (no model, no video).

    The first frame is read before anything is written, so a missing, empty or malformed
    file leaves no output folder behind.
    """
    from posecheck.errors import LandmarkFileError
    from posecheck.landmark_io import read_landmarks

    frames = read_landmarks(path)
    first = next(frames, None)
    if first is None:
        raise LandmarkFileError(f"{path} contains no frames")
    session = _new_session(options)
    run = _Run(session, _Outputs(out_dir, options, False, _gated(session)), "landmarks", None)
    bar = _progress(path, None, options.progress)
    try:
        for pose in itertools.chain([first], frames):
            run.outputs.frame(session.update(pose))
            bar.update(1)
    except BaseException:
        run.outputs.abort()
        raise
    finally:
        bar.close()
    run.fps = _fps_from_times(run.outputs.series.t)
    return run


def _fps_from_times(times: Sequence[float]) -> float | None:
    """Nominal frame rate from frame times: 1 / median interval (None with < 2 frames)."""
    if len(times) < 2:
        return None
    dt = float(np.median(np.diff(np.asarray(times))))
    return 1.0 / dt if dt > 0 else None


def _summary(path: Path, run: _Run, started_at: str) -> dict[str, Any]:
    """summary.json: metadata (docs/summary.md) around the session's measurements."""
    from posecheck.summary import complete_summary, file_sha256

    return complete_summary(run.session.summary(), kind=run.kind, input=str(path),
                            content_sha256=file_sha256(path), started_at=started_at,
                            model=run.model, fps=run.fps)


def _plot(out_dir: Path, run: _Run, summary: dict[str, Any]) -> Path:
    """angles.png: rotation per side over time, holds shaded, threshold drawn."""
    from posecheck.plots import plot_angles

    s = run.outputs.series
    holds = {side: summary["sides"][side]["holds"] for side in SIDES}
    single = len(run.session.stretches) == 1
    targets = None
    if not single:  # e.g. both rotation stretches: each one's entry threshold
        thr = {st.id: run.session.pairs[(st.id, SIDES[0])].threshold_deg
               for st in run.session.stretches}  # --threshold moves the first one
        targets = [(st.direction * thr[st.id],
                    f"{'IR' if st.direction > 0 else 'ER'} target {thr[st.id]:.0f}\u00b0")
                   for st in run.session.stretches if st.measure == "rotation_deg"]
    return plot_angles(out_dir / "angles.png", s.t, s.rotation, measured=s.measured,
                       holds_by_side=holds, threshold_deg=summary.get("threshold_deg"),
                       stretch=run.session.primary if single else None,
                       title=Path(summary["input"]).name, targets=targets)


def _analyse(path: Path, out_dir: Path, options: AnalyseOptions) -> InputResult:
    from posecheck.outputs import write_summary
    from posecheck.summary import utc_now_iso

    started = utc_now_iso()
    if path.suffix.lower() in LANDMARK_SUFFIXES:
        run = _run_landmarks(path, out_dir, options)
    else:
        run = _run_video(path, out_dir, options)
    run.session.finish()
    files = run.outputs.finish() + run.files
    summary = _summary(path, run, started)
    files.append(_plot(out_dir, run, summary))
    files.append(write_summary(out_dir / "summary.json", summary))
    note = None
    if not summary["frames_with_pose"]:
        note = "no person found in any frame (is the whole body in view?)"
    return InputResult(path, out_dir, summary, error=run.source_error, note=note,
                       files=tuple(files))


def analyse_file(path: Path, out_dir: Path, options: AnalyseOptions) -> InputResult:
    """Analyse one input into ``out_dir``; a bad input gives ``error``, never an exception.

    A video that breaks off mid-way is analysed up to the break, its outputs are written,
    and ``error`` says where it broke (so the batch exits non-zero).
    Raises only for programming errors and KeyboardInterrupt.
    """
    if not path.exists():
        return InputResult(path, out_dir, error=f"{path}: file not found")
    if not path.is_file():
        return InputResult(path, out_dir, error=f"{path}: not a file")
    try:
        return _analyse(path, out_dir, options)
    except PosecheckError as exc:
        return InputResult(path, out_dir, error=str(exc))
    except OSError as exc:
        return InputResult(path, out_dir, error=f"{path}: {exc.strerror or exc}")


# ------------------------------------------------------------------------- batches
_IN_POOL = False  # set in the processes of a several-file run (:func:`_init_worker`)


def _init_worker() -> None:
    """Worker processes: one OpenCV thread and one decoder thread each, so N workers do not
    fight over cores."""
    import cv2

    global _IN_POOL
    _IN_POOL = True
    cv2.setNumThreads(1)


def _analyse_job(args: tuple[Path, Path, AnalyseOptions]) -> InputResult:
    return analyse_file(*args)


def default_jobs(n_inputs: int) -> int:
    """min(inputs, CPU cores), at least 1."""
    return max(1, min(n_inputs, os.cpu_count() or 1))


def analyse_many(paths: Sequence[Path], options: AnalyseOptions, jobs: int | None = None,
                 on_result: Callable[[InputResult], None] | None = None) -> list[InputResult]:
    """Analyse every input (outputs in :func:`output_dirs`); results in input order.

    ``jobs`` worker processes (default :func:`default_jobs`); with 1 everything runs in this
    process. ``on_result`` is called with each result as soon as it is done (any order).
    """
    dirs = output_dirs(paths, options.out_dir)
    jobs = default_jobs(len(paths)) if jobs is None else jobs
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if jobs > 1 and len(paths) > 1:
        return _analyse_pool(paths, dirs, options, jobs, on_result)
    results = []
    for p, d in zip(paths, dirs, strict=True):
        results.append(analyse_file(p, d, options))
        if on_result is not None:
            on_result(results[-1])
    return results


def _analyse_pool(paths: Sequence[Path], dirs: Sequence[Path], options: AnalyseOptions,
                  jobs: int, on_result: Callable[[InputResult], None] | None
                  ) -> list[InputResult]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    # Per-frame bars of parallel files would interleave; the CLI shows one line per file.
    # one model process per file: the pool already uses the cores
    opts = replace(options, progress=False, pose_workers=1)
    ctx = multiprocessing.get_context("spawn")  # no fork after threads / OpenCV init
    results: dict[int, InputResult] = {}
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker) as pool:
        futures = {pool.submit(_analyse_job, (p, d, opts)): i
                   for i, (p, d) in enumerate(zip(paths, dirs, strict=True))}
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                results[i] = fut.result()
            except BrokenProcessPool:
                results[i] = InputResult(paths[i], dirs[i], error=(
                    f"{paths[i]}: the worker process analysing it died (out of memory, or "
                    "a crash in the decoder or the pose model); try again with --jobs 1"))
            if on_result is not None:
                on_result(results[i])
    return [results[i] for i in range(len(paths))]


# ------------------------------------------------------------------------- reporting
def _neutral_text(summary: dict[str, Any]) -> str:
    """E.g. ``neutral L +2.1° at 2.0 s, R none`` (the offset subtracted, when it was taken)."""
    parts = []
    for side in SIDES:
        info = summary.get("neutral", {}).get(side, {})
        if info.get("captured") and info.get("t") is not None:
            parts.append(f"{side[0].upper()} {info['offset_deg']:+.1f}\u00b0 at {info['t']:.1f} s")
        else:
            parts.append(f"{side[0].upper()} none")
    return "neutral " + ", ".join(parts)


def result_line(result: InputResult) -> str:
    """One line per input: frames, person frames, peak IR/ER per side, holds, output folder.

    E.g. ``cam01.mp4: 100 frames, person in 100; L peak IR 12°/ER 5°, R peak IR 3°/ER 8°;
    0 holds -> posecheck-out/cam01/``; a failed input gives ``name: error: <why>``.
    """
    name = result.input.name
    s = result.summary
    if s is None:
        return f"{name}: error: {result.error}"
    sides = []
    for side in SIDES:
        d = s["sides"][side]
        sides.append(f"{side[0].upper()} peak IR {deg_text(d.get('peak_internal_deg'))}"
                     f"/ER {deg_text(d.get('peak_external_deg'))}")
    holds = sum(len(s["sides"][side]["holds"]) for side in SIDES)
    line = (f"{name}: {s['frames']} frames, person in {s['frames_with_pose']}; "
            f"{', '.join(sides)}; {holds} hold{'s' if holds != 1 else ''}; "
            f"{_neutral_text(s)} -> {result.out_dir}{os.sep}")
    if result.note:
        line += f" (note: {result.note})"
    if result.error:
        line += f" (error: {result.error})"
    return line
