"""Frozen data types that cross stage boundaries of the pipeline.

``source -> pose -> geometry -> filter -> holds -> outputs``

No heavy imports here (numpy only): these types are shared by the pure modules and the
front ends. Arrays have documented shapes and are validated on construction.

Conventions
-----------
- Time ``t`` is seconds from the start of the stream (container timestamps for files,
  capture clock for cameras). Nothing downstream reads the wall clock.
- Angles are degrees. Hip rotation: **positive = internal rotation (IR)**, negative =
  external rotation (ER). ``None`` means "cannot be measured in this frame".
- ``landmarks``: (33, 4) float64 ``[x, y, z, visibility]`` in MediaPipe-normalized image
  coordinates (x, y in 0..1 of width/height; z relative depth, same scale as x).
- ``world_landmarks``: (33, 4) float64 ``[x, y, z, visibility]``, metres, MediaPipe world
  frame: origin mid-hip, x to the image right, y down, z away from the camera.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from posecheck.landmarks import NUM_LANDMARKS, SIDES


def _check_landmarks(name: str, value: np.ndarray | None) -> None:
    if value is None:
        return
    if not isinstance(value, np.ndarray) or value.shape != (NUM_LANDMARKS, 4):
        shape = getattr(value, "shape", type(value).__name__)
        raise ValueError(f"{name} must be an array of shape ({NUM_LANDMARKS}, 4), got {shape}")


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One decoded frame.

    ``image`` is (H, W, 3) uint8 **RGB**, never mirrored. ``t`` in seconds, ``index`` counts
    frames delivered by the source from 0.
    """

    t: float
    image: np.ndarray
    index: int

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])


@dataclass(frozen=True, slots=True)
class PoseFrame:
    """The pose found in one frame (or none): the unit of the landmark JSONL format."""

    t: float
    image_size: tuple[int, int]  # (width, height) px
    landmarks: np.ndarray | None = None
    world_landmarks: np.ndarray | None = None

    def __post_init__(self) -> None:
        _check_landmarks("landmarks", self.landmarks)
        _check_landmarks("world_landmarks", self.world_landmarks)
        w, h = self.image_size
        if w <= 0 or h <= 0:
            raise ValueError(f"image_size must be positive (w, h), got {self.image_size}")

    @property
    def has_pose(self) -> bool:
        """True when a person was found."""
        return self.landmarks is not None

    @property
    def landmarks_px(self) -> np.ndarray | None:
        """(33, 4) ``[x_px, y_px, z, visibility]``: x, y scaled to pixels, z and vis unchanged."""
        if self.landmarks is None:
            return None
        out = self.landmarks.copy()
        out[:, 0] *= self.image_size[0]
        out[:, 1] *= self.image_size[1]
        return out


@dataclass(frozen=True, slots=True)
class SideAngles:
    """Angles of one hip in one frame (degrees; ``None`` = not measurable).

    - ``rotation_deg``: hip rotation, positive = internal rotation (IR).
    - ``knee_flexion_deg``: 0 = straight knee.
    - ``hip_flexion_deg``: 0 = thigh along the trunk, positive = flexion.
    - ``hip_abduction_deg``: positive = abduction, negative = adduction.
    - ``confidence``: 0..1, how far the rotation value can be trusted.
    - ``rotation_source``: which estimator gave the rotation ("2d", "3d", "fused") or None.
    """

    rotation_deg: float | None = None
    knee_flexion_deg: float | None = None
    hip_flexion_deg: float | None = None
    hip_abduction_deg: float | None = None
    confidence: float = 0.0
    rotation_source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record layout of ``posecheck angles``."""
        return {
            "rotation_deg": self.rotation_deg,
            "knee_flexion_deg": self.knee_flexion_deg,
            "hip_flexion_deg": self.hip_flexion_deg,
            "hip_abduction_deg": self.hip_abduction_deg,
            "confidence": self.confidence,
        }


NO_ANGLES = SideAngles()


@dataclass(frozen=True, slots=True)
class FrameAngles:
    """Angles of both hips at time ``t`` (seconds)."""

    t: float
    left: SideAngles = NO_ANGLES
    right: SideAngles = NO_ANGLES

    def side(self, name: str) -> SideAngles:
        """The angles of ``name`` ("left" or "right")."""
        if name not in SIDES:
            raise ValueError(f"side must be 'left' or 'right', got {name!r}")
        return self.left if name == "left" else self.right

    def to_dict(self) -> dict[str, Any]:
        """The record layout of ``posecheck angles``."""
        return {"t": self.t, "left": self.left.to_dict(), "right": self.right.to_dict()}


@dataclass(frozen=True, slots=True)
class Warning_:
    """A plain-language message for the user (setup or compensation)."""

    code: str
    text: str


@dataclass(frozen=True, slots=True)
class HoldEvent:
    """Something that happened to a hold: kind is "start", "tick", "target", "end".

    ``t`` is the moment the event is *known* (when it would be announced); ``hold_start`` is
    the hold's start time (the moment the angle first reached the threshold).
    """

    kind: str
    t: float
    side: str
    hold_start: float
    elapsed_s: float
    value_deg: float | None = None


@dataclass(frozen=True, slots=True)
class Hold:
    """A finished hold: times in seconds, angles in the stretch's direction (deeper = larger)."""

    start_s: float
    end_s: float
    peak_deg: float
    mean_deg: float

    @property
    def duration_s(self) -> float:
        """end - start, seconds."""
        return self.end_s - self.start_s

    def to_dict(self) -> dict[str, float]:
        """Layout of a hold in summary.json."""
        return {"start_s": self.start_s, "end_s": self.end_s, "duration_s": self.duration_s,
                "peak_deg": self.peak_deg, "mean_deg": self.mean_deg}


@dataclass(frozen=True, slots=True)
class FrameResult:
    """Everything the session computed for one frame; renderers draw it, outputs write it."""

    t: float
    pose: PoseFrame
    raw: FrameAngles
    smoothed: FrameAngles
    measured: dict[str, float | None] = field(default_factory=dict)  # side -> stretch value
    # side -> smoothed hip rotation minus the neutral reference (IR positive), or None
    rotation_deg: dict[str, float | None] = field(default_factory=dict)
    neutral_offset_deg: dict[str, float] = field(default_factory=dict)  # side -> offset used
    holding: dict[str, bool] = field(default_factory=dict)  # side -> in a hold
    hold_elapsed: dict[str, float] = field(default_factory=dict)  # side -> seconds so far
    events: tuple[HoldEvent, ...] = ()
    warnings: tuple[Warning_, ...] = ()
    status: str = ""
