"""Neutral reference: the angle a person shows while sitting in the stretch's neutral.

Markerless systems are least accurate in rotation and much better at measuring change
from a calibrated neutral (research notes §2.1: aligning frames cut knee IR/ER error from
10.2° to 2.5°). Before the first hold on a side, while the person sits still near neutral
(e.g. shin vertical) for ``window_s`` seconds, the median angle is kept as the offset;
later angles are reported as ``angle - offset``.

Pure: numpy only; time is an argument (seconds).
"""

from __future__ import annotations

from collections import deque

import numpy as np


class NeutralCapture:
    """Finds a still, near-zero window of one angle and locks its median as the offset.

    Convention: degrees; the offset has the sign of the raw angle (IR positive for
    rotation). ``max_abs_deg`` bounds how far from 0 a "neutral" may read, so a person who
    is already stretching is never taken as neutral; ``max_sd_deg`` is the stillness limit.
    """

    def __init__(self, window_s: float = 2.0, *, max_abs_deg: float = 12.0,
                 max_sd_deg: float = 2.0) -> None:
        if window_s <= 0:
            raise ValueError(f"window_s must be > 0 seconds, got {window_s}")
        self.window_s = window_s
        self.max_abs_deg = max_abs_deg
        self.max_sd_deg = max_sd_deg
        self._buf: deque[tuple[float, float]] = deque()
        self.offset_deg: float = 0.0
        self.captured: bool = False
        self.locked: bool = False
        self.captured_at: float | None = None

    def update(self, t: float, value: float | None) -> bool:
        """Feed one sample; returns True on the frame the offset is captured."""
        if self.locked:
            return False
        if value is None or abs(value) > self.max_abs_deg:
            self._buf.clear()
            return False
        self._buf.append((t, value))
        while self._buf and t - self._buf[0][0] > self.window_s:
            self._buf.popleft()
        if len(self._buf) < 3 or t - self._buf[0][0] < self.window_s * 0.95:
            return False
        vals = np.array([v for _, v in self._buf])
        if float(vals.std()) > self.max_sd_deg:
            return False
        self.offset_deg = float(np.median(vals))
        self.captured = self.locked = True
        self.captured_at = t
        return True

    def lock(self) -> None:
        """Stop looking (the first hold began): keep the offset found so far (0 if none)."""
        self.locked = True

    def progress(self, t: float) -> float:
        """0..1: how much of the still window has been seen (for a UI progress bar)."""
        if self.captured:
            return 1.0
        if not self._buf:
            return 0.0
        return min(1.0, (t - self._buf[0][0]) / self.window_s)

    def correct(self, value: float | None) -> float | None:
        """``value - offset`` (None stays None)."""
        return None if value is None else value - self.offset_deg
