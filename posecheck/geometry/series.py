"""Per-frame angle arrays (``HipAngleSeries``) and their conversion to :class:`FrameAngles`.

Convention: degrees, (T,) float64 arrays, NaN = "not measurable in this frame";
**positive rotation = internal rotation (IR)**; see :mod:`posecheck.geometry.hip`.
Pure numpy: must not import mediapipe or cv2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from posecheck.types import FrameAngles, SideAngles

#: ``weight_2d`` at or above this reports the source "2d", at or below 1 - it "3d".
_PURE = 0.999


def _opt(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


@dataclass(frozen=True, slots=True)
class SideSeries:
    """Angles of one hip over T frames: each field a (T,) float64 array (NaN = unknown).

    ``rotation_deg`` (IR positive) is the fused value; ``rotation_2d_deg`` and
    ``rotation_3d_deg`` are the two estimators before gating by knee flexion and
    visibility (diagnostics); ``weight_2d`` in 0..1 is the share of the 2D estimator in
    the fused value; ``confidence`` in 0..1 (0 where rotation is NaN).
    """

    rotation_deg: np.ndarray
    knee_flexion_deg: np.ndarray
    hip_flexion_deg: np.ndarray
    hip_abduction_deg: np.ndarray
    confidence: np.ndarray
    weight_2d: np.ndarray
    rotation_2d_deg: np.ndarray
    rotation_3d_deg: np.ndarray

    def __post_init__(self) -> None:
        shape = self.rotation_deg.shape
        for name in self.__slots__:
            value = getattr(self, name)
            if value.shape != shape or value.ndim != 1:
                raise ValueError(f"SideSeries.{name} must have shape {shape}, got {value.shape}")

    def source(self, i: int) -> str | None:
        """Which estimator gave the rotation in frame ``i``: "2d", "3d", "fused" or None."""
        if math.isnan(self.rotation_deg[i]):
            return None
        w = float(self.weight_2d[i])
        return "2d" if w >= _PURE else "3d" if w <= 1 - _PURE else "fused"

    def at(self, i: int) -> SideAngles:
        """The :class:`SideAngles` of frame ``i`` (NaN -> None)."""
        return SideAngles(
            rotation_deg=_opt(self.rotation_deg[i]),
            knee_flexion_deg=_opt(self.knee_flexion_deg[i]),
            hip_flexion_deg=_opt(self.hip_flexion_deg[i]),
            hip_abduction_deg=_opt(self.hip_abduction_deg[i]),
            confidence=float(self.confidence[i]),
            rotation_source=self.source(i),
        )


@dataclass(frozen=True, slots=True)
class HipAngleSeries:
    """Both hips over T frames: ``t`` (T,) seconds, ``left`` / ``right`` :class:`SideSeries`."""

    t: np.ndarray
    left: SideSeries
    right: SideSeries

    def __len__(self) -> int:
        return int(self.t.shape[0])

    def frame(self, i: int) -> FrameAngles:
        """The :class:`FrameAngles` of frame ``i``."""
        return FrameAngles(t=float(self.t[i]), left=self.left.at(i), right=self.right.at(i))

    def frames(self) -> list[FrameAngles]:
        """All frames as :class:`FrameAngles`, in order."""
        return [self.frame(i) for i in range(len(self))]
