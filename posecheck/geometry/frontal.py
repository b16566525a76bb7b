"""2D hip rotation from the image: the seated test filmed from the front (pixels).

When the femur points along the camera axis (seated, camera in front at knee height;
prone, camera at the foot end) the image plane is perpendicular to the femur, so the
shank's angle in the image *is* the hip rotation, free of MediaPipe's noisy depth.

Convention:
    - Degrees. Input ``px`` is (..., 33, 2): landmark x, y in **pixels** (normalized x*W,
      y*H; never normalized units, a non-square frame would skew every angle), image y
      pointing down, image not mirrored.
    - ``r`` = n(R_hip - L_hip) in the image (the subject's right as seen by the camera);
      ``d`` = the perpendicular to ``r`` on the side of the shank (the image of the
      neutral shank; the shank never rotates more than 90 degrees from it).
    - Rotation = atan2(s.lateral, s.d) with s = ankle - knee and lateral = +r for the
      right leg, -r for the left: **positive = foot lateral = internal rotation (IR)**.
      Measuring from the perpendicular to the hip line, not from image vertical, cancels
      camera roll and works whether the subject faces the camera or turns their back.
    - :func:`aimed_at_knee` re-projects the image for a virtual camera turned to look
      straight at the knee (pure rotation about the optical centre, needs a focal length):
      it removes the perspective skew of a knee seen off the image centre.
    - Only meaningful when the femur points along the camera axis; the caller
      (:mod:`posecheck.geometry.fusion`) weights it accordingly.

Pure numpy: must not import mediapipe or cv2.
"""

from __future__ import annotations

import numpy as np

from posecheck.geometry.vectors import dot, normalize, rotate_onto_z
from posecheck.landmarks import LEFT_HIP, LEG, NUM_LANDMARKS, RIGHT_HIP

_POINTS = ("hip", "knee", "ankle")


def to_pixels(landmarks: np.ndarray, image_size: np.ndarray | tuple[int, int]) -> np.ndarray:
    """(T, 33, >=2) normalized landmarks -> (T, 33, 2) pixels; ``image_size`` (w, h) or (T, 2)."""
    size = np.asarray(image_size, dtype=float)
    if size.ndim == 1:
        size = np.broadcast_to(size, (landmarks.shape[0], 2))
    return landmarks[..., :2] * size[:, None, :]


def frontal_rotation_2d(px: np.ndarray, side: str) -> np.ndarray:
    """Shank angle from the pelvis perpendicular in the image, degrees, IR positive: (...)."""
    leg = LEG[side]
    r = normalize(px[..., RIGHT_HIP, :] - px[..., LEFT_HIP, :])
    shank = px[..., leg["ankle"], :] - px[..., leg["knee"], :]
    d = np.stack((r[..., 1], -r[..., 0]), axis=-1)
    d = np.where((dot(d, shank) < 0)[..., None], -d, d)
    lateral = dot(shank, r) if side == "right" else -dot(shank, r)
    return np.degrees(np.arctan2(lateral, dot(shank, d)))


def leg_indices(side: str) -> list[int]:
    leg = LEG[side]
    other = LEG["left" if side == "right" else "right"]["hip"]
    return [leg[name] for name in _POINTS] + [other]


def aimed_at_knee(
    px: np.ndarray, side: str, size: np.ndarray, focal_px: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of a virtual camera rotated to look straight at the ``side`` knee.

    ``px`` (T, 33, 2) pixels, ``size`` (T, 2) image (w, h), ``focal_px`` (T,) focal length in
    pixels. Returns (``px_aimed`` (T, 33, 2) with only hips, knee and ankle filled (others
    NaN), ``ray`` (T, 3) the unit ray to the knee in camera axes (x right, y down, z forward)).
    """
    idx = leg_indices(side)
    rays = np.concatenate((px[:, idx, :] - size[:, None, :] / 2,
                           np.broadcast_to(focal_px[:, None, None], (px.shape[0], len(idx), 1))),
                          axis=-1)
    ray = normalize(rays[:, 1, :])
    turned = rotate_onto_z(ray, rays)
    with np.errstate(invalid="ignore", divide="ignore"):
        proj = focal_px[:, None, None] * turned[..., :2] / turned[..., 2:3]
    out = np.full(px.shape, np.nan)
    out[:, idx, :] = proj
    return out, ray


def along_ray(points: np.ndarray, side: str, ray: np.ndarray,
              depth: np.ndarray | None = None, focal: np.ndarray | None = None) -> np.ndarray:
    """World points (T, 33, 3) seen along ``ray`` (T, 3): (T, 33, 2).

    World axes follow the camera, so this is what the 2D method would see of the world
    skeleton from a virtual camera looking along ``ray`` at the knee; only hips, knee and
    ankle filled. Orthographic (metres) without ``depth``; with ``depth`` (T,) (the knee's
    distance, metres) and ``focal`` (T,) (pixels) a pinhole view in pixels, like the
    re-aimed image.
    """
    idx = leg_indices(side)
    out = np.full((*points.shape[:-1], 2), np.nan)
    if depth is None or focal is None:
        out[:, idx, :] = rotate_onto_z(ray, points[:, idx, :])[..., :2]
        return out
    return pinhole(knee_frame(points, side, ray), side, depth, focal)


def knee_frame(points: np.ndarray, side: str, ray: np.ndarray) -> np.ndarray:
    """Hips, knee and ankle of (T, 33, 3) ``points`` relative to the knee, turned so that
    ``ray`` (T, 3) is +z: (T, 4, 3) in :func:`leg_indices` order (metres)."""
    knee = points[:, LEG[side]["knee"], :]
    return rotate_onto_z(ray, points[:, leg_indices(side), :] - knee[:, None, :])


def pinhole(cam: np.ndarray, side: str, depth: np.ndarray, focal: np.ndarray) -> np.ndarray:
    """:func:`knee_frame` points seen by a pinhole ``focal`` (T,) px with the knee at
    ``depth`` (T,) metres on its axis: (T, 33, 2) pixels, only hips, knee and ankle filled."""
    out = np.full((cam.shape[0], NUM_LANDMARKS, 2), np.nan)
    z = cam[..., 2] + depth[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, leg_indices(side), :] = focal[:, None, None] * cam[..., :2] / np.where(
            z > 1e-6, z, np.nan)[..., None]
    return out
