"""Pose inference on several parts of one video at once, one model process per part.

Why: pose inference is the bottleneck of ``analyse`` (about 18 ms a frame on one core),
and one MediaPipe landmarker works on one core at a time. With two cores and one video,
the second core would only decode. So the video is cut in time into parts; part 0 is
inferred by the analysing pipeline as usual while each later part is decoded and inferred
by a thread of its own, feeding a pose model process of its own, and its poses are
spilled to a temporary file (a few kB a frame on disk, nothing kept in memory). When part
0 is done, the session reads the spilled poses in order: it sees every frame, in order,
exactly as in a sequential run.

The seams: a landmarker in VIDEO mode tracks the person from frame to frame, so a part
that starts mid-video starts with a fresh detection. Each later part therefore starts
decoding :data:`WARMUP_FRAMES` frames early and throws those poses away. Measured on the
samples (docs/analyse.md): hip/knee/ankle landmarks of a part differ from those of a
sequential run by a median of 0.002 and at most about 0.01 (normalized units), the size
of MediaPipe's own frame-to-frame jitter: the tracking is path-dependent, so the
difference does not vanish with a longer warm-up. The landmarks written
(``landmarks.jsonl``) are the ones measured, so a replay gives exactly the same numbers.

Pure planning (:func:`plan_parts`) is separate from the threads (:class:`PartInference`).
"""

from __future__ import annotations

import contextlib
import pickle
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

import numpy as np

from posecheck.types import PoseFrame

WARMUP_FRAMES = 8  # frames decoded and inferred before a part starts, then dropped
MIN_PART_FRAMES = 100  # fewer frames a part: the fixed costs of a second model outweigh it
MAX_PARTS = 2  # each part costs a model process (~200 MB RSS, mostly shared libraries)


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a video: poses of frames with ``start_s <= t < end_s`` (seconds).

    Decoding starts at ``decode_from_s`` (<= ``start_s``; the warm-up frames before
    ``start_s`` are inferred and dropped). ``end_s`` is ``inf`` for the last part.
    """

    start_s: float
    end_s: float
    decode_from_s: float


def plan_parts(frame_count: int | None, fps: float | None, parts: int,
               warmup_frames: int = WARMUP_FRAMES,
               min_part_frames: int | None = None) -> list[Part]:
    """Cut a video of ``frame_count`` frames at ``fps`` into at most ``parts`` parts.

    Each part costs its model about the same number of inferences (its own frames plus
    the warm-up), so the parts finish together. Fewer parts when a part would have fewer
    than ``min_part_frames`` (default :data:`MIN_PART_FRAMES`) frames of its own; one part
    (the whole video) when the frame count or rate is unknown.
    """
    whole = [Part(0.0, float("inf"), 0.0)]
    if min_part_frames is None:
        min_part_frames = MIN_PART_FRAMES
    if not frame_count or not fps or fps <= 0 or parts <= 1:
        return whole
    n, w = frame_count, max(0, warmup_frames)
    while parts > 1:
        per = (n + (parts - 1) * w) / parts  # inferences per model
        if per - w >= min_part_frames:
            break
        parts -= 1
    if parts <= 1:
        return whole
    firsts = [round(per + k * (per - w)) for k in range(parts - 1)]  # first frame, parts 1..
    # cut half a frame before each part's first frame, so rounding never moves a frame
    edges = [0.0] + [(f - 0.5) / fps for f in firsts] + [float("inf")]
    return [Part(edges[k], edges[k + 1], max(0.0, edges[k] - (w / fps if k else 0.0)))
            for k in range(parts)]


class PartInference:
    """A thread that decodes and infers one :class:`Part` and spills its poses to disk.

    ``open_source(path)`` gives a source with ``seek(t)``, iteration over frames with
    ``t``, ``size`` and ``image``, ``close()`` and ``error``; ``open_model()`` gives an
    estimator with ``detect_stream`` (a :class:`posecheck.pose_worker.PoseWorker`);
    ``prepare(image)`` is what the model is handed (the downscaled frame).
    :meth:`poses` waits for the thread and yields the part's poses in order (with the
    full-size ``image_size``); it raises what the thread raised.
    """

    def __init__(self, path: Path, part: Part, open_source: Callable[[Path], Any],
                 open_model: Callable[[], Any], prepare: Callable[[np.ndarray], np.ndarray],
                 on_frame: Callable[[], None] | None = None) -> None:
        self.part = part
        self.frames = 0
        self.source_error: str | None = None
        self._path = path
        self._open_source, self._open_model = open_source, open_model
        self._prepare, self._on_frame = prepare, on_frame
        self._stop = threading.Event()
        self._error: BaseException | None = None
        # lives as long as this object (closed by close/stop), not one block
        self._spill: IO[bytes] = tempfile.TemporaryFile(  # noqa: SIM115
            prefix="posecheck-part-")
        self._thread = threading.Thread(target=self._run, name="posecheck-part", daemon=True)
        self._thread.start()

    def _items(self, source: Any) -> Iterator[tuple[tuple[float, tuple[int, int]],
                                                    np.ndarray, float]]:
        for frame in source:
            if self._stop.is_set() or frame.t >= self.part.end_s:
                return
            yield (frame.t, frame.size), self._prepare(frame.image), frame.t

    def _run(self) -> None:
        source = None
        try:
            model = self._open_model()
            source = self._open_source(self._path)
            source.seek(self.part.decode_from_s)
            for (t, size), pose in model.detect_stream(self._items(source)):
                if t >= self.part.start_s:
                    pickle.dump(replace(pose, image_size=size), self._spill,
                                protocol=pickle.HIGHEST_PROTOCOL)
                    self.frames += 1
                    if self._on_frame is not None:
                        self._on_frame()
            self.source_error = source.error
        except BaseException as exc:  # noqa: BLE001 - raised again by poses(), in the caller
            self._error = exc
        finally:
            if source is not None:
                source.close()

    def poses(self) -> Iterator[PoseFrame]:
        """The part's poses in time order (waits for the thread to finish)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        self._spill.seek(0)
        for _ in range(self.frames):
            yield pickle.load(self._spill)  # our own temporary file, written above

    def stop(self) -> None:
        """Stop the thread early (after an error or Ctrl-C elsewhere) and free the spill."""
        self._stop.set()
        self._thread.join(timeout=10)
        self.close()

    def close(self) -> None:
        """Delete the spill file (idempotent)."""
        with contextlib.suppress(OSError):
            self._spill.close()
