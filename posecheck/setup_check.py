"""Is the camera view good enough to measure a stretch? And is the person compensating?

Pure (numpy only; no cv2, no mediapipe). Works on one :class:`posecheck.types.PoseFrame`.

MediaPipe reports high visibility even for hidden joints, so visibility alone is not
trusted: the needed joints must also lie inside the image and the limb lengths must be
plausible (left vs right shank, shank vs trunk). The checks return plain-language
messages for the user; an empty list means "go ahead".

Convention: image coordinates in pixels, y down, image not mirrored; a person facing the
camera has their LEFT landmarks on the image right.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from posecheck.landmarks import LEFT_HIP, LEFT_SHOULDER, LEG, RIGHT_HIP, RIGHT_SHOULDER
from posecheck.types import PoseFrame, Warning_

MIN_VISIBILITY = 0.5
EDGE_MARGIN = 0.01  # normalized: a joint this close to the border counts as outside


@dataclass(frozen=True, slots=True)
class ViewLimits:
    """Tunable limits of the setup and compensation checks (degrees and ratios)."""

    min_shank_ratio: float = 0.6  # shorter / longer shank in the image
    min_shank_to_trunk: float = 0.25  # shank length / trunk length in the image
    max_shank_to_trunk: float = 2.5
    min_shoulder_to_trunk: float = 0.35  # shoulder width / trunk length: below = side-on
    pelvis_tilt_deg: float = 8.0  # hip line vs horizontal
    trunk_lean_deg: float = 12.0  # mid-hip -> mid-shoulder vs vertical


DEFAULT_LIMITS = ViewLimits()


def _joints_for(measure: str, side: str) -> tuple[int, ...]:
    leg = LEG[side]
    if measure == "rotation_deg":
        return (LEFT_HIP, RIGHT_HIP, leg["knee"], leg["ankle"])
    return (LEFT_HIP, RIGHT_HIP, LEFT_SHOULDER, RIGHT_SHOULDER, leg["knee"])


def _visible(lm: np.ndarray, idx: tuple[int, ...]) -> bool:
    pts = lm[list(idx)]
    inside = (pts[:, 0] > EDGE_MARGIN) & (pts[:, 0] < 1 - EDGE_MARGIN) & (pts[:, 1] > EDGE_MARGIN)
    inside &= pts[:, 1] < 1 - EDGE_MARGIN
    return bool(np.all(inside & (pts[:, 3] >= MIN_VISIBILITY)))


def _length(px: np.ndarray, a: int, b: int) -> float:
    return float(np.hypot(*(px[a, :2] - px[b, :2])))


def check_view(pose: PoseFrame, measure: str, side: str, view: str = "front",
               limits: ViewLimits = DEFAULT_LIMITS) -> list[Warning_]:
    """Reasons why ``side``'s ``measure`` cannot be trusted in this frame (empty = fine).

    ``measure`` is a :class:`posecheck.types.SideAngles` field name; ``view`` the way the
    person must face the camera ("front" or "side").
    """
    px = pose.landmarks_px
    if px is None or pose.landmarks is None:
        return [Warning_("no_person", "No one in view: sit facing the camera, legs in frame.")]
    if not _visible(pose.landmarks, _joints_for(measure, side)):
        return [Warning_("not_visible",
                         f"Step back: hips, {side} knee and ankle must be visible.")]
    shoulder_w = _length(px, LEFT_SHOULDER, RIGHT_SHOULDER)
    mid_sh = (px[LEFT_SHOULDER, :2] + px[RIGHT_SHOULDER, :2]) / 2
    mid_hip = (px[LEFT_HIP, :2] + px[RIGHT_HIP, :2]) / 2
    trunk = float(np.hypot(*(mid_sh - mid_hip)))
    if trunk < 1.0:
        return [Warning_("implausible", "Body not tracked reliably: move back into the frame.")]
    if view == "front":
        facing = px[LEFT_HIP, 0] > px[RIGHT_HIP, 0] and px[LEFT_SHOULDER, 0] > px[RIGHT_SHOULDER, 0]
        if not facing or shoulder_w / trunk < limits.min_shoulder_to_trunk:
            return [Warning_("facing", "Face the camera squarely.")]
    if measure == "rotation_deg":
        shanks = [_length(px, LEG[s]["knee"], LEG[s]["ankle"]) for s in ("left", "right")]
        own = shanks[0] if side == "left" else shanks[1]
        ratio_ok = min(shanks) / max(max(shanks), 1e-9) >= limits.min_shank_ratio
        if not (limits.min_shank_to_trunk <= own / trunk <= limits.max_shank_to_trunk) or (
            _visible(pose.landmarks, (LEG["left"]["ankle"], LEG["right"]["ankle"])) and not ratio_ok
        ):
            return [Warning_("implausible",
                             "Legs not tracked reliably: better light, fitted clothes, "
                             "nothing in front of the legs.")]
    return []


def view_yaw_deg(world: np.ndarray | None) -> float | None:
    """How far the person is turned away from the camera, degrees about the vertical:
    0 = facing it squarely, + = their left shoulder farther from the camera. From the
    shoulder line of MediaPipe's world landmarks (x right, z away from the camera); the hip
    line moves with the working leg, the shoulders much less. The depth is rough: on rendered
    people a camera moved 20° sideways shifted the median by 10.5-11°, the working leg alone
    (same view) by up to 7.5°, a higher camera by 3°. Good for noticing a moved camera of
    about 20° or more within one person's sessions, not for smaller moves. None without
    landmarks."""
    if world is None:
        return None
    line = world[LEFT_SHOULDER, :3] - world[RIGHT_SHOULDER, :3]
    if not np.all(np.isfinite(line)) or math.hypot(line[0], line[2]) < 1e-6:
        return None
    return math.degrees(math.atan2(line[2], line[0]))


class CameraAngle:
    """Is the camera too far to the person's side to measure? Time is an argument.

    The median of :func:`view_yaw_deg` over the last ``window_s`` seconds, with hysteresis:
    beyond ``enter_deg`` the set-up message names the camera's side and asks to move it in
    front, and the session shows rotation as ``--`` (never a number that reads low), until
    the median falls below ``leave_deg``. MediaPipe's shoulder depth under-reads the turn,
    most when the working leg is the far one: on 21 rendered seated people (dev and
    held-out sets) the 5-s median of a 20-30° view reached 33.3° at most, while two 40° views
    (working leg the far one) read 37-39° (camera to the person's left) and 29-32° (to the
    right). ``enter_deg`` = 35 never blanks a 30° view there; a 40° view
    it misses read MAE 5.4° (slope 0.70), one it catches would have read slope 0.44. Degrees;
    + = camera to the person's right.
    """

    def __init__(self, window_s: float = 5.0, enter_deg: float = 35.0,
                 leave_deg: float = 30.0, min_samples: int = 10) -> None:
        if not 0 < leave_deg <= enter_deg:
            raise ValueError(f"need 0 < leave_deg <= enter_deg, got {leave_deg}, {enter_deg}")
        if window_s <= 0 or min_samples < 1:
            raise ValueError("window_s must be > 0 and min_samples >= 1")
        self.window_s, self.enter_deg, self.leave_deg = window_s, enter_deg, leave_deg
        self.min_samples = min_samples
        self._recent: deque[tuple[float, float]] = deque()
        self.refused = False
        self.message: str | None = None  # the last refusal's text (kept for the summary)

    def update(self, t: float, yaw: float | None) -> Warning_ | None:
        """Feed one frame's yaw (None: no landmarks); the warning while the camera is too far
        to the side."""
        if yaw is not None:
            self._recent.append((t, yaw))
        while self._recent and self._recent[0][0] <= t - self.window_s:
            self._recent.popleft()
        if len(self._recent) >= self.min_samples:
            median = float(np.median([y for _, y in self._recent]))
            limit = self.leave_deg if self.refused else self.enter_deg
            self.refused = abs(median) > limit
            if self.refused:
                where = "right" if median > 0 else "left"
                self.message = (f"Camera about {abs(median):.0f}° or more to your {where}: "
                                "rotation reads low from there; put it in front of you "
                                "(within 30°).")
        return Warning_("camera_angle", self.message) if self.refused and self.message else None


def compensation_warnings(pose: PoseFrame, limits: ViewLimits = DEFAULT_LIMITS) -> list[Warning_]:
    """Pelvis tilt (hip hiking / weight shift) and trunk lean seen from the front.

    Both inflate a seated hip-rotation reading. Angles in degrees from the image
    horizontal (hip line) and vertical (trunk line).
    """
    px = pose.landmarks_px
    if px is None:
        return []
    out: list[Warning_] = []
    dx, dy = px[LEFT_HIP, :2] - px[RIGHT_HIP, :2]
    if abs(dx) > 1e-6 and abs(math.degrees(math.atan2(dy, abs(dx)))) > limits.pelvis_tilt_deg:
        out.append(Warning_("pelvis_tilt", "Keep both sit bones on the chair: pelvis tilting."))
    mid_sh = (px[LEFT_SHOULDER, :2] + px[RIGHT_SHOULDER, :2]) / 2
    mid_hip = (px[LEFT_HIP, :2] + px[RIGHT_HIP, :2]) / 2
    tx, ty = mid_sh - mid_hip
    if ty < 0 and abs(math.degrees(math.atan2(tx, -ty))) > limits.trunk_lean_deg:
        out.append(Warning_("trunk_lean", "Sit tall: your trunk is leaning sideways."))
    return out
