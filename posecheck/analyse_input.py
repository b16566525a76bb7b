"""Analyse ONE recorded input (a video or a landmark JSONL file) into one output folder.

API: ``AnalyseOptions(...)``; ``analyse_file(path, out_dir, options, estimator=None) ->
InputResult`` (never raises for a bad input); ``new_estimator(options)`` (load the pose
model once, pass it to every ``analyse_file``). Batches, output folder names and the
one-line result are in :mod:`posecheck.batch`.

Everything goes through :class:`posecheck.session.Session` (the pipeline of ``live`` and
replay): a video's frames are decoded (in a thread ahead, :mod:`posecheck.threads`),
their poses found at full size by :class:`posecheck.pose.PoseEstimator` in the calling
thread and fed to the session, the overlay drawn on a smaller copy and encoded in a thread
behind; a landmark file's frames go straight into the session. ``out_dir`` gets
``summary.json``, ``frames.csv``, ``landmarks.jsonl`` (videos), ``annotated.mp4`` (videos
unless ``video=False``; longest side <= 960 px: :mod:`posecheck.annotated_video`), ``angles.png``
and, with ``mot=True``, ``angles.mot``, each written atomically. Streaming: no frame is
kept after it is drawn; per frame a few numbers (for the plot, frames.csv and the .mot file)
and, for the offline zero-phase pass (the default; ``causal=True`` turns it off), its raw
angles (90 bytes, :mod:`posecheck.angle_store`); that pass reads the poses back from the
file (landmarks.jsonl for a video, the input for a landmark file), none is kept.

Convention: degrees; hip rotation positive = internal rotation (IR), negative = external
(ER); times in seconds from the container's timestamps; landmarks for the full-size frame.
Imports cv2 and, for videos, mediapipe (through posecheck.pose). Never prints or exits.
"""

from __future__ import annotations

import contextlib
import itertools
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from posecheck.angle_store import AngleStore
from posecheck.annotated_video import overlay_info, video_writer
from posecheck.errors import LandmarkFileError, PosecheckError
from posecheck.folder import FrameWriters, plot
from posecheck.session import Session
from posecheck.stretches import Stretch, get_stretch, load_catalogue

VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".avi", ".webm", ".mkv", ".m4v"})
LANDMARK_SUFFIXES = frozenset({".jsonl"})
DEFAULT_STRETCHES = ("internal-rotation", "external-rotation")
# frames whose geometry runs in one vectorized call (Session.updates): 8 cost ~1/5 of the
# CPU of one by one, and 8 frames held waiting for it stay small beside the model
GEOMETRY_BATCH = 8
REPLAY_BATCH = 256  # landmark frames read and measured at a time (--causal replay)


@dataclass(frozen=True, slots=True)
class AnalyseOptions:
    """What to measure and what to write (see the module docstring).

    ``threshold_deg``: entry threshold of the (first) stretch, degrees in its direction.
    ``causal``: smooth as ``live`` does (one pass, the numbers live showed); the default
    adds the offline zero-phase pass (:func:`_offline_pass`).
    """

    stretch: str | None = None
    threshold_deg: float | None = None
    out_dir: Path = Path("posecheck-out")
    video: bool = True
    model_path: Path | None = None
    mot: bool = False
    neutral: bool = True
    smooth: bool = True
    causal: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
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


def stretches_for(options: AnalyseOptions) -> list[Stretch]:
    """The stretches measured: ``options.stretch``, else both rotation stretches."""
    catalogue = load_catalogue()
    ids = (options.stretch,) if options.stretch else DEFAULT_STRETCHES
    return [get_stretch(sid, catalogue) for sid in ids]


def new_estimator(options: AnalyseOptions) -> Any:
    """The pose model for videos analysed with ``options`` (a
    :class:`posecheck.pose.PoseEstimator` in VIDEO mode). Load it once and pass it to
    :func:`analyse_file` for every video: each input resets it (fresh tracking)."""
    from posecheck.pose import PoseEstimator

    return PoseEstimator(options.model_path, mode="video")


@dataclass
class _Run:
    """What the frame loop of one input produced."""

    session: Session
    outputs: FrameWriters
    kind: str
    fps: float | None
    model: dict[str, str] | None = None
    source_error: str | None = None
    files: list[Path] = field(default_factory=list)


def _progress(path: Path, total: int | None, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=path.name, unit="frame", file=sys.stderr,
                disable=not enabled, leave=False, dynamic_ncols=True)


def _new_session(options: AnalyseOptions, smoother: Any = None) -> Session:
    return Session(stretches_for(options), threshold_deg=options.threshold_deg,
                   smooth=options.smooth, neutral=options.neutral, smoother=smoother)


def _zero_phase(options: AnalyseOptions) -> bool:
    return options.smooth and not options.causal


def _offline_pass(run: _Run, poses: Iterable[Any], raws: AngleStore,
                  options: AnalyseOptions) -> None:
    """The offline zero-phase pass: the same Session code again over the same poses (read
    back from a file), its smoother the zero-lag one of the first pass's raw angles, which
    it takes instead of running the geometry again (they do not depend on the smoothing);
    it fills the outputs and becomes ``run.session``. LandmarkFileError: ``poses`` are not
    the first pass's."""
    from posecheck.angle_store import ArrayReplaySmoother, zero_phase_store

    run.session = _new_session(options, ArrayReplaySmoother(raws, zero_phase_store(raws)))
    done, stream = 0, iter(poses)
    while batch := list(itertools.islice(stream, REPLAY_BATCH)):
        if done + len(batch) > len(raws) or any(
                p.t != raws.time(done + i) for i, p in enumerate(batch)):
            break
        frames = [raws.frame(i) for i in range(done, done + len(batch))]
        for result in run.session.updates(batch, frames):  # the 1st pass's geometry
            run.outputs.frame(result, pose=False)  # poses: 1st pass
        done += len(batch)
    if done != len(raws) or batch:
        raise LandmarkFileError(f"the landmarks read back differ from the {len(raws)} "
                                "frames analysed (changed while being read?)")


def _gated(session: Session) -> bool:
    """Plot rotation only where measured: when the shown stretch measures rotation."""
    return session.primary.measure == "rotation_deg"


# ------------------------------------------------------------------------- videos
def _run_video(path: Path, out_dir: Path, options: AnalyseOptions, est: Any) -> _Run:
    """Decode (a thread ahead) -> pose -> session -> writers -> annotated video (a thread
    behind). Every frame reaches the session once, in order."""
    from posecheck.pose import tracks_for
    from posecheck.sources import FileSource
    from posecheck.threads import Prefetch

    session = _new_session(options)
    # one FFmpeg thread: the decode thread already runs beside the model (measured: no
    # faster with FFmpeg's one-per-core, and each of its threads holds frames)
    with FileSource(path, threads=1) as source:
        if est is None:
            est = owned = new_estimator(options)
        else:
            owned = None
            est.reset()  # fresh tracking and timestamps for this video
        try:
            outputs = FrameWriters(out_dir, mot=options.mot, landmarks=True,
                                   gate_rotation=_gated(session),
                                   measure=session.primary.measure,
                                   direction=session.primary.direction)
            run = _Run(session, outputs, "video", source.fps,
                       {"name": est.model.name, "sha256": est.model.sha256})
            render = frames = None
            bar = _progress(path, source.frame_count, options.progress)
            try:
                # the encoder first: when it cannot be opened no thread has started yet
                render = video_writer(out_dir, source, session) if options.video else None
                frames = Prefetch(source, maxsize=2, name="posecheck-decode")  # 2 frames ahead
                # zero-phase: raw angles kept; poses to landmarks.jsonl, read back by the 2nd
                # pass (and kept if it is interrupted)
                raws = AngleStore() if _zero_phase(options) else None

                def feed(batch: list[tuple[Any, Any]]) -> None:
                    results = session.updates([pose for _, pose in batch])
                    for (small, _), result in zip(batch, results, strict=True):
                        if raws is not None:
                            raws.append(result.raw)
                            outputs.pose(result)
                        else:
                            outputs.frame(result)
                        if small is not None:
                            render.put((small, result, overlay_info(session)))
                        bar.update(1)
                    batch.clear()

                # (the video's small copy of the frame, pose): no full-size frame waits
                batch: list[tuple[Any, Any]] = []
                with contextlib.closing(est.stream(frames, tracks_for(source.fps))) as poses:
                    for frame, pose in poses:
                        batch.append((render.small(frame) if render is not None else None,
                                      pose))
                        if len(batch) == GEOMETRY_BATCH:
                            feed(batch)
                feed(batch)
                if render is not None:
                    render.finish()
                if raws is not None:
                    with outputs.landmarks.reader() as written:
                        _offline_pass(run, written.frames(), raws, options)
            except BaseException:
                if frames is not None:
                    frames.close()
                if render is not None:
                    render.abandon()
                outputs.abort()
                raise
            finally:
                bar.close()
        finally:
            if owned is not None:
                owned.close()
        if render is not None:
            run.files.append(out_dir / "annotated.mp4")
        run.source_error = source.error
    return run


# ------------------------------------------------------------------------- landmark files
def _run_landmarks(path: Path, out_dir: Path, options: AnalyseOptions) -> _Run:
    """Landmark frames straight into the session (no model, no video).

    The first frame is read before anything is written, so a missing, empty or malformed
    file leaves no output folder behind.
    """
    from posecheck.landmark_io import LandmarkReader

    with LandmarkReader(path) as reader:  # opened once: both passes read the same file
        frames = reader.frames()
        first = next(frames, None)
        if first is None:
            raise LandmarkFileError(f"{path} contains no frames")
        session = _new_session(options)
        writers = FrameWriters(out_dir, mot=options.mot, landmarks=False,
                               gate_rotation=_gated(session), measure=session.primary.measure,
                               direction=session.primary.direction)
        run = _Run(session, writers, "landmarks", None)
        bar = _progress(path, None, options.progress)
        stream = itertools.chain([first], frames)
        try:
            if _zero_phase(options):
                from posecheck.prepare import FramePrep

                prep, raws = FramePrep(), AngleStore()  # raw angles: the 2nd pass does the rest
                while batch := list(itertools.islice(stream, REPLAY_BATCH)):
                    raws.extend(prep.angles([prep.step(pose) for pose in batch]))
                    bar.update(len(batch))
                _offline_pass(run, reader.frames(), raws, options)
            else:
                while batch := list(itertools.islice(stream, REPLAY_BATCH)):
                    for result in session.updates(batch):
                        run.outputs.frame(result)
                    bar.update(len(batch))
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


# ------------------------------------------------------------------------- the result
def _summary(path: Path, run: _Run, started_at: str) -> dict[str, Any]:
    """summary.json: metadata (docs/summary.md) around the session's measurements."""
    from posecheck.summary import complete_summary, file_sha256

    return complete_summary(run.session.summary(), kind=run.kind, input=str(path),
                            content_sha256=file_sha256(path), started_at=started_at,
                            model=run.model, fps=run.fps)


def _analyse(path: Path, out_dir: Path, options: AnalyseOptions, estimator: Any
             ) -> InputResult:
    """Everything written for one input, all of it into ``out_dir`` (the one place an
    input's output folder is filled)."""
    from posecheck.outputs import write_summary
    from posecheck.summary import utc_now_iso

    started = utc_now_iso()
    if path.suffix.lower() in LANDMARK_SUFFIXES:
        run = _run_landmarks(path, out_dir, options)
    else:
        run = _run_video(path, out_dir, options, estimator)
    run.session.finish()
    files = run.outputs.finish(run.session.neutral_offsets()) + run.files
    summary = _summary(path, run, started)
    files.append(plot(out_dir, run.outputs.series, run.session, summary))
    files.append(write_summary(out_dir / "summary.json", summary))
    note = None
    if not summary["frames_with_pose"]:
        note = "no person found in any frame (is the whole body in view?)"
    return InputResult(path, out_dir, summary, error=run.source_error, note=note,
                       files=tuple(files))


def analyse_file(path: Path, out_dir: Path, options: AnalyseOptions,
                 estimator: Any = None) -> InputResult:
    """Analyse one input into ``out_dir``; a bad input gives ``error``, never an exception.

    ``estimator``: a pose model from :func:`new_estimator` to use (reset first, so nothing
    carries over from the previous video; the caller closes it); None = load one for this
    input. A video that breaks off mid-way is analysed up to the break, its outputs are
    written, and ``error`` says where it broke. Raises only for programming errors and
    KeyboardInterrupt.
    """
    if not path.exists():
        return InputResult(path, out_dir, error=f"{path}: file not found")
    if not path.is_file():
        return InputResult(path, out_dir, error=f"{path}: not a file")
    try:
        return _analyse(path, out_dir, options, estimator)
    except PosecheckError as exc:
        return InputResult(path, out_dir, error=str(exc))
    except OSError as exc:
        return InputResult(path, out_dir, error=f"{path}: {exc.strerror or exc}")
