"""3D hip angles from world landmarks: the ISB / Grood-Suntay joint coordinate system.

Convention:
    - Degrees. Input ``points`` is (..., 33, 3) (x, y, z of the 33 BlazePose landmarks) in
      a right-handed frame, e.g. MediaPipe world landmarks (metres, origin mid-hip, x image
      right, y down, z away from the camera). Indices: LEFT = odd (23 hip, 25 knee,
      27 ankle), RIGHT = even (24, 26, 28); "left" is the subject's left.
    - JCS = intrinsic Z-X-Y Cardan of the femur frame in the pelvis frame
      (:mod:`posecheck.geometry.frames`): ``R = P^T F = Rz(alpha) Rx(beta) Ry(gamma)``:
      hip flexion ``alpha = atan2(-R12, R22)`` about the pelvis medio-lateral axis,
      adduction ``beta = asin(R32)`` about the floating axis, rotation
      ``gamma = atan2(-R31, R33)`` about the femur long axis (hip -> knee).
    - **Positive rotation = internal rotation (IR)**, negative = external rotation (ER):
      with the knee flexed, the ankle moving laterally (away from the midline) is IR, for
      both legs. Rotation 0 = the shank lies in the femur plane perpendicular to the
      pelvis medio-lateral axis (as projected on the plane perpendicular to the femur).
    - Left leg: the lateral axes of both frames are mirrored (R_left = D R' D,
      D = diag(1, 1, -1)), so every sign keeps its clinical meaning on both sides.
    - ``hip_flexion_deg`` 0 = thigh along the trunk, positive = flexion;
      ``hip_abduction_deg`` positive = abduction (= -beta);
      ``knee_flexion_deg`` 0 = straight knee (angle between thigh and shank directions).
    - Rotation uses only hips, knee and ankle; abduction only hips and knee; flexion also
      needs the shoulders (trunk "up"). Degenerate input gives NaN.

Pure numpy: must not import mediapipe or cv2.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from posecheck.geometry.frames import femur_axes, pelvis_axes
from posecheck.geometry.vectors import angle_between_deg, dot
from posecheck.landmarks import LEFT_HIP, LEFT_SHOULDER, LEG, RIGHT_HIP, RIGHT_SHOULDER


class Leg3D(NamedTuple):
    """3D angles of one leg, each (...) float degrees (NaN = not measurable).

    ``femur_dir`` (..., 3) is the unit vector hip -> knee in the input frame (used by the
    fusion to judge how much the femur points along the camera axis).
    """

    rotation_deg: np.ndarray
    knee_flexion_deg: np.ndarray
    hip_flexion_deg: np.ndarray
    hip_abduction_deg: np.ndarray
    femur_dir: np.ndarray


def leg_angles_3d(points: np.ndarray, side: str) -> Leg3D:
    """JCS angles of the ``side`` ("left"/"right") hip from (..., 33, 3) points.

    See the module docstring for the convention. Rotation is returned for every knee
    flexion here; gating (knee flexion, visibility) is the caller's job.
    """
    leg = LEG[side]
    hip, knee, ankle = points[..., leg["hip"], :], points[..., leg["knee"], :], \
        points[..., leg["ankle"], :]
    x_p, y_p, z_p = pelvis_axes(points[..., LEFT_HIP, :], points[..., RIGHT_HIP, :],
                                points[..., LEFT_SHOULDER, :], points[..., RIGHT_SHOULDER, :])
    x_f, y_f, z_f = femur_axes(hip, knee, ankle)
    mirror = -1.0 if side == "left" else 1.0
    with np.errstate(invalid="ignore"):
        flexion = np.degrees(np.arctan2(-dot(x_p, y_f), dot(y_p, y_f)))
        adduction = mirror * np.degrees(np.arcsin(np.clip(dot(z_p, y_f), -1.0, 1.0)))
        rotation = np.degrees(np.arctan2(-mirror * dot(z_p, x_f), dot(z_p, z_f)))
    knee_flexion = angle_between_deg(knee - hip, ankle - knee)
    return Leg3D(rotation, knee_flexion, flexion, -adduction, -y_f)
