"""The geometry's per-frame inputs, and the geometry of many frames in one call.

The raw angles of a frame depend only on the pose frames up to it: the left/right swap
repair (:class:`posecheck.geometry.swap.SwapTracker`) and the session's image references
(:class:`posecheck.neutral.LegReference`) follow the landmarks alone, never a measured
angle. So :class:`FramePrep` runs those two, frame by frame in order, and
:meth:`FramePrep.angles` then runs the (vectorized) geometry over any number of prepared
frames at once: the same numbers as frame by frame (bit for bit: every operation of the
geometry is row-wise), for a fraction of the CPU (numpy's per-call cost is paid once per
batch instead of once per frame), and each leg's still-spell hold
(:mod:`posecheck.still_leg`: a leg the image shows still is not moved by MediaPipe's 3D
crosstalk when the other foot swings), sequential and causal like the references.
:meth:`posecheck.session.Session.updates` uses both.

Pure: numpy only; degrees, IR positive (see :mod:`posecheck.geometry`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from posecheck.geometry import ImageRefs, series_from_frames
from posecheck.geometry.swap import SwapTracker
from posecheck.landmarks import SIDES
from posecheck.neutral import LegReference
from posecheck.still_leg import StillLeg, hold_still_legs
from posecheck.types import FrameAngles, PoseFrame


@dataclass(frozen=True, slots=True)
class Prepared:
    """One frame ready for the geometry: the swap-repaired pose, the references of this
    frame (:meth:`ImageRefs.single`) and the neutral windows the image judged to end at
    it ({side: (t0, t1)} seconds, usually empty)."""

    pose: PoseFrame
    refs: ImageRefs
    neutral_event: dict[str, tuple[float, float]] = field(default_factory=dict)


class FramePrep:
    """Swap repair and image references of a stream of pose frames (in time order)."""

    def __init__(self) -> None:
        self.swaps = SwapTracker()
        self.references = LegReference()
        self.still = {side: StillLeg(side) for side in SIDES}

    def step(self, pose: PoseFrame) -> Prepared:
        """The next frame prepared (advances the swap and reference state)."""
        px = pose.landmarks_px
        if px is not None:
            swapped, (image, world) = self.swaps.update(px, pose.landmarks,
                                                        pose.world_landmarks)
            if swapped:
                pose = PoseFrame(pose.t, pose.image_size, image, world)
        self.references.update(pose.t, pose.landmarks_px)
        return Prepared(pose, ImageRefs.single(*self.references.arrays()),
                        dict(self.references.neutral_event))

    def angles(self, prepared: Sequence[Prepared]) -> list[FrameAngles]:
        """The raw angles of frames this object prepared, in order (one vectorized
        geometry call, then each leg's still-spell hold, :mod:`posecheck.still_leg`, which
        carries over from call to call)."""
        if not prepared:
            return []
        series = series_from_frames([p.pose for p in prepared],
                                    refs=stack_refs([p.refs for p in prepared]))
        full = {side: getattr(series, side).rotation_deg.tolist() for side in SIDES}
        held = {side: np.empty(len(prepared)) for side in SIDES}
        for i, p in enumerate(prepared):
            row = hold_still_legs(self.still, p.pose.t, p.pose.landmarks_px,
                                  {side: full[side][i] for side in SIDES})
            for side in SIDES:
                held[side][i] = row[side]
        return replace(series, **{side: replace(getattr(series, side), rotation_deg=held[side])
                                  for side in SIDES}).frames()


def stack_refs(rows: Sequence[ImageRefs]) -> ImageRefs:
    """T one-row references as one T-row :class:`ImageRefs` (NaN where a row has none)."""
    n = len(rows)
    knee: dict[str, np.ndarray] = {}
    shank: dict[str, np.ndarray] = {}
    hip_dir = None
    for i, r in enumerate(rows):
        for side, v in r.knee.items():
            knee.setdefault(side, np.full((n, 2), np.nan))[i] = v[0]
        for side, v in r.shank.items():
            shank.setdefault(side, np.full(n, np.nan))[i] = v[0]
        if r.hip_dir is not None:
            if hip_dir is None:
                hip_dir = np.full((n, 2), np.nan)
            hip_dir[i] = r.hip_dir[0]
    return ImageRefs(knee, shank, hip_dir)
