"""Anatomical frames (ISB style) built from landmark positions, vectorized over frames.

Convention:
    - Input points are (..., 3) arrays in any right-handed frame, e.g. MediaPipe world
      landmarks (metres; origin mid-hip, x image right, y down, z away from the camera).
    - Pelvis frame (ISB): ``z_p`` = n(R_hip - L_hip) points to the subject's RIGHT,
      ``x_p`` = n(up x z_p) ANTERIOR, ``y_p`` = z_p x x_p SUPERIOR, with
      ``up`` = n(mid-shoulder - mid-hip). Right-handed.
    - Femur frame (right-handed, both legs): ``y_f`` = n(hip - knee) (towards the hip),
      ``x_f`` = -n(shank projected on the plane perpendicular to y_f) (anterior when the
      knee flexes backwards), ``z_f`` = x_f x y_f (to the subject's right for the right
      leg). For the left leg the lateral axes are mirrored by the caller (see
      :mod:`posecheck.geometry.hip`), not here.
    - Degenerate input (coincident points, straight knee for ``x_f``) gives NaN.

Pure numpy: must not import mediapipe or cv2.
"""

from __future__ import annotations

import numpy as np

from posecheck.geometry.vectors import cross, normalize, reject


def pelvis_axes(
    left_hip: np.ndarray, right_hip: np.ndarray, left_shoulder: np.ndarray,
    right_shoulder: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pelvis axes ``(x_p, y_p, z_p)`` (anterior, superior, right), each (..., 3) unit."""
    z_p = normalize(right_hip - left_hip)
    up = normalize((left_shoulder + right_shoulder) - (left_hip + right_hip))
    x_p = normalize(cross(up, z_p))
    y_p = cross(z_p, x_p)
    return x_p, y_p, z_p


def femur_axes(
    hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Femur axes ``(x_f, y_f, z_f)``, each (..., 3) unit; x_f, z_f NaN for a straight knee."""
    y_f = normalize(hip - knee)
    x_f = -normalize(reject(ankle - knee, y_f))
    z_f = cross(x_f, y_f)
    return x_f, y_f, z_f
