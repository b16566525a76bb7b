"""Left/right swap repair across frames: a separate, pure step before :func:`hip_angles`.

Pose models sometimes exchange the labels of the two legs for a few frames. Handedness is
never inferred from world coordinates (single-image lifting is mirror-ambiguous); instead
each frame is compared with the last accepted frame in the image: if exchanging the left
and right leg points (hips, knees, ankles, heels, toes) lowers the total displacement to
less than ``ratio`` times the unswapped displacement (a 2x2 assignment by minimum
displacement), the frame is marked as swapped. Ambiguous frames (legs close together)
are left alone.

Convention: ``image`` (T, 33, 4) normalized landmarks (only x, y are used, in pixels when
``image_size`` is given); frames without a pose are rows of NaN and are skipped.
Pure numpy: must not import mediapipe or cv2.
"""

from __future__ import annotations

import numpy as np

from posecheck.landmarks import LEG, MIRROR

_PARTS = ("hip", "knee", "ankle", "heel", "toe")
_LEFT = [LEG["left"][p] for p in _PARTS]
_RIGHT = [LEG["right"][p] for p in _PARTS]


def _cost(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sum(np.linalg.norm(a - b, axis=-1)))


def detect_swaps(image: np.ndarray, image_size: tuple[int, int] = (1, 1),
                 ratio: float = 0.5) -> np.ndarray:
    """(T,) bool: True where the frame's left/right leg labels should be exchanged."""
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"ratio must be in (0, 1], got {ratio}")
    px = image[..., :2] * np.asarray(image_size, dtype=float)
    swaps = np.zeros(px.shape[0], dtype=bool)
    ref: tuple[np.ndarray, np.ndarray] | None = None
    for i, frame in enumerate(px):
        left, right = frame[_LEFT], frame[_RIGHT]
        if np.isnan(left).any() or np.isnan(right).any():
            continue
        if ref is not None:
            keep = _cost(left, ref[0]) + _cost(right, ref[1])
            swap = _cost(left, ref[1]) + _cost(right, ref[0])
            swaps[i] = swap < ratio * keep
        ref = (right, left) if swaps[i] else (left, right)
    return swaps


def fix_swaps(landmarks: np.ndarray, swaps: np.ndarray) -> np.ndarray:
    """Copy of (T, 33, k) ``landmarks`` with left/right labels exchanged where ``swaps``."""
    out = landmarks.copy()
    out[swaps] = landmarks[swaps][:, list(MIRROR)]
    return out


class SwapTracker:
    """Streaming :func:`detect_swaps` + :func:`fix_swaps`, one frame at a time (live loop).

    ``update(image_px_xy, *arrays)`` takes a frame's (33, >=2) pixel landmarks and returns
    ``(swapped, arrays)`` with every (33, k) array's left/right labels exchanged when the
    frame's legs are closer to the last accepted frame's legs that way (same rule and
    ``ratio`` as :func:`detect_swaps`). Frames with missing leg points are passed through.
    """

    def __init__(self, ratio: float = 0.5) -> None:
        if not 0.0 < ratio <= 1.0:
            raise ValueError(f"ratio must be in (0, 1], got {ratio}")
        self.ratio = ratio
        self.swaps = 0
        self._ref: tuple[np.ndarray, np.ndarray] | None = None

    def update(self, px: np.ndarray, *arrays: np.ndarray | None
               ) -> tuple[bool, tuple[np.ndarray | None, ...]]:
        """Check one frame; returns whether it was swapped and the (repaired) arrays."""
        left, right = px[_LEFT, :2], px[_RIGHT, :2]
        if np.isnan(left).any() or np.isnan(right).any():
            return False, arrays
        swapped = False
        if self._ref is not None:
            keep = _cost(left, self._ref[0]) + _cost(right, self._ref[1])
            swap = _cost(left, self._ref[1]) + _cost(right, self._ref[0])
            swapped = swap < self.ratio * keep
        self._ref = (right, left) if swapped else (left, right)
        if not swapped:
            return False, arrays
        self.swaps += 1
        return True, tuple(None if a is None else a[list(MIRROR)] for a in arrays)
