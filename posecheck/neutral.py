"""Neutral reference and the session's image references, judged from the image.

Markerless systems are least accurate in rotation and much better at measuring change
from a calibrated neutral (research notes §2.1). The neutral must come from a pose that
*is* neutral, judged from the image, never from the measured angle (which may read 20°
off at a true neutral, e.g. MediaPipe's asymmetry on a left leg): the shank vertical in
the image within ``shank_tilt_deg`` (-4.5 deg toward ER to +7 toward IR: MediaPipe's
shank leans toward IR at a true neutral, :data:`SHANK_TILT_DEG`), the femur toward the
camera (the thigh foreshortened to at most ``max_thigh_ratio`` = 0.9 of the shank's image
length: up to 0.84 measured on a far leg 30 deg to the side, >= 1 standing), the knee bent
(shank at least ``min_shank_fraction`` of its reference length) and the leg held still for
``window_s`` seconds (the ankle and the knee across the shank within ``max_motion`` shank
lengths, standard deviation). Then the median of every measured angle over that window is the
offset, and later values are reported as ``angle - offset``. A person who holds 10° of ER
from the first frame never shows a vertical shank, so no neutral is taken and they read
10° of ER.

:class:`LegReference` also holds, per session, what the image estimator
(:mod:`posecheck.geometry.image`) needs to stay steady:

* the **knee pivot**: during a seated rotation the thigh is still, but MediaPipe's knee
  landmark drifts toward the foot (up to 0.4 shank lengths on the renders). The pivot is
  held relative to the mid-hip and only dragged along when the landmark leaves it by more
  than ``knee_dead_zone`` shank lengths (the thigh really moved);
* the **pelvis line**: MediaPipe's hip landmarks move when one foot swings. After the
  neutral, the hip line's image direction is held and turned only with the shoulder line
  (a pelvis that hikes with the trunk, a camera that rolls);
* the **shank's reference length** (knee at 90°, shank across the line of sight): the limb
  length held constant through the session, as a ratio to the trunk's image length so it
  follows the person moving nearer or farther, taken at the neutral (before it, the knee
  gate uses the 3D knee flexion alone). It gates the knee flexion from the shank's
  foreshortening and sizes the knee pivot's dead zone.

Pure: numpy only; time is an argument (seconds); pixels, image y down; degrees.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from posecheck.landmarks import LEFT_HIP, LEFT_SHOULDER, LEG, RIGHT_HIP, RIGHT_SHOULDER, SIDES

MIN_VISIBILITY = 0.5
#: the shank tilts (degrees, ER < 0 < IR, :func:`shank_tilt_ir`) a neutral may show in the
#: image. Not symmetric: at a true neutral MediaPipe's shank leans toward IR (on 78 still
#: legs of rendered sets, 5 bodies x 9 cameras: median +1.2, from -2.8 to +6.1 deg; left
#: legs seen from their left the most). 10 deg of ER held from the start reads -7.7 to
#: -11.3, so it is never taken as neutral.
SHANK_TILT_DEG = (-4.5, 7.0)


class NeutralCapture:
    """The offset of one angle: median of its values over the window the image judged neutral.

    Convention: degrees; the offset has the sign of the raw angle (IR positive for
    rotation). :meth:`update` buffers values; :meth:`capture` takes the median of those
    between two times; :meth:`lock` stops any later capture (the first hold began).
    """

    def __init__(self, keep_s: float = 6.0) -> None:
        if keep_s <= 0:
            raise ValueError(f"keep_s must be > 0 seconds, got {keep_s}")
        self.keep_s = keep_s
        self._buf: deque[tuple[float, float]] = deque()
        self.offset_deg: float = 0.0
        self.captured: bool = False
        self.locked: bool = False
        self.captured_at: float | None = None
        self.window: tuple[float, float] | None = None

    def update(self, t: float, value: float | None) -> None:
        """Buffer one sample (None: nothing measured in this frame)."""
        if self.locked:
            return
        if value is not None and not math.isnan(value):
            self._buf.append((t, value))
        while self._buf and t - self._buf[0][0] > self.keep_s:
            self._buf.popleft()

    def capture(self, t0: float, t1: float) -> bool:
        """Take the median of the values with ``t0 <= t <= t1`` as the offset (True if taken)."""
        if self.locked:
            return False
        vals = [v for t, v in self._buf if t0 <= t <= t1]
        if len(vals) < 3:
            return False
        self.offset_deg = float(np.median(vals))
        self.captured = self.locked = True
        self.captured_at, self.window = t1, (t0, t1)
        return True

    def lock(self) -> None:
        """Stop looking (the first hold began): keep the offset found so far (0 if none)."""
        self.locked = True

    def correct(self, value: float | None) -> float | None:
        """``value - offset`` (None stays None)."""
        return None if value is None else value - self.offset_deg


def _angle(v: np.ndarray) -> float:
    return math.atan2(float(v[1]), float(v[0]))


def _wrap(rad: float) -> float:
    return (rad + math.pi) % (2 * math.pi) - math.pi


def shank_tilt_ir(px: np.ndarray, side: str) -> float:
    """The shank's tilt from the image vertical (knee -> ankle), degrees, positive toward
    internal rotation: the ankle toward the leg's own side of the image, the side its hip
    is on (so it holds for either leg and a mirrored image). ``px``: (33, >=2) pixel
    landmarks, image y down. NaN when the hips coincide in x."""
    leg = LEG[side]
    other = RIGHT_HIP if side == "left" else LEFT_HIP
    outward = float(np.sign(px[leg["hip"], 0] - px[other, 0]))
    v = px[leg["ankle"], :2] - px[leg["knee"], :2]
    if outward == 0:
        return math.nan
    return math.degrees(math.atan2(outward * float(v[0]), float(v[1])))


class _Side:
    """Image state of one leg."""

    def __init__(self) -> None:
        self.pivot: np.ndarray | None = None  # knee pivot relative to the mid-hip, px
        self.ratio_max = 0.0  # running max of the shank / trunk image-length ratio
        self.ratio_ref: float | None = None  # the ratio at the neutral
        self.recent: deque[float] = deque(maxlen=5)
        # (t, knee x, y, ankle x, y relative to the mid-hip (px), shank tilt toward IR (deg))
        self.still: deque[tuple[float, ...]] = deque()
        self.neutral_at: tuple[float, float] | None = None


class LegReference:
    """The session's image references and the image-judged neutral, both legs.

    Feed every frame in time order with :meth:`update` (``px`` (33, >=4) pixel landmarks
    [x, y, z, visibility] or None); :meth:`arrays` gives the references of the last frame
    in the layout of :class:`posecheck.geometry.ImageRefs`; :attr:`neutral_event` is
    ``{side: (t0, t1)}`` for a side whose neutral window ended in the last frame.
    """

    def __init__(self, window_s: float = 2.0, *,
                 shank_tilt_deg: tuple[float, float] = SHANK_TILT_DEG,
                 max_thigh_ratio: float = 0.9, min_shank_fraction: float = 0.85,
                 max_motion: float = 0.03, knee_dead_zone: float = 0.45) -> None:
        if window_s <= 0:
            raise ValueError(f"window_s must be > 0 seconds, got {window_s}")
        if not shank_tilt_deg[0] < 0 < shank_tilt_deg[1]:
            raise ValueError(f"shank_tilt_deg must be (ER < 0, IR > 0), got {shank_tilt_deg}")
        self.window_s = window_s
        self.shank_tilt_deg = shank_tilt_deg
        self.max_thigh_ratio = max_thigh_ratio
        self.min_shank_fraction = min_shank_fraction
        self.max_motion = max_motion
        self.knee_dead_zone = knee_dead_zone
        self.sides = {s: _Side() for s in SIDES}
        self.hip_angle_ref: float | None = None  # hip line angle at the neutral (rad)
        self.shoulder_angle_ref: float | None = None
        self._px: np.ndarray | None = None
        self.neutral_event: dict[str, tuple[float, float]] = {}

    # ------------------------------------------------------------------ per frame
    def update(self, t: float, px: np.ndarray | None) -> None:
        """Update every reference with one frame's pixel landmarks."""
        self.neutral_event = {}
        self._px = None if px is None else np.asarray(px, dtype=float)
        if self._px is None or np.isnan(self._px[[LEFT_HIP, RIGHT_HIP], :2]).any():
            for st in self.sides.values():
                st.still.clear()
            return
        p = self._px
        mid_hip = (p[LEFT_HIP, :2] + p[RIGHT_HIP, :2]) / 2
        mid_sh = (p[LEFT_SHOULDER, :2] + p[RIGHT_SHOULDER, :2]) / 2
        trunk = float(np.hypot(*(mid_sh - mid_hip)))
        for side, st in self.sides.items():
            self._update_side(t, side, st, p, mid_hip, trunk)

    def _update_side(self, t: float, side: str, st: _Side, p: np.ndarray,
                     mid_hip: np.ndarray, trunk: float) -> None:
        leg = LEG[side]
        hip, knee, ankle = p[leg["hip"], :2], p[leg["knee"], :2], p[leg["ankle"], :2]
        vis = p[[leg["hip"], leg["knee"], leg["ankle"]], 3] if p.shape[1] > 3 else np.ones(3)
        if np.isnan(knee).any() or np.isnan(ankle).any() or np.min(vis) < MIN_VISIBILITY:
            st.still.clear()
            return
        shank = float(np.hypot(*(ankle - knee)))
        if shank < 1.0 or not trunk > 1.0:
            st.still.clear()
            return
        st.recent.append(shank / trunk)
        st.ratio_max = max(st.ratio_max, float(np.median(st.recent)))
        rel = knee - mid_hip
        if st.pivot is None:
            st.pivot = rel.copy()
        else:
            gap = rel - st.pivot
            dist = float(np.hypot(*gap))
            limit = self.knee_dead_zone * self._shank_ref(side, trunk, shank)
            if dist > limit:
                st.pivot = st.pivot + gap * (1.0 - limit / dist)
        self._judge_neutral(t, side, st, hip, knee, ankle, shank, trunk, mid_hip)

    def _judge_neutral(self, t: float, side: str, st: _Side, hip: np.ndarray,
                       knee: np.ndarray, ankle: np.ndarray, shank: float, trunk: float,
                       mid_hip: np.ndarray) -> None:
        thigh = float(np.hypot(*(hip - knee)))
        ok = (thigh <= self.max_thigh_ratio * shank
              and shank / trunk >= self.min_shank_fraction * st.ratio_max)
        if not ok:
            st.still.clear()
            return
        kx, ky = knee - mid_hip
        ax, ay = ankle - mid_hip
        st.still.append((t, float(kx), float(ky), float(ax), float(ay),
                         shank_tilt_ir(self._px, side)))
        while st.still and t - st.still[0][0] > self.window_s:
            st.still.popleft()
        if len(st.still) < 3 or t - st.still[0][0] < 0.95 * self.window_s:
            return
        pts = np.array([s[1:5] for s in st.still])
        # still: the knee across the shank and the ankle; not the knee along the shank,
        # where MediaPipe's knee jitters by 4-5% of the shank on a still leg (near camera)
        if float(np.max(np.std(pts[:, [0, 2, 3]], axis=0))) > self.max_motion * shank:
            return
        # vertical: the median tilt over the window (a frame's jitters by +-2 deg)
        low, high = self.shank_tilt_deg
        if not low <= float(np.median([s[5] for s in st.still])) <= high:
            return
        t0 = st.still[0][0]
        if st.neutral_at is None:
            st.neutral_at = (t0, t)
            st.pivot = np.median(pts[:, :2], axis=0)
            st.ratio_ref = float(np.median(st.recent))
            self._hold_pelvis()
        self.neutral_event[side] = (t0, t)
        st.still.clear()

    def _hold_pelvis(self) -> None:
        p = self._px
        if p is None or self.hip_angle_ref is not None:
            return
        self.hip_angle_ref = _angle(p[RIGHT_HIP, :2] - p[LEFT_HIP, :2])
        self.shoulder_angle_ref = _angle(p[RIGHT_SHOULDER, :2] - p[LEFT_SHOULDER, :2])

    # ------------------------------------------------------------------ outputs
    def _shank_ref(self, side: str, trunk: float, shank: float) -> float:
        st = self.sides[side]
        ratio = st.ratio_ref if st.ratio_ref is not None else st.ratio_max
        return ratio * trunk if ratio > 0 else shank

    def arrays(self) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray | None]:
        """(knee pivots {side: (2,)}, shank reference lengths {side: ()}, pelvis line (2,))."""
        knees: dict[str, np.ndarray] = {}
        shanks: dict[str, np.ndarray] = {}
        p = self._px
        if p is None or np.isnan(p[[LEFT_HIP, RIGHT_HIP], :2]).any():
            return knees, shanks, None
        mid_hip = (p[LEFT_HIP, :2] + p[RIGHT_HIP, :2]) / 2
        mid_sh = (p[LEFT_SHOULDER, :2] + p[RIGHT_SHOULDER, :2]) / 2
        trunk = float(np.hypot(*(mid_sh - mid_hip)))
        for side, st in self.sides.items():
            if st.pivot is not None:
                knees[side] = mid_hip + st.pivot
            if trunk > 1.0 and st.ratio_ref is not None:  # only once the neutral showed it
                shanks[side] = np.array(st.ratio_ref * trunk)
        hip_dir = None
        if self.hip_angle_ref is not None and self.shoulder_angle_ref is not None:
            sh = p[RIGHT_SHOULDER, :2] - p[LEFT_SHOULDER, :2]
            a = self.hip_angle_ref
            if not np.isnan(sh).any():
                a += _wrap(_angle(sh) - self.shoulder_angle_ref)
            hip_dir = np.array([math.cos(a), math.sin(a)])
        return knees, shanks, hip_dir

    def neutral_window(self, side: str) -> tuple[float, float] | None:
        """(t0, t1) of the first neutral window of ``side`` (seconds), or None."""
        return self.sides[side].neutral_at
