"""Hip angles per frame and side: 3D JCS + 2D frontal estimators, gated and fused.

This is the entry point of :mod:`posecheck.geometry` (``hip_angles``, ``frame_angles``,
``series_from_frames``).

Convention:
    - Degrees; **positive rotation = internal rotation (IR)** (foot lateral with the knee
      flexed), negative = external rotation (ER), both legs. Angle definitions in
      :mod:`posecheck.geometry.hip` (3D) and :mod:`posecheck.geometry.frontal` (2D).
    - ``world`` (T, 33, 4): MediaPipe world landmarks [x, y, z, visibility], metres, origin
      mid-hip, x image right, y down, z away from the camera (the axes follow the camera).
    - ``image`` (T, 33, 4): normalized image landmarks [x/W, y/H, z, visibility];
      ``image_size`` (w, h) or (T, 2) pixels. Converted to pixels before any angle.
    - Frames without a pose are rows of NaN; every output is NaN there.

When each estimator is used (and why):
    - Rotation is reported only where the knee is flexed at least
      ``min_knee_flexion_deg`` (default 45): below that the shank no longer points, and
      the SD of the rotation from 1.5 cm landmark noise grows from 6 deg at 45 deg to
      10 deg at 30 deg and 22 deg at 15 deg (research notes section 3.4). The issue's
      30 deg would let through values noisier than a goniometer's whole MDC, so 45 is the
      default; stretches may ask for more.
    - 3D (JCS gamma from world landmarks) works in every view, but MediaPipe's depth is
      noisy and its world skeleton is not metric-true.
    - 2D (shank angle in the image) is exact when the femur points along the camera axis
      (seated facing the camera, or prone filmed from the feet): the image plane is then
      perpendicular to the femur. Its error grows with the angle between femur and camera
      axis, so it gets weight 1 up to ``full_2d_deg`` (8 deg) falling linearly to 0 at
      ``no_2d_deg`` (20 deg), judged from the world femur direction against the ray to the
      knee; it is also faded out (15 -> 30 deg) as the hip line turns out of the image
      plane (the person must face the camera or turn their back to it). The image is
      re-aimed at the knee and the 2D angle corrected by the 3D skeleton's predicted
      projection error (see ``_estimate_2d``), so the fusion is exact on noise-free
      input. Without world landmarks nothing is measurable (the knee flexion gate needs
      3D); without image landmarks the rotation is pure 3D.
    - Visibility: a side's angles are NaN when the hip, the other hip, the knee or the
      ankle is below ``min_visibility``; hip flexion also needs both shoulders.
    - ``confidence`` = min visibility x sin(knee flexion) x (``conf_3d`` for pure 3D ..
      1 for pure 2D): sin(knee flexion) is how long the shank pointer is, 3D is discounted
      for its depth noise. 0 where rotation is NaN.

Pure numpy: must not import mediapipe or cv2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from posecheck.errors import ConfigError
from posecheck.geometry.frontal import aimed_at_knee, along_ray, frontal_rotation_2d, to_pixels
from posecheck.geometry.hip import Leg3D, leg_angles_3d
from posecheck.geometry.series import HipAngleSeries, SideSeries
from posecheck.geometry.vectors import dot, normalize
from posecheck.landmarks import (
    LEFT_HIP,
    LEFT_SHOULDER,
    LEG,
    NUM_LANDMARKS,
    RIGHT_HIP,
    RIGHT_SHOULDER,
    SIDES,
)
from posecheck.types import FrameAngles, PoseFrame


@dataclass(frozen=True, slots=True)
class GeometryParams:
    """Gates and fusion weights (degrees; visibility and confidence in 0..1)."""

    min_knee_flexion_deg: float = 45.0
    min_visibility: float = 0.5
    full_2d_deg: float = 8.0
    no_2d_deg: float = 20.0
    conf_3d: float = 0.8
    focal_width: float = 0.9
    facing_full_deg: float = 15.0
    facing_no_deg: float = 30.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_knee_flexion_deg < 180.0:
            raise ConfigError(
                f"min_knee_flexion_deg must be in [0, 180), got {self.min_knee_flexion_deg}")
        if not 0.0 <= self.min_visibility <= 1.0:
            raise ConfigError(f"min_visibility must be in [0, 1], got {self.min_visibility}")
        if not 0.0 <= self.full_2d_deg < self.no_2d_deg <= 90.0:
            raise ConfigError("need 0 <= full_2d_deg < no_2d_deg <= 90, got "
                              f"{self.full_2d_deg} and {self.no_2d_deg}")
        if not 0.0 <= self.facing_full_deg < self.facing_no_deg <= 90.0:
            raise ConfigError("need 0 <= facing_full_deg < facing_no_deg <= 90, got "
                              f"{self.facing_full_deg} and {self.facing_no_deg}")
        if not 0.2 <= self.focal_width <= 5.0:
            raise ConfigError(f"focal_width must be in [0.2, 5], got {self.focal_width}")
        if not 0.0 <= self.conf_3d <= 1.0:
            raise ConfigError(f"conf_3d must be in [0, 1], got {self.conf_3d}")


DEFAULT_PARAMS = GeometryParams()


def _check(name: str, arr: np.ndarray | None) -> np.ndarray | None:
    if arr is None:
        return None
    arr = np.asarray(arr, dtype=float)
    if arr.ndim != 3 or arr.shape[1:] != (NUM_LANDMARKS, 4):
        raise ValueError(f"{name} must have shape (T, {NUM_LANDMARKS}, 4), got {arr.shape}")
    return arr


def _ramp(angle_deg: np.ndarray, full: float, none: float) -> np.ndarray:
    """1 up to ``full`` degrees, linear to 0 at ``none``; NaN -> 0."""
    return np.nan_to_num(np.clip((none - angle_deg) / (none - full), 0.0, 1.0))


def _weight_2d(leg3: Leg3D, z_p: np.ndarray, ray: np.ndarray, rot2: np.ndarray,
               p: GeometryParams) -> np.ndarray:
    """Share of the 2D estimator: femur along the ray to the knee, hip line across it."""
    femur_off = np.degrees(np.arccos(np.clip(np.abs(dot(leg3.femur_dir, ray)), 0.0, 1.0)))
    hips_off = np.degrees(np.arcsin(np.clip(np.abs(dot(z_p, ray)), 0.0, 1.0)))
    w = _ramp(femur_off, p.full_2d_deg, p.no_2d_deg) * _ramp(hips_off, p.facing_full_deg,
                                                             p.facing_no_deg)
    return np.where(np.isnan(rot2), 0.0, w)


def _wrap(deg: np.ndarray) -> np.ndarray:
    return (deg + 180.0) % 360.0 - 180.0


def _fuse(rot3: np.ndarray, rot2: np.ndarray, w: np.ndarray) -> np.ndarray:
    """rot3 + w * wrap(rot2 - rot3): a weighted mean that never averages across +-180."""
    fused = rot3 + w * _wrap(np.nan_to_num(rot2) - rot3)
    return np.where(w >= 1.0, rot2, fused)


def _estimate_2d(px: np.ndarray | None, size: np.ndarray, leg3: Leg3D,
                 world: np.ndarray | None, side: str, p: GeometryParams
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(raw 2D angle, corrected 2D angle, unit ray to the knee), each per frame.

    The image is first re-aimed at the knee (removes the perspective skew of an off-centre
    knee). The corrected angle adds (3D angle - 2D angle of the world skeleton seen along
    the same ray): the projection error of the 2D method predicted from the 3D skeleton,
    zero when the femur points exactly along the ray. In-plane landmark noise moves both
    terms alike and cancels; depth noise runs along the femur and barely moves either.
    So the correction is nearly noise-free where the 2D method gets weight, and makes the
    fused value exact on noise-free input in every view.
    """
    n = size.shape[0]
    if px is None:
        nan = np.full(n, np.nan)
        return nan, nan, np.full((n, 3), np.nan)
    aimed, ray = aimed_at_knee(px, side, size, p.focal_width * size[:, 0])
    rot2 = frontal_rotation_2d(aimed, side)
    if world is None:
        return rot2, rot2, ray
    predicted = frontal_rotation_2d(along_ray(world[..., :3], side, ray), side)
    return rot2, rot2 + _wrap(leg3.rotation_deg - predicted), ray


def _side(leg3: Leg3D, z_p: np.ndarray, est2d: tuple[np.ndarray, np.ndarray, np.ndarray],
          vis: np.ndarray, side: str, p: GeometryParams) -> SideSeries:
    leg = LEG[side]
    other_hip = LEG["left" if side == "right" else "right"]["hip"]
    with np.errstate(invalid="ignore"):
        vis_leg = np.min(vis[:, [leg["hip"], other_hip, leg["knee"], leg["ankle"]]], axis=1)
        vis_sh = np.min(vis[:, [LEFT_SHOULDER, RIGHT_SHOULDER]], axis=1)
        ok = vis_leg >= p.min_visibility
        knee = np.where(ok, leg3.knee_flexion_deg, np.nan)
        observable = ok & (knee >= p.min_knee_flexion_deg)
    rot2, rot2c, ray = est2d
    w = np.where(observable, _weight_2d(leg3, z_p, ray, rot2c, p), 0.0)
    rotation = np.where(observable, _fuse(leg3.rotation_deg, rot2c, w), np.nan)
    pointer = np.sin(np.radians(np.clip(knee, 0.0, 180.0)))
    conf = vis_leg * pointer * (p.conf_3d + (1.0 - p.conf_3d) * w)
    conf = np.where(np.isnan(rotation), 0.0, np.clip(np.nan_to_num(conf), 0.0, 1.0))
    return SideSeries(
        rotation_deg=rotation,
        knee_flexion_deg=knee,
        hip_flexion_deg=np.where(ok & (vis_sh >= p.min_visibility), leg3.hip_flexion_deg,
                                 np.nan),
        hip_abduction_deg=np.where(ok, leg3.hip_abduction_deg, np.nan),
        confidence=conf,
        weight_2d=w,
        rotation_2d_deg=rot2,
        rotation_3d_deg=leg3.rotation_deg,
    )


def _hip_axis(world: np.ndarray | None, n: int) -> np.ndarray:
    """(T, 3) unit pelvis medio-lateral axis n(R_hip - L_hip) from world landmarks, or NaN."""
    if world is None:
        return np.full((n, 3), np.nan)
    return normalize(world[:, RIGHT_HIP, :3] - world[:, LEFT_HIP, :3])


def _nan_leg(n: int) -> Leg3D:
    nan = np.full(n, np.nan)
    return Leg3D(nan, nan, nan, nan, np.full((n, 3), np.nan))


def hip_angles(
    world: np.ndarray | None,
    image: np.ndarray | None,
    image_size: tuple[int, int] | np.ndarray,
    t: np.ndarray | Sequence[float] | None = None,
    params: GeometryParams = DEFAULT_PARAMS,
) -> HipAngleSeries:
    """Hip angles of both sides for T frames, vectorized (see module docstring).

    ``world``/``image`` are (T, 33, 4) or None (then that estimator is unavailable);
    ``t`` (T,) seconds, default 0..T-1. Returns NaN wherever a value is not measurable.
    """
    world, image = _check("world", world), _check("image", image)
    if world is None and image is None:
        raise ValueError("hip_angles needs world or image landmarks (both are None)")
    ref = world if world is not None else image
    n = ref.shape[0]
    if world is not None and image is not None and image.shape[0] != n:
        raise ValueError(f"world has {n} frames but image has {image.shape[0]}")
    vis = image[..., 3] if image is not None else world[..., 3]
    size = np.broadcast_to(np.asarray(image_size, dtype=float), (n, 2))
    px = to_pixels(image, size) if image is not None else None
    z_p = _hip_axis(world, n)
    out = {}
    for side in SIDES:
        leg3 = leg_angles_3d(world[..., :3], side) if world is not None else _nan_leg(n)
        est2d = _estimate_2d(px, size, leg3, world, side, params)
        out[side] = _side(leg3, z_p, est2d, vis, side, params)
    times = np.arange(n, dtype=float) if t is None else np.asarray(t, dtype=float)
    if times.shape != (n,):
        raise ValueError(f"t must have shape ({n},), got {times.shape}")
    return HipAngleSeries(t=times, left=out["left"], right=out["right"])


def _stack(frames: Sequence[PoseFrame], attr: str) -> np.ndarray:
    out = np.full((len(frames), NUM_LANDMARKS, 4), np.nan)
    for i, f in enumerate(frames):
        value = getattr(f, attr)
        if value is not None:
            out[i] = value
    return out


def series_from_frames(
    frames: Sequence[PoseFrame], params: GeometryParams = DEFAULT_PARAMS
) -> HipAngleSeries:
    """:func:`hip_angles` over a sequence of :class:`PoseFrame` (missing poses -> NaN)."""
    if len(frames) == 0:
        empty = np.zeros((0, NUM_LANDMARKS, 4))
        return hip_angles(empty, empty, (1, 1), t=np.zeros(0), params=params)
    sizes = np.array([f.image_size for f in frames], dtype=float)
    return hip_angles(_stack(frames, "world_landmarks"), _stack(frames, "landmarks"), sizes,
                      t=[f.t for f in frames], params=params)


def frame_angles(pose: PoseFrame, params: GeometryParams = DEFAULT_PARAMS) -> FrameAngles:
    """Angles of one frame (the live loop); identical to the vectorized path with T = 1."""
    return series_from_frames([pose], params).frame(0)
