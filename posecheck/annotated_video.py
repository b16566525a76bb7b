"""The annotated video of ``analyse``: each shown frame shrunk, the overlay drawn on it,
encoded in a thread behind the pipeline (:class:`posecheck.threads.Consumer`).

API: ``video_size(size)``, ``shrink(image, size)``, ``overlay_info(session)`` (what the
overlay shows now: the session's own best values, what the summary will hold) and
``video_writer(out_dir, source, session)``. The video's longest side is at most
VIDEO_MAX_SIDE px (a whole-number reduction) and its rate at most VIDEO_MAX_FPS. Degrees;
rotation positive = internal rotation. Imports cv2 and the renderer lazily.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from posecheck.landmarks import SIDES
from posecheck.session import Session

VIDEO_MAX_SIDE = 960  # px, longest side of the annotated video at most
# frames per second of the annotated video at most: a 60 fps phone clip is shown at 30
# (what a viewer sees; half the drawing and encoding); frames.csv keeps every frame
VIDEO_MAX_FPS = 30.0


def video_size(size: tuple[int, int], max_side: int = VIDEO_MAX_SIDE) -> tuple[int, int]:
    """(width, height) of the annotated video for frames of ``size`` px: divided by the
    smallest whole number that brings the longest side to <= ``max_side`` px (a whole
    factor: OpenCV's area resize is ~15x faster then, 0.45 vs 6.8 ms for a 1768x994 frame)."""
    w, h = size
    k = max(1, math.ceil(max(w, h) / max_side))
    return max(1, w // k), max(1, h // k)


def shrink(image_rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image_rgb`` resized (INTER_AREA) to ``size`` = (width, height); itself if equal."""
    import cv2

    if (image_rgb.shape[1], image_rgb.shape[0]) == size:
        return image_rgb
    return cv2.resize(image_rgb, size, interpolation=cv2.INTER_AREA)


def overlay_info(session: Session) -> Any:
    """The overlay's context now: the stretch (None: both rotations, with their targets)
    and the best values so far, the session's own (what the summary will hold)."""
    from posecheck.render import OverlayInfo

    if len(session.stretches) == 1:
        st = session.primary
        return OverlayInfo(stretch=st, mirrored=False,
                           best_deg={side: session.best_deg(st.id, side) for side in SIDES})
    rot = {st.direction: st for st in session.stretches if st.measure == "rotation_deg"}
    if 1 not in rot or -1 not in rot:
        return OverlayInfo(stretch=session.primary, mirrored=False)

    def best(direction: int, side: str) -> float | None:
        v = session.best_deg(rot[direction].id, side)
        return None if v is None else max(0.0, v)

    def held(side: str) -> float:  # the IR or the ER hold going on now
        t = session.t_last or 0.0
        return max((session.pairs[(st.id, side)].tracker.elapsed_s(t)
                    for st in rot.values() if session.pairs[(st.id, side)].tracker.holding),
                   default=0.0)

    ir, er = (session.pairs[(rot[d].id, SIDES[0])].threshold_deg for d in (1, -1))
    return OverlayInfo(stretch=None, mirrored=False, rotation_targets=(ir, er),
                       best_rotation={s: (best(1, s), best(-1, s)) for s in SIDES},
                       hold_s={s: held(s) for s in SIDES})


def video_writer(out_dir: Path, source: Any, session: Session) -> Any:
    """A :class:`posecheck.threads.Consumer` that draws the overlay on each (image shrunk to
    :func:`video_size`, result, overlay info) and encodes it at the source's frame rate, at
    most VIDEO_MAX_FPS; ``small(frame)`` shrinks a frame it will show (None otherwise);
    ``finish`` closes the file, ``abandon`` discards it. (Drawing on and encoding full-size
    phone frames, or all 60 frames a second, would cost more than the pose inference.)"""
    from posecheck.outputs import VideoSink
    from posecheck.render import Annotator
    from posecheck.threads import Consumer

    size = video_size(source.size)
    annotator = Annotator()
    sink = VideoSink(out_dir / "annotated.mp4", min(source.fps or VIDEO_MAX_FPS, VIDEO_MAX_FPS),
                     size)
    pace = VideoSink.Pace(sink.fps)  # which frames the video shows, decided up front

    def handle(item: Any) -> None:
        if item is None:
            sink.close()
            return
        image, result, info = item
        sink.write(annotator.annotate(image, result, info), result.t)

    class _Writer(Consumer):
        def small(self, frame: Any) -> np.ndarray | None:
            """The frame's image shrunk for the video, or None when the video does not show
            it (arrived early for the video's rate: neither shrunk nor drawn)."""
            return shrink(frame.image, size) if pace.due(frame.t) else None

        def finish(self) -> None:
            self.put(None)  # close the sink inside the thread, after the last frame
            super().finish()

        def abandon(self) -> None:
            super().abandon()
            sink.abort()

    return _Writer(handle, name="posecheck-video")
