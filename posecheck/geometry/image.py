"""Hip rotation from the image, corrected for the femur's tilt to the line of sight.

The seated test filmed from the front shows the plane the shank sweeps in (perpendicular
to the femur) almost face-on, so the shank's angle in the image is the hip rotation
(:func:`posecheck.geometry.frontal.frontal_rotation_2d`). When the femur is tilted by
``theta`` from the line of sight (a high camera, a camera 20-40 deg to the side, a hip not
at 90 deg), that plane is seen obliquely: orthographically it is compressed by
``cos(theta)`` along the image direction ``t`` of the femur's tilt and unchanged across it.
:func:`decompress` undoes that compression before the angle is taken, so a high camera no
longer over-reads (tan of the angle x 1/cos 23 deg at 1.45 m) and a side camera no longer
under-reads (x cos 20 deg).

``theta`` comes from the thigh's foreshortening in the image (:func:`femur_tilt`): the
image vector knee -> hip is short when the femur points at the camera and as long as the
thigh when it is across the line of sight. The thigh's image length is the shank's
reference length (held constant through a session: :class:`posecheck.neutral.LegReference`)
times the femur/shank length ratio. Perspective is handled exactly for a knee on the
optical axis (the image is first re-aimed at the knee, :func:`aimed_at_knee`).

Convention: degrees for angles, pixels (or metres for an orthographic view, ``focal`` =
inf) for lengths; image y down, not mirrored. **Positive rotation = internal rotation.**
Pure numpy: must not import mediapipe or cv2.
"""

from __future__ import annotations

import numpy as np

from posecheck.geometry.vectors import dot, nan_to_zero, norm, normalize
from posecheck.landmarks import LEFT_HIP, LEG, RIGHT_HIP

#: 1/cos(theta) is capped here (theta <= ~76 deg): beyond, the image cannot see the plane.
MIN_COS = 0.25


def femur_tilt(knee_to_hip: np.ndarray, thigh_len: np.ndarray, focal: np.ndarray | float
               ) -> tuple[np.ndarray, np.ndarray]:
    """Angle of the femur to the line of sight (deg) and the image direction of its tilt.

    ``knee_to_hip`` (T, 2) image vector in a view aimed at the knee; ``thigh_len`` (T,)
    the thigh's length in the same units at the knee's depth; ``focal`` (T,) or a scalar
    in the same units (``np.inf``: orthographic). With the hip behind the knee, a thigh of
    normalized length l at angle theta images to a = l sin(theta) / (1 + l cos(theta)),
    solved exactly: theta = atan(a) + asin(a / (l sqrt(1 + a^2))). Returns ``theta``
    (T,) in [0, 90] and ``t`` (T, 2) unit (NaN where the vector is degenerate).
    """
    length = norm(knee_to_hip)
    f = np.asarray(focal, dtype=float)
    if f.shape != length.shape:
        f = np.broadcast_to(f, length.shape)
    ortho = np.isinf(f)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = np.where(ortho, 0.0, length / f)
        ratio = np.where(ortho, length / thigh_len,
                         a / ((thigh_len / f) * np.sqrt(1.0 + a * a)))
        theta = np.degrees(np.arctan(a) + np.arcsin(np.minimum(np.maximum(ratio, 0.0), 1.0)))
    return np.minimum(np.maximum(theta, 0.0), 90.0), normalize(knee_to_hip)


def decompress(points: np.ndarray, origin: np.ndarray, theta_deg: np.ndarray,
               t: np.ndarray) -> np.ndarray:
    """Stretch (T, k, 2) image ``points`` about ``origin`` (T, 2) by 1/cos(theta) along ``t``.

    Undoes the orthographic compression of the plane perpendicular to a femur tilted by
    ``theta`` (deg) toward the image direction ``t`` (T, 2); NaN ``t`` (femur exactly
    along the ray) leaves the points as they are.
    """
    scale = 1.0 / np.maximum(np.cos(np.radians(theta_deg)), MIN_COS) - 1.0
    t = nan_to_zero(t)
    rel = points - origin[:, None, :]
    along = dot(rel, t[:, None, :])
    return points + (scale[:, None] * along)[..., None] * t[:, None, :]


def leg_points(px: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hip, knee, ankle) of ``side`` from (T, 33, 2) points, each (T, 2)."""
    leg = LEG[side]
    return px[:, leg["hip"]], px[:, leg["knee"]], px[:, leg["ankle"]]


def with_references(px: np.ndarray, side: str, knee: np.ndarray | None,
                    hip_dir: np.ndarray | None) -> np.ndarray:
    """Copy of (T, 33, 2) pixels with the held knee pivot and pelvis line put in.

    ``knee`` (T, 2) replaces the side's knee where finite (the knee stays where it was
    while only the shank swings: MediaPipe's knee landmark drifts toward the foot by up to
    0.4 shank lengths on the renders). ``hip_dir`` (T, 2) unit image direction left hip ->
    right hip replaces the hip line's direction (same mid-point and width) where finite
    (MediaPipe's hip landmarks move when a foot swings).
    """
    out = px.copy()
    if knee is not None:
        ok = np.all(np.isfinite(knee), axis=-1)
        out[ok, LEG[side]["knee"]] = knee[ok]
    if hip_dir is not None:
        ok = np.all(np.isfinite(hip_dir), axis=-1)
        mid = (px[:, LEFT_HIP] + px[:, RIGHT_HIP]) / 2
        half = norm(px[:, RIGHT_HIP] - px[:, LEFT_HIP], keepdims=True) / 2
        out[ok, RIGHT_HIP] = (mid + half * hip_dir)[ok]
        out[ok, LEFT_HIP] = (mid - half * hip_dir)[ok]
    return out
