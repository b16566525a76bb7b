"""A leg the image shows still keeps its rotation: only the image moves it.

When one foot swings, MediaPipe's world (3D) skeleton of the *other*, still leg moves too:
its knee and ankle shift 5-15 cm in depth, so the 3D rotation of a leg that has not moved
reads 10-18 deg on the renders, and the image estimator's world correction passes that on.
The image does not see it: the still leg's shank keeps its image angle (the shank's image
direction changes with any real rotation of the hip in every view the geometry accepts).

So, per side, a **still spell** starts once the shank has held its image angle within
``start_turn_deg``, and the knee its place and the shank its image length within
``start_shift`` shank lengths, for ``settle_s`` seconds; ``offset`` is then the mean of
``rotation - shank`` over that window, where ``shank`` is the shank's image angle from the
vertical (signed so that IR is positive: the foot moving laterally in the picture). The
spell lasts while the shank stays within ``max_turn_deg`` of its angle at the start and the
knee within ``max_shift`` shank lengths of its place (not its length: a foot passing in
front of the shin shortens MediaPipe's shank by up to a fifth); during it
the rotation is ``offset + shank``: the level comes from the full estimate taken while the
leg was still, every change after it from the image alone. While the other leg's shank is
within ``start_turn_deg`` of its image angle at the spell's start (it is where it was, so
nothing cross-talks) each frame's gap joins the running mean ``offset``; while it is
elsewhere, the offset stays as it was. Any larger image motion, a frame without the leg or
a rotation the gates blank ends the spell.

The image angle is not corrected for the femur's tilt: within ``max_turn_deg`` = 8 deg its
gain error 30 deg off the knee's front is below 1 deg. It is measured between MediaPipe's
own knee and ankle: when the other foot passes in front of a still shin, both landmarks
shift sideways together, which moves the shank without turning it.

Only the leg that has been still the longer is held (:func:`hold_still_legs`): crosstalk
strikes the leg that stays still while the other moves, and a working leg holding its
stretch keeps the full estimate (which averages MediaPipe's noise in both estimators).

Causal and sequential (the state carries over between calls in time order), so live, the
offline pass and a landmark replay give the same numbers. Pure: degrees (IR positive),
pixels, seconds.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from posecheck.landmarks import LEFT_HIP, LEG, RIGHT_HIP


class StillLeg:
    """The still-spell hold of one leg (see the module docstring)."""

    def __init__(self, side: str, *, settle_s: float = 0.3, start_turn_deg: float = 2.0,
                 start_shift: float = 0.05, max_turn_deg: float = 8.0,
                 max_shift: float = 0.15) -> None:
        if not (settle_s > 0 and 0 < start_turn_deg <= max_turn_deg
                and 0 < start_shift <= max_shift):
            raise ValueError("StillLeg needs settle_s > 0, 0 < start_turn_deg <= "
                             "max_turn_deg and 0 < start_shift <= max_shift")
        self.leg = LEG[side]
        self.sign = -1.0 if side == "right" else 1.0  # image x of the foot: lateral = IR
        self.settle_s = settle_s
        self.start_turn_deg, self.start_shift = start_turn_deg, start_shift
        self.max_turn_deg, self.max_shift = max_turn_deg, max_shift
        # recent frames while no spell runs: (t, angle, knee x, knee y, shank, gap)
        self._recent: deque[tuple[float, float, float, float, float, float]] = deque()
        self._spell: tuple[float, float, float, float, float] | None = None  # angle, kx, ky,
        # shank, offset
        self.since: float | None = None  # start of the running spell (s), None: no spell
        self._n = 0  # frames in the spell's offset
        self.angle: float | None = None  # the shank's signed image angle in the last frame
        self.other_at_start: float | None = None  # the other leg's angle when the spell began

    def _image(self, px: np.ndarray) -> tuple[float, float, float, float] | None:
        """(signed shank image angle deg, knee x, y relative to the mid-hip, shank length)."""
        knee, ankle = px[self.leg["knee"], :2], px[self.leg["ankle"], :2]
        mid = (px[LEFT_HIP, :2] + px[RIGHT_HIP, :2]) / 2
        v = ankle - knee
        shank = math.hypot(float(v[0]), float(v[1]))
        if not (math.isfinite(shank) and shank > 1.0 and np.isfinite(mid).all()):
            return None
        rel = knee - mid
        angle = self.sign * math.degrees(math.atan2(float(v[0]), float(v[1])))
        return angle, float(rel[0]), float(rel[1]), shank

    def update(self, t: float, px: np.ndarray | None, rotation: float, learn: bool = False
               ) -> float:
        """This frame's rotation (deg; NaN stays NaN). ``px`` (33, >=2) pixel landmarks or
        None; ``rotation`` the full estimate; ``learn``: the other leg is still too (no
        crosstalk), so this frame's gap joins the spell's running mean offset. Frames must
        come in increasing ``t``."""
        seen = None if px is None else self._image(px)
        self.angle = None if seen is None else seen[0]
        if seen is None or not math.isfinite(rotation):
            self._spell = self.since = None
            self._recent.clear()
            return rotation
        angle, kx, ky, shank = seen
        if self._spell is not None:
            a0, x0, y0, s0, offset = self._spell
            if (abs(angle - a0) <= self.max_turn_deg
                    and math.hypot(kx - x0, ky - y0) <= self.max_shift * s0):
                if learn:
                    self._n += 1
                    offset += (rotation - angle - offset) / self._n
                    self._spell = (a0, x0, y0, s0, offset)
                return offset + angle
            self._spell = self.since = None
            self._recent.clear()
        self._recent.append((t, angle, kx, ky, shank, rotation - angle))
        while t - self._recent[0][0] > self.settle_s:
            self._recent.popleft()
        w = np.array(self._recent)
        if t - w[0, 0] < 0.95 * self.settle_s or len(w) < 3:
            return rotation
        shift = float(np.max(np.hypot(w[:, 2] - w[:, 2].mean(), w[:, 3] - w[:, 3].mean())))
        length = float(np.median(w[:, 4]))
        if (np.ptp(w[:, 1]) <= self.start_turn_deg and shift <= self.start_shift * length
                and np.ptp(w[:, 4]) <= self.start_shift * length):
            a0 = float(w[:, 1].mean())
            self._spell = (a0, float(w[:, 2].mean()), float(w[:, 3].mean()),
                           length, float(w[:, 5].mean()))
            self.since = float(w[0, 0])
            self._n = len(w)
            return self._spell[4] + angle
        return rotation


def hold_still_legs(legs: dict[str, StillLeg], t: float, px: np.ndarray | None,
                    rotation: dict[str, float]) -> dict[str, float]:
    """One frame of both legs' holds: ``rotation`` {side: full estimate, deg} -> {side:
    rotation}. A leg in a still spell gets the held value unless the other leg's spell
    began earlier (it is the one that stayed still)."""
    held = {}
    for side, leg in legs.items():
        other = legs["left" if side == "right" else "right"]
        was = leg.since
        learn = (leg.other_at_start is not None and other.angle is not None
                 and abs(other.angle - leg.other_at_start) <= leg.start_turn_deg)
        held[side] = leg.update(t, px, rotation[side], learn=learn)
        if leg.since is not None and leg.since != was:  # a spell began: where is the other?
            leg.other_at_start = other.angle
    out = {}
    for side, leg in legs.items():
        others = [o.since for s, o in legs.items() if s != side and o.since is not None]
        mine = leg.since is not None and all(leg.since <= o for o in others)
        out[side] = held[side] if mine else rotation[side]
    return out
