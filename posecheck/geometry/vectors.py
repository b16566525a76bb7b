"""Small vectorized vector helpers for the hip geometry (numpy only).

Every function works on arrays of shape (..., 3) (or (..., 2) where noted) and never loops
in Python. Degenerate vectors (zero length, NaN) give NaN, never an exception: "cannot
measure" is a value. Must not import mediapipe, cv2 or anything outside numpy.
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-9


def norm(v: np.ndarray, keepdims: bool = False) -> np.ndarray:
    """Euclidean length along the last axis; bit-identical to ``np.linalg.norm(v, axis=-1)``
    (the same sqrt of the same sum of squares) without its per-call overhead."""
    return np.sqrt(np.add.reduce(v * v, axis=-1, keepdims=keepdims))


def normalize(v: np.ndarray) -> np.ndarray:
    """Unit vectors along the last axis; zero-length vectors become NaN."""
    norm_ = norm(v, keepdims=True)
    with np.errstate(invalid="ignore"):  # an inf component: inf / inf
        return v / np.where(norm_ > _EPS, norm_, np.nan)  # x / NaN is NaN


def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dot product along the last axis: (..., n) x (..., n) -> (...)."""
    return np.einsum("...i,...i->...", a, b)


def cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cross product of (..., 3) arrays (right-handed)."""
    c0 = a[..., 1] * b[..., 2] - a[..., 2] * b[..., 1]
    out = np.empty((*c0.shape, 3), dtype=c0.dtype)
    out[..., 0] = c0
    out[..., 1] = a[..., 2] * b[..., 0] - a[..., 0] * b[..., 2]
    out[..., 2] = a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]
    return out


_FMAX = np.finfo(float).max


def nan_to_zero(x: np.ndarray) -> np.ndarray:
    """``np.nan_to_num(x)`` for float arrays (NaN -> 0, +-inf -> +-max float), cheaper."""
    return np.minimum(np.maximum(np.where(np.isnan(x), 0.0, x), -_FMAX), _FMAX)


def reject(v: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Component of ``v`` perpendicular to the unit vector ``axis`` (both (..., n))."""
    return v - dot(v, axis)[..., None] * axis


def angle_between_deg(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unsigned angle between vectors, degrees in [0, 180]; NaN if either is degenerate.

    Uses atan2(|a x b|, a.b), which stays accurate near 0 and 180 degrees.
    """
    a_n, b_n = normalize(a), normalize(b)
    if a.shape[-1] == 2:
        sin = np.abs(a_n[..., 0] * b_n[..., 1] - a_n[..., 1] * b_n[..., 0])
    else:
        sin = norm(cross(a_n, b_n))
    return np.degrees(np.arctan2(sin, dot(a_n, b_n)))


def rotate_onto_z(q: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Apply to ``x`` (..., k, 3) the smallest rotation taking unit ``q`` (..., 3) onto +z.

    Rodrigues with v = q x z, c = q.z: R x = x + v x x + v x (v x x) / (1 + c). Valid for
    q.z > -1 (rays in front of a camera always satisfy it).
    """
    z = np.zeros_like(q)
    z[..., 2] = 1.0
    v = cross(q, z)[..., None, :]
    c = q[..., 2][..., None, None]
    vx = cross(v, x)
    return x + vx + cross(v, vx) / (1.0 + c)
