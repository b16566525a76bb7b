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
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from posecheck.errors import ConfigError
from posecheck.geometry.frontal import (
    aimed_at_knee,
    along_ray,
    frontal_rotation_2d,
    knee_frame,
    leg_indices,
    pinhole,
    to_pixels,
)
from posecheck.geometry.hip import Leg3D, leg_angles_3d
from posecheck.geometry.image import decompress, femur_tilt, leg_points, with_references
from posecheck.geometry.series import HipAngleSeries, SideSeries
from posecheck.geometry.vectors import dot, nan_to_zero, norm, normalize
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
    """Gates and the estimators' error model (degrees, pixels; visibility in 0..1)."""

    min_knee_flexion_deg: float = 45.0
    min_visibility: float = 0.5
    conf_3d: float = 0.8
    focal_width: float = 0.9
    image_px_sd: float = 4.0
    hip_px_sd: float = 12.0
    sigma_3d_deg: float = 10.0
    full_2d_tilt_deg: float = 35.0
    no_2d_tilt_deg: float = 50.0
    facing_full_deg: float = 50.0
    facing_no_deg: float = 75.0
    agree_full_deg: float = 2.0
    agree_none_deg: float = 4.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_knee_flexion_deg < 180.0:
            raise ConfigError(
                f"min_knee_flexion_deg must be in [0, 180), got {self.min_knee_flexion_deg}")
        if not 0.0 <= self.min_visibility <= 1.0:
            raise ConfigError(f"min_visibility must be in [0, 1], got {self.min_visibility}")
        if not 0.0 <= self.full_2d_tilt_deg < self.no_2d_tilt_deg <= 90.0:
            raise ConfigError("need 0 <= full_2d_tilt_deg < no_2d_tilt_deg <= 90, got "
                              f"{self.full_2d_tilt_deg} and {self.no_2d_tilt_deg}")
        if not 0.0 <= self.facing_full_deg < self.facing_no_deg <= 90.0:
            raise ConfigError("need 0 <= facing_full_deg < facing_no_deg <= 90, got "
                              f"{self.facing_full_deg} and {self.facing_no_deg}")
        if not 0.2 <= self.focal_width <= 5.0:
            raise ConfigError(f"focal_width must be in [0.2, 5], got {self.focal_width}")
        if not 0.0 <= self.conf_3d <= 1.0:
            raise ConfigError(f"conf_3d must be in [0, 1], got {self.conf_3d}")
        for name in ("image_px_sd", "hip_px_sd", "sigma_3d_deg"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")


DEFAULT_PARAMS = GeometryParams()


@dataclass(frozen=True)
class ImageRefs:
    """Session references for the image estimator, one row per frame (NaN = none yet).

    Pixels. ``knee[side]`` (T, 2): the held knee pivot; ``shank[side]`` (T,): the shank's
    reference image length (knee at 90 deg, shank across the line of sight: the length
    held constant through a session); ``hip_dir`` (T, 2): unit image direction left hip ->
    right hip of the held pelvis line. Made by :class:`posecheck.neutral.LegReference`.
    """

    knee: dict[str, np.ndarray] = field(default_factory=dict)
    shank: dict[str, np.ndarray] = field(default_factory=dict)
    hip_dir: np.ndarray | None = None

    @classmethod
    def single(cls, knee: dict[str, np.ndarray], shank: dict[str, np.ndarray],
               hip_dir: np.ndarray | None) -> ImageRefs:
        """The references of one frame ((2,) pivots, () lengths, (2,) line) as T = 1 rows."""
        return cls({s: np.reshape(v, (1, 2)) for s, v in knee.items()},
                   {s: np.reshape(v, (1,)) for s, v in shank.items()},
                   None if hip_dir is None else np.reshape(hip_dir, (1, 2)))


def _check(name: str, arr: np.ndarray | None) -> np.ndarray | None:
    if arr is None:
        return None
    arr = np.asarray(arr, dtype=float)
    if arr.ndim != 3 or arr.shape[1:] != (NUM_LANDMARKS, 4):
        raise ValueError(f"{name} must have shape (T, {NUM_LANDMARKS}, 4), got {arr.shape}")
    return arr


def _ramp(angle_deg: np.ndarray, full: float, none: float) -> np.ndarray:
    """1 up to ``full`` degrees, linear to 0 at ``none``; NaN -> 0."""
    return nan_to_zero(np.clip((none - angle_deg) / (none - full), 0.0, 1.0))


def _wrap(deg: np.ndarray) -> np.ndarray:
    return (deg + 180.0) % 360.0 - 180.0


def _fuse(rot3: np.ndarray, rot2: np.ndarray, w: np.ndarray) -> np.ndarray:
    """rot3 + w * wrap(rot2 - rot3): a weighted mean that never averages across +-180."""
    fused = np.where(np.isnan(rot3), rot2, rot3 + w * _wrap(nan_to_zero(rot2) - rot3))
    return np.where(w >= 1.0, rot2, fused)


class _Image(NamedTuple):
    """The image estimator of one side: angles (deg), tilt (deg), error SD (deg)."""

    raw: np.ndarray  # shank angle in the re-aimed image, uncorrected
    rotation: np.ndarray  # corrected for the femur's tilt (and the world's residual)
    tilt: np.ndarray  # femur angle to the line of sight
    sigma: np.ndarray  # predicted error SD of ``rotation``
    knee: np.ndarray  # knee flexion from the shank's foreshortening (NaN: no reference)
    ray: np.ndarray  # (T, 3) unit ray to the knee
    abduction: np.ndarray  # hip abduction from the knee's lateral offset in the image
    abduction_sigma: np.ndarray  # predicted error SD of ``abduction``


class _Tilt(NamedTuple):
    """:func:`_tilt`'s result: femur tilt (deg), its image direction (T, 2), shank length."""

    tilt: np.ndarray
    direction: np.ndarray
    shank: np.ndarray


def _ratio(world: np.ndarray | None, side: str, n: int) -> np.ndarray:
    """Femur / shank length ratio from the world skeleton (1 where unknown or implausible)."""
    if world is None:
        return np.ones(n)
    h, k, a = leg_points(world[..., :3], side)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = norm(h - k) / norm(a - k)
    return np.where((r >= 0.75) & (r <= 1.33), r, 1.0)


def _thigh_angle(pts: np.ndarray, side: str) -> np.ndarray:
    """atan(image thigh length / image shank length), degrees: the thigh's foreshortening."""
    hip, knee, ankle = leg_points(pts, side)
    return np.degrees(np.arctan2(norm(hip - knee),
                                 norm(ankle - knee)))


def _corrected(pts: np.ndarray, side: str, rho: np.ndarray, focal: np.ndarray | float,
               thigh: np.ndarray | None = None, tilted: _Tilt | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rotation of the decompressed view, femur tilt, true shank length) of aimed points.

    ``pts`` (T, 33, 2). Without ``thigh`` (its length in the same units) it is found
    self-consistently: the shank is perpendicular to the femur, so the decompressed shank
    is its true length and the thigh ``rho`` times that (three fixed-point steps).
    ``tilted``: :func:`_tilt` of the same arguments, when already computed.
    """
    tilt, t, shank = tilted or _tilt(pts, side, rho, focal, thigh)
    knee = leg_points(pts, side)[1]
    idx = leg_indices(side)
    out = pts.copy()
    out[:, idx] = decompress(pts[:, idx], knee, tilt, t)
    return frontal_rotation_2d(out, side), tilt, shank


def _tilt(pts: np.ndarray, side: str, rho: np.ndarray, focal: np.ndarray | float,
          thigh: np.ndarray | None = None) -> _Tilt:
    """(femur tilt (deg), its image direction (T, 2), true shank length) of :func:`_corrected`."""
    hip, knee, ankle = leg_points(pts, side)
    shank = norm(ankle - knee)
    steps = 1 if thigh is not None else 3
    for _ in range(steps):
        length = thigh if thigh is not None else rho * shank
        tilt, t = femur_tilt(hip - knee, length, focal)
        shank = norm(decompress(ankle[:, None], knee, tilt, t)[:, 0] - knee)
    return tilt, t, shank


def _world_view(w3: np.ndarray, side: str, ray: np.ndarray, aimed: np.ndarray,
                focal: np.ndarray) -> np.ndarray:
    """The world skeleton through a pinhole along ``ray``, at the knee depth (metres) at
    which its shank images as long as ``aimed``'s (two refinement steps): (T, 33, 2) px."""
    _, ko, ao = leg_points(along_ray(w3, side, ray), side)
    _, ki, ai = leg_points(aimed, side)
    shank_img = norm(ai - ki)
    cam = knee_frame(w3, side, ray)  # along_ray(w3, side, ray, depth, focal), turned once
    with np.errstate(invalid="ignore", divide="ignore"):
        depth = focal * norm(ao - ko) / shank_img
        for _ in range(2):
            _, ks, as_ = leg_points(pinhole(cam, side, depth, focal), side)
            depth = depth * norm(as_ - ks) / shank_img
    return pinhole(cam, side, depth, focal)


def _abduction(pts: np.ndarray, side: str, rho: np.ndarray, focal: np.ndarray,
               tilted: _Tilt | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(hip abduction (deg, + = knee lateral), thigh length px) of aimed points.

    The femur's component along the pelvis medio-lateral axis is sin(adduction): the
    knee's offset from the hip along the image hip line, brought to the knee's depth
    (the hip is farther: x (1 + l cos(tilt)), l = thigh / focal), over the thigh length.
    """
    tilt, _, shank = tilted or _tilt(pts, side, rho, focal)
    thigh = rho * shank
    hip, knee, _ = leg_points(pts, side)
    line = normalize(pts[:, RIGHT_HIP] - pts[:, LEFT_HIP])
    lateral = line if side == "right" else -line
    with np.errstate(invalid="ignore", divide="ignore"):
        offset = dot(knee - hip, lateral) * (1.0 + thigh / focal * np.cos(np.radians(tilt)))
        return np.degrees(np.arcsin(np.clip(offset / thigh, -1.0, 1.0))), thigh


def _estimate_2d(px: np.ndarray | None, size: np.ndarray, leg3: Leg3D,
                 world: np.ndarray | None, side: str, p: GeometryParams,
                 refs: ImageRefs | None) -> _Image:
    """The image estimator of ``side`` (see the module docstring and :mod:`.image`).

    The image is re-aimed at the (held) knee and decompressed for the femur's tilt from
    the thigh's foreshortening. The residual of that model (knee not at 90 deg, hip
    ab/adduction, perspective) is predicted from the world skeleton (3D angle - the same
    method applied to the world skeleton seen along the same ray), but only where the
    world skeleton agrees with the image (thigh foreshortening and shank angle within
    ``agree_full_deg``, none beyond ``agree_none_deg``): that makes the estimate exact on
    noise-free input in every view, while MediaPipe's world skeleton, whose femur is
    pitched 10-25 deg off on seated people, never moves it.
    """
    n = size.shape[0]
    if px is None:
        nan = np.full(n, np.nan)
        return _Image(nan, nan, nan, nan, nan, np.full((n, 3), np.nan), nan, nan)
    refs = refs or ImageRefs()
    focal = p.focal_width * size[:, 0]
    use = with_references(px, side, refs.knee.get(side), refs.hip_dir)
    aimed, ray = aimed_at_knee(use, side, size, focal)
    raw = frontal_rotation_2d(aimed, side)
    _, k0, a0 = leg_points(use, side)  # the held knee pivot: its landmark drifts
    shank_now = norm(a0 - k0)
    ref = refs.shank.get(side)
    rho = _ratio(world, side, n)
    tilted = _tilt(aimed, side, rho, focal)
    rotation, tilt, shank_true = _corrected(aimed, side, rho, focal, tilted=tilted)
    thigh = rho * shank_true
    if world is not None:
        w3 = world[..., :3]
        seen = _world_view(w3, side, ray, aimed, focal)
        # the same model on the world skeleton: its residual is what the model misses
        tilted_seen = _tilt(seen, side, rho, focal)
        pred, _, _ = _corrected(seen, side, rho, focal, tilted=tilted_seen)
        fix = _wrap(leg3.rotation_deg - pred)
        gap = np.fmax(np.abs(_thigh_angle(seen, side) - _thigh_angle(aimed, side)),
                      np.abs(_wrap(frontal_rotation_2d(seen, side) - raw)))
        trust = _ramp(gap, p.agree_full_deg, p.agree_none_deg)
        rotation = rotation + np.where(np.isnan(fix), 0.0, trust * nan_to_zero(fix))
    # error model: landmark noise across the shank (first order) + the tilt's uncertainty
    # (hip landmark error over the thigh length) through 1/cos(tilt) (second order)
    gamma = np.radians(nan_to_zero(rotation))
    d_tilt = p.hip_px_sd / np.maximum(thigh, 1.0)
    tan_t = np.tan(np.radians(np.clip(tilt, 0.0, 80.0)))
    sigma = np.degrees(np.hypot(p.image_px_sd / np.maximum(shank_now, 1.0),
                                0.5 * np.abs(np.sin(2 * gamma)) * tan_t * d_tilt))
    knee = np.full(n, np.nan)
    if ref is not None:
        with np.errstate(invalid="ignore", divide="ignore"):
            k2 = np.degrees(np.arcsin(np.clip(shank_now / ref, 0.0, 1.0)))
        knee = np.where(leg3.knee_flexion_deg > 90.0, 180.0 - k2, k2)
    # abduction from the MediaPipe knee itself (the held pivot is for the shank pointer)
    # (without a held pivot or pelvis line in this frame that is the same view as above)
    same = np.array_equal(use, px, equal_nan=True)
    plain, ray_p = (aimed, ray) if same else aimed_at_knee(px, side, size, focal)
    abduction, thigh_p = _abduction(plain, side, rho, focal, tilted if same else None)
    if world is not None:
        seen_p = seen if same else _world_view(w3, side, ray_p, plain, focal)
        pred_a, _ = _abduction(seen_p, side, rho, focal, tilted_seen if same else None)
        fix = leg3.hip_abduction_deg - pred_a
        abduction = abduction + np.where(np.isnan(fix), 0.0, trust * nan_to_zero(fix))
    abd_sigma = np.degrees(p.hip_px_sd / np.maximum(thigh_p, 1.0))
    return _Image(raw, rotation, tilt, sigma, knee, ray, abduction, abd_sigma)


def _weight_2d(img: _Image, z_p: np.ndarray, p: GeometryParams) -> np.ndarray:
    """Share of the image estimator: inverse-variance weight against the 3D estimator.

    The 3D estimator's error (MediaPipe's depth: first order for rotation) is taken as a
    constant ``sigma_3d_deg``; the image estimator's from :func:`_estimate_2d`. Past
    ``full_2d_tilt_deg`` of femur tilt the decompression's 1/cos(tilt) grows too fast to
    trust, and the hip line must not be turned out of the image plane by more than
    ``facing_*``.
    """
    w = p.sigma_3d_deg ** 2 / (p.sigma_3d_deg ** 2 + img.sigma ** 2)
    w = w * _ramp(img.tilt, p.full_2d_tilt_deg, p.no_2d_tilt_deg)
    hips_off = np.degrees(np.arcsin(np.clip(np.abs(dot(z_p, img.ray)), 0.0, 1.0)))
    w = w * np.where(np.isnan(hips_off), 1.0, _ramp(hips_off, p.facing_full_deg,
                                                     p.facing_no_deg))
    return np.where(np.isnan(img.rotation), 0.0, nan_to_zero(w))


def _side(leg3: Leg3D, z_p: np.ndarray, img: _Image, vis: np.ndarray, side: str,
          p: GeometryParams) -> SideSeries:
    leg = LEG[side]
    other_hip = LEG["left" if side == "right" else "right"]["hip"]
    with np.errstate(invalid="ignore"):
        vis_leg = np.min(vis[:, [leg["hip"], other_hip, leg["knee"], leg["ankle"]]], axis=1)
        vis_sh = np.min(vis[:, [LEFT_SHOULDER, RIGHT_SHOULDER]], axis=1)
        ok = vis_leg >= p.min_visibility
        knee_src = np.fmax(img.knee, leg3.knee_flexion_deg)
        knee = np.where(ok, knee_src, np.nan)
        observable = ok & (knee >= p.min_knee_flexion_deg)
    w = np.where(observable, _weight_2d(img, z_p, p), 0.0)
    # abduction: the same inverse-variance rule (knee and hip landmark error over the thigh)
    w_abd = p.sigma_3d_deg ** 2 / (p.sigma_3d_deg ** 2 + img.abduction_sigma ** 2)
    w_abd = nan_to_zero(w_abd * _ramp(img.tilt, p.full_2d_tilt_deg, p.no_2d_tilt_deg))
    w_abd = np.where(np.isnan(img.abduction), 0.0, w_abd)
    abduction = _fuse(leg3.hip_abduction_deg, img.abduction, w_abd)
    rotation = np.where(observable, _fuse(leg3.rotation_deg, img.rotation, w), np.nan)
    w = np.where(np.isnan(leg3.rotation_deg) & ~np.isnan(rotation), 1.0, w)
    pointer = np.sin(np.radians(np.clip(knee, 0.0, 180.0)))
    conf = vis_leg * pointer * (p.conf_3d + (1.0 - p.conf_3d) * w)
    conf = np.where(np.isnan(rotation), 0.0, np.clip(nan_to_zero(conf), 0.0, 1.0))
    return SideSeries(
        rotation_deg=rotation,
        knee_flexion_deg=knee,
        hip_flexion_deg=np.where(ok & (vis_sh >= p.min_visibility), leg3.hip_flexion_deg,
                                 np.nan),
        hip_abduction_deg=np.where(ok, abduction, np.nan),
        confidence=conf,
        weight_2d=w,
        rotation_2d_deg=img.raw,
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
    refs: ImageRefs | None = None,
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
        img = _estimate_2d(px, size, leg3, world, side, params, refs)
        out[side] = _side(leg3, z_p, img, vis, side, params)
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
    frames: Sequence[PoseFrame], params: GeometryParams = DEFAULT_PARAMS,
    refs: ImageRefs | None = None,
) -> HipAngleSeries:
    """:func:`hip_angles` over a sequence of :class:`PoseFrame` (missing poses -> NaN)."""
    if len(frames) == 0:
        empty = np.zeros((0, NUM_LANDMARKS, 4))
        return hip_angles(empty, empty, (1, 1), t=np.zeros(0), params=params)
    sizes = np.array([f.image_size for f in frames], dtype=float)
    return hip_angles(_stack(frames, "world_landmarks"), _stack(frames, "landmarks"), sizes,
                      t=[f.t for f in frames], params=params, refs=refs)


def frame_angles(pose: PoseFrame, params: GeometryParams = DEFAULT_PARAMS,
                 refs: ImageRefs | None = None) -> FrameAngles:
    """Angles of one frame (the live loop); identical to the vectorized path with T = 1.

    ``refs``: the session's references for this frame (:meth:`ImageRefs.single`).
    """
    return series_from_frames([pose], params, refs).frame(0)
