"""One measuring session: pose frames in, per-frame results and a summary out.

This is the single piece of code behind every front end: ``posecheck live``,
``posecheck analyse`` on a video and ``posecheck analyse`` on a landmark file all feed
:class:`posecheck.types.PoseFrame` objects, in time order, into :meth:`Session.update`.
So a replayed landmark file gives exactly the numbers the live run showed.

Per frame: left/right swap repair -> geometry (raw angles) -> smoothing -> neutral
reference -> view check -> stretch value -> hold tracker, for every (stretch, side)
being measured.

Pure: no mediapipe, no cv2, no clock. Time comes from ``PoseFrame.t`` (seconds).

Convention: degrees; hip rotation positive = internal rotation; a stretch's measured
value is in its direction (positive = deeper), see :class:`posecheck.stretches.Stretch`.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from posecheck.filters import AngleSmoother, Smoother
from posecheck.geometry.fusion import GeometryParams
from posecheck.holds import HoldTracker
from posecheck.landmarks import SIDES
from posecheck.neutral import NeutralCapture
from posecheck.prepare import FramePrep, Prepared
from posecheck.setup_check import (
    CameraAngle,
    check_view,
    compensation_warnings,
    view_yaw_deg,
)
from posecheck.stretches import Stretch
from posecheck.summary import END_RANGE_DEG
from posecheck.types import FrameAngles, FrameResult, HoldEvent, PoseFrame, SideAngles, Warning_

KNEE_GATE_DEG = GeometryParams().min_knee_flexion_deg  # rotation needs the knee this bent
MIN_CONFIDENCE = 0.3  # rotation values below this confidence are not used
# A seated hip rotates about 45-50° at most either way (IR and ER ranges of healthy adults);
# a reading beyond 80° is a tracking failure (e.g. a shank angle wrapped past ±180° in an
# oblique view), shown as "--", never as a number.
MAX_ROTATION_DEG = 80.0
_TARGET_WORD = {("rotation_deg", 1): "internal rotation",
                ("rotation_deg", -1): "external rotation",
                ("hip_abduction_deg", -1): "adduction", ("hip_abduction_deg", 1): "abduction"}
MAX_FRAME_GAP_S = 0.25  # a measured frame counts for the time to the next, at most this


@dataclass
class _RotationStats:
    """Running rotation statistics of one (stretch, side), from the smoothed angle before the
    neutral correction ("uncorrected"; "raw" always means unsmoothed, straight from the
    geometry).

    The neutral offset is applied when the summary is made, to every frame alike, so frames
    seen before the neutral reference was taken are corrected too.
    """

    raw_max: float = -math.inf
    raw_min: float = math.inf
    conf_sum: float = 0.0
    frames: int = 0

    def add(self, raw: float, confidence: float) -> None:
        self.raw_max = max(self.raw_max, raw)
        self.raw_min = min(self.raw_min, raw)
        self.conf_sum += confidence
        self.frames += 1

    def to_dict(self, offset: float) -> dict[str, Any]:
        if self.frames == 0:
            return {"peak_rotation_deg": None, "peak_rotation_uncorrected_deg": None,
                    "peak_internal_deg": None, "peak_external_deg": None,
                    "mean_confidence": None, "rotation_frames": 0}
        hi, lo = self.raw_max - offset, self.raw_min - offset
        return {
            "peak_rotation_deg": hi if abs(hi) >= abs(lo) else lo,
            "peak_rotation_uncorrected_deg": self.raw_max
            if abs(self.raw_max) >= abs(self.raw_min)
            else self.raw_min,
            "peak_internal_deg": max(0.0, hi),
            "peak_external_deg": max(0.0, -lo),
            "mean_confidence": self.conf_sum / self.frames,
            "rotation_frames": self.frames,
        }


@dataclass
class _Pair:
    """State of one (stretch, side)."""

    stretch: Stretch
    side: str
    threshold_deg: float
    tracker: HoldTracker
    rotation: _RotationStats = field(default_factory=_RotationStats)
    # max over measured frames of direction * (uncorrected angle): the peak before the
    # neutral offset, which is applied when the summary is made
    peak_uncorrected: float | None = None
    # every measured frame's (t seconds, uncorrected value degrees): 16 bytes a frame
    sample_t: array[float] = field(default_factory=lambda: array("d"))
    sample_v: array[float] = field(default_factory=lambda: array("d"))

    def end_range_s(self) -> float | None:
        """Seconds spent within END_RANGE_DEG of the peak (offset-free: all frames share it).
        A measured frame counts until the next one, at most MAX_FRAME_GAP_S; the last one
        for the median frame interval. None when nothing was measured."""
        if self.peak_uncorrected is None or not self.sample_t:
            return None
        gaps = [min(b - a, MAX_FRAME_GAP_S) for a, b in itertools.pairwise(self.sample_t)]
        gaps.append(sorted(gaps)[len(gaps) // 2] if gaps else 0.0)
        floor = self.peak_uncorrected - END_RANGE_DEG
        return sum(g for v, g in zip(self.sample_v, gaps, strict=True) if v >= floor)


def _knee_gated(angles: FrameAngles) -> FrameAngles:
    """Drop a smoothed rotation whose own smoothed knee flexion is under the knee gate.

    The geometry gates each raw frame (rotation only with the knee bent >= the gate); the
    smoothed knee lags behind the raw one, so without this a smoothed row could carry a
    rotation beside a knee flexion under the gate."""
    sides = {}
    for name in SIDES:
        a = angles.side(name)
        knee = a.knee_flexion_deg
        if a.rotation_deg is not None and (knee is None or knee < KNEE_GATE_DEG):
            a = dataclasses.replace(a, rotation_deg=None)
        sides[name] = a
    return dataclasses.replace(angles, **sides)


class Session:
    """Measure one or more stretches on both sides from a stream of pose frames.

    ``stretches``: the first is the *primary* one (shown and announced). With several
    (``analyse`` without ``--stretch``) each is tracked independently on every frame.
    ``threshold_deg`` overrides the primary stretch's entry threshold. ``neutral``: take a
    neutral reference before the first hold of each side (see :mod:`posecheck.neutral`).
    ``smoother``: replaces the causal One Euro smoother (the offline pass of ``analyse``,
    zero-phase angles through a :class:`posecheck.angle_store.ArrayReplaySmoother`).
    ``active``: set by the live routine to (stretch id, side) so that only that pair is
    measured; None measures every pair. ``measuring = False`` (set-up, neutral, countdown,
    pause) feeds no hold tracker: their time counts as a gap.
    """

    def __init__(self, stretches: Sequence[Stretch], *, threshold_deg: float | None = None,
                 smooth: bool = True, neutral: bool = True,
                 smoother: Smoother | None = None) -> None:
        if not stretches:
            raise ValueError("Session needs at least one stretch")
        self.stretches = list(stretches)
        self.primary = self.stretches[0]
        self.smooth = smooth
        self.use_neutral = neutral
        # ``smoother``: analyse's offline pass gives an ArrayReplaySmoother (zero-phase)
        self._smoother = smoother or (AngleSmoother() if smooth else None)
        self.pairs: dict[tuple[str, str], _Pair] = {}
        for i, st in enumerate(self.stretches):
            thr = threshold_deg if (threshold_deg is not None and i == 0) else st.threshold_deg
            for side in SIDES:
                tracker = HoldTracker(thr, hysteresis_deg=st.hysteresis_deg,
                                      target_s=st.hold_target_s, side=side)
                self.pairs[(st.id, side)] = _Pair(st, side, thr, tracker)
        measures = {st.measure for st in self.stretches} | {"rotation_deg"}
        self.neutral: dict[tuple[str, str], NeutralCapture] = {
            (m, side): NeutralCapture() for m in measures for side in SIDES
        }
        self._prep = FramePrep()  # swap repair and image references (geometry inputs)
        self.active: tuple[str, str] | None = None
        self.measuring = True  # False: frames update the display and neutral, never a hold
        self.frames = 0
        self.frames_with_pose = 0
        self.t_first: float | None = None
        self.t_last: float | None = None
        self.image_size: tuple[int, int] | None = None
        self._yaws: array[float] = array("d")  # degrees, 8 bytes a frame
        self.camera_angle = CameraAngle()

    # ------------------------------------------------------------------ per frame
    def update(self, pose: PoseFrame, raw: FrameAngles | None = None) -> FrameResult:
        """Process one frame (frames must come in increasing ``t``).

        ``raw``: this frame's raw angles when an earlier pass over the same poses already
        computed them (``FrameResult.raw``; analyse's offline pass), so the geometry does
        not run twice; ``None`` computes them. They must be that pass's, in order."""
        return next(self.updates([pose], None if raw is None else [raw]))

    def updates(self, poses: Sequence[PoseFrame],
                raws: Sequence[FrameAngles] | None = None) -> Iterator[FrameResult]:
        """:meth:`update` of each of ``poses`` in turn, the geometry of all of them in one
        vectorized call (:meth:`posecheck.prepare.FramePrep.angles`): the same results as
        frame by frame, for less CPU. Yields each frame's result as soon as it is
        processed, so the session's state between two yields is that after the frame
        (what an overlay drawn for it must show). ``raws`` as for :meth:`update`."""
        if raws is not None and len(raws) != len(poses):
            raise ValueError(f"Session.updates: {len(raws)} raw angles for {len(poses)} poses")
        prepared = []
        for pose in poses:
            prep = self._prep.step(pose)
            yaw = view_yaw_deg(prep.pose.world_landmarks)
            if yaw is not None:
                self._yaws.append(yaw)
            prepared.append((prep, self.camera_angle.update(pose.t, yaw)))
        if raws is None:
            raws = self._prep.angles([prep for prep, _ in prepared])
        for (prep, camera), pose, raw in zip(prepared, poses, raws, strict=True):
            if raw.t != pose.t:
                raise ValueError(f"Session.update: raw angles of t={raw.t} given for "
                                 f"t={pose.t}")
            yield self._finish(prep, camera, raw)

    def _finish(self, prep: Prepared, camera: Warning_ | None, raw: FrameAngles
                ) -> FrameResult:
        """Everything after the geometry for one prepared frame: smoothing, neutral, view
        checks, values and holds."""
        pose, t = prep.pose, prep.pose.t
        self._count(pose)
        smoothed = _knee_gated(self._smoother.update(raw)) if self._smoother else raw
        if self.use_neutral:
            self._feed_neutral(t, smoothed, prep.neutral_event)
        # a camera too far to the side: rotation shows `--` with the camera message (on
        # rendered people a 40 deg camera reads IR/ER with slope 0.44-0.70, MAE 5-9 deg)
        rotation = {s: None if camera is not None else
                    self._corrected(smoothed.side(s), s, "rotation_deg") for s in SIDES}
        measured: dict[str, float | None] = {}
        events: list[HoldEvent] = []
        view_warnings: dict[str, list[Warning_]] = {}
        shown = self._shown_stretch().id
        views: dict[tuple[str, str, str], list[Warning_]] = {}  # one view check per kind
        for (sid, side), pair in self.pairs.items():
            value, warns, new = self._update_pair(pair, pose, smoothed.side(side), rotation[side],
                                                  views, camera)
            events.extend(new)
            if sid == shown:
                measured[side] = value
                view_warnings[side] = warns
        warnings = self._frame_warnings(pose, view_warnings)
        if camera is not None and not any(view_warnings.values()):
            warnings.insert(0, camera)  # e.g. a deep-glute stretch: said, still measured
        return FrameResult(
            t=t, pose=pose, raw=raw, smoothed=smoothed, measured=measured,
            holding={s: self.pairs[(shown, s)].tracker.holding for s in SIDES},
            hold_elapsed={s: self.pairs[(shown, s)].tracker.elapsed_s(t) for s in SIDES},
            events=tuple(events), warnings=tuple(warnings),
            status=self._status(t, measured, warnings),
            rotation_deg=rotation,
            neutral_offset_deg={s: self.neutral[("rotation_deg", s)].offset_deg for s in SIDES},
        )

    def _update_pair(
        self, pair: _Pair, pose: PoseFrame, a: SideAngles, rotation: float | None,
        views: dict[tuple[str, str, str], list[Warning_]], camera: Warning_ | None = None,
    ) -> tuple[float | None, list[Warning_], list[HoldEvent]]:
        """Feed one (stretch, side): returns (measured value, view warnings, hold events).

        ``views`` caches this frame's view checks: stretches measuring the same angle from
        the same view (the two rotation stretches) share one.
        """
        if self.active not in (None, (pair.stretch.id, pair.side)):
            return None, [], pair.tracker.update(pose.t, None)
        key = (pair.stretch.measure, pair.side, pair.stretch.view)
        if key not in views:
            views[key] = check_view(pose, *key)
        warns = views[key]
        if camera is not None and pair.stretch.measure == "rotation_deg" and not warns:
            warns = [camera]  # rotation from a camera too far to the side: `--`, say why
        value = None if warns else self._value(pair.stretch, a, pair.side)
        new = pair.tracker.update(pose.t, value if self.measuring else None)
        if self.measuring and value is not None:
            raw = pair.stretch.direction * getattr(a, pair.stretch.measure)
            best = pair.peak_uncorrected
            pair.peak_uncorrected = raw if best is None else max(best, raw)
            pair.sample_t.append(pose.t)
            pair.sample_v.append(raw)
        if self.measuring and not warns and rotation is not None and a.rotation_deg is not None:
            pair.rotation.add(a.rotation_deg, a.confidence)
        if self.use_neutral and any(e.kind == "start" for e in new):
            self.neutral[(pair.stretch.measure, pair.side)].lock()
        return value, warns, new

    def _count(self, pose: PoseFrame) -> None:
        if self.t_last is not None and pose.t < self.t_last:
            raise ValueError(f"frames must come in time order: t={pose.t} after {self.t_last}")
        self.frames += 1
        self.frames_with_pose += int(pose.has_pose)
        self.image_size = self.image_size or tuple(pose.image_size)  # type: ignore[assignment]
        self.t_first = pose.t if self.t_first is None else self.t_first
        self.t_last = pose.t

    def _feed_neutral(self, t: float, angles: FrameAngles,
                      neutral_event: dict[str, tuple[float, float]]) -> None:
        """Buffer every angle; take the offsets over a window the image judged neutral."""
        for (measure, side), capture in self.neutral.items():
            a = angles.side(side)
            if measure == "rotation_deg" and a.confidence < MIN_CONFIDENCE:
                capture.update(t, None)
            else:
                capture.update(t, getattr(a, measure))
            window = neutral_event.get(side)
            if window is not None:
                capture.capture(*window)

    def _corrected(self, a: SideAngles, side: str, measure: str) -> float | None:
        """The angle ``measure`` of one side minus its neutral offset (None if untrusted)."""
        raw = getattr(a, measure)
        if raw is None or (measure == "rotation_deg" and (
                a.confidence < MIN_CONFIDENCE or abs(raw) > MAX_ROTATION_DEG)):
            return None
        if not self.use_neutral:
            return raw
        return self.neutral[(measure, side)].correct(raw)

    def _value(self, stretch: Stretch, a: SideAngles, side: str) -> float | None:
        v = self._corrected(a, side, stretch.measure)
        return None if v is None else stretch.direction * v

    def _shown_stretch(self) -> Stretch:
        if self.active is not None:
            return self.pairs[(self.active[0], self.active[1])].stretch
        return self.primary

    def _frame_warnings(self, pose: PoseFrame,
                        view_warnings: dict[str, list[Warning_]]) -> list[Warning_]:
        sides = [self.active[1]] if self.active is not None else list(SIDES)
        out: list[Warning_] = []
        per_side = [view_warnings.get(s, []) for s in sides]
        if all(per_side) and per_side:
            out.extend(per_side[0])
        elif self._shown_stretch().view == "front" and pose.has_pose:
            out.extend(compensation_warnings(pose))
        return out

    def _status(self, t: float, measured: dict[str, float | None],
                warnings: list[Warning_]) -> str:
        st = self._shown_stretch()
        sides = [self.active[1]] if self.active is not None else list(SIDES)
        for side in sides:
            tracker = self.pairs[(st.id, side)].tracker
            if tracker.holding:
                el = tracker.elapsed_s(t)
                if el >= st.hold_target_s:
                    return f"{side}: target reached ({el:.0f} s) - hold as long as comfortable"
                return f"{side}: hold it... {el:.0f} / {st.hold_target_s:.0f} s"
        if warnings and warnings[0].code in ("no_person", "not_visible", "facing", "implausible",
                                             "camera_angle"):
            return warnings[0].text
        if self.active is None and len(self.stretches) > 1:  # analyse: every stretch at once
            targets = ", ".join(
                f"{_TARGET_WORD.get((x.measure, x.direction), x.name)} "
                f"{self.pairs[(x.id, sides[0])].threshold_deg:.0f}°" for x in self.stretches)
            return f"Targets: {targets}"
        thr = self.pairs[(st.id, sides[0])].threshold_deg
        return f"{st.name}: stretch to {thr:.0f}° and hold"

    def best_deg(self, stretch_id: str, side: str) -> float | None:
        """The best (deepest) neutral-corrected value of one (stretch, side) measured so far,
        degrees in the stretch's direction: exactly the ``peak_measured_deg`` the summary
        (and so the history) will store, None before anything was measured."""
        pair = self.pairs[(stretch_id, side)]
        if pair.peak_uncorrected is None:
            return None
        offset = self.neutral[(pair.stretch.measure, side)].offset_deg if self.use_neutral \
            else 0.0
        return pair.peak_uncorrected - pair.stretch.direction * offset

    def neutral_offsets(self) -> dict[tuple[str, str], float]:
        """(measure, side) -> the neutral offset subtracted in the summary, degrees (0 when
        the session takes no neutral reference)."""
        return {key: (cap.offset_deg if self.use_neutral else 0.0)
                for key, cap in self.neutral.items()}

    # ------------------------------------------------------------------ end
    def finish(self) -> list[HoldEvent]:
        """End every open hold at the last frame; returns the "end" events."""
        t_end = self.t_last if self.t_last is not None else 0.0
        events: list[HoldEvent] = []
        for pair in self.pairs.values():
            events.extend(pair.tracker.finish(t_end))
        return events

    def summary(self) -> dict[str, Any]:
        """The measurement part of ``summary.json`` (docs/summary.md); callers add metadata."""
        by_stretch: dict[str, Any] = {}
        for st in self.stretches:
            sides = {side: self._side_summary(self.pairs[(st.id, side)]) for side in SIDES}
            by_stretch[st.id] = {"threshold_deg": self.pairs[(st.id, "left")].threshold_deg,
                                 "sides": sides}
        single = len(self.stretches) == 1
        duration = (self.t_last - self.t_first) if self.t_first is not None else 0.0
        return {
            "frames": self.frames,
            "frames_with_pose": self.frames_with_pose,
            "duration_s": duration,
            "stretch": self.primary.id if single else None,
            "threshold_deg": by_stretch[self.primary.id]["threshold_deg"] if single else None,
            "sides": by_stretch[self.primary.id]["sides"] if single else self._merged(by_stretch),
            "by_stretch": by_stretch,
            "neutral": {side: self._neutral_info(side) for side in SIDES},
            "swaps_repaired": self._prep.swaps.swaps,
            "setup": self._setup(),
        }

    def _setup(self) -> dict[str, Any]:
        """The camera set-up (docs/summary.md): image size, median view yaw (degrees)."""
        yaws = sorted(self._yaws)
        width, height = self.image_size or (None, None)
        return {"image_width": width, "image_height": height,
                "view_yaw_deg": yaws[len(yaws) // 2] if yaws else None,
                "camera_message": self.camera_angle.message}

    def _neutral_info(self, side: str) -> dict[str, Any]:
        cap = self.neutral[("rotation_deg", side)]
        return {"captured": cap.captured, "offset_deg": cap.offset_deg, "t": cap.captured_at,
                "window_s": list(cap.window) if cap.window is not None else None}

    def _side_summary(self, pair: _Pair) -> dict[str, Any]:
        out = pair.tracker.summary().to_dict()
        offset = self.neutral[("rotation_deg", pair.side)].offset_deg if self.use_neutral else 0.0
        out.update(pair.rotation.to_dict(offset))
        measure_offset = self.neutral[(pair.stretch.measure, pair.side)].offset_deg
        if pair.peak_uncorrected is not None:
            out["peak_measured_deg"] = self.best_deg(pair.stretch.id, pair.side)
        out["neutral_offset_deg"] = measure_offset
        out["end_range_s"] = pair.end_range_s()
        return out

    def _merged(self, by_stretch: dict[str, Any]) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        first = self.stretches[0].id
        for side in SIDES:
            base = dict(by_stretch[first]["sides"][side])
            holds = []
            total = 0.0
            for sid, entry in by_stretch.items():
                s = entry["sides"][side]
                holds.extend({**h, "stretch": sid} for h in s["holds"])
                total += s["total_hold_s"]
            base["holds"] = sorted(holds, key=lambda h: h["start_s"])
            base["total_hold_s"] = total
            base.pop("peak_measured_deg", None)
            merged[side] = base
        return merged
