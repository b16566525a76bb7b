"""Stretch holds: when a hold starts, goes on and ends, and what each side achieved.

Pure and deterministic: time is an argument (seconds), nothing reads the clock, so a replayed
file gives exactly the holds of the live run. Imports only posecheck.types / errors and the
standard library; must not import mediapipe, cv2, matplotlib or numpy-heavy stages.

API::

    tracker = HoldTracker(threshold_deg, hysteresis_deg=3.0, confirm_s=0.5, max_gap_s=1.0,
                          target_s=30.0, tick_s=10.0, side="left")
    events = tracker.update(t, value)   # value: measured angle, deeper = larger, or None
    events += tracker.finish(t_end)     # closes a hold in progress
    tracker.summary() -> SideSummary    # .to_dict() is the per-side block of summary.json
    tracker.holding, tracker.elapsed_s(t), tracker.best_deg   # live state for the UI

Convention: ``value`` is the stretch's measured angle in its direction (degrees, deeper =
larger; :meth:`posecheck.stretches.Stretch.value`), so one tracker serves IR (+1) and ER (-1)
stretches alike. ``None`` (or NaN) means not measurable: no person, low confidence, knee too
straight. One tracker per side.

Rules (T = threshold_deg, E = T - hysteresis_deg, the exit level):

1. *Start.* A hold starts when the angle stays at or beyond T (value >= T) for ``confirm_s``:
   every valid sample from the first one at or beyond T up to one at least ``confirm_s``
   later is >= T. A valid sample below T before that cancels it; so does a run of None
   samples lasting ``max_gap_s`` or more (rule 3's long gap), but a shorter run of None
   (a few frames without a trusted value) does not: it is bridged as inside a hold. The
   hold's start is the time of that first sample (the moment the angle first reached T);
   the "start" event is emitted at the confirming sample. (Measured: on a rendered case
   single-frame dropouts at the top of the ramp delayed the start by 1.2 s when a None
   cancelled the start.)
2. *Continue.* An in-hold sample has value >= E.
3. *Gaps.* A gap is a run of samples that are None or below E (value < E). It begins at the
   time of its first sample (the moment the angle fell below E, or the person was lost). A gap
   shorter than ``max_gap_s`` (the next in-hold sample arrives less than ``max_gap_s`` after
   the gap began) is bridged: its time counts in the hold. A gap of ``max_gap_s`` or longer
   ends the hold at the moment the gap began. So a dip below E that lasts < 1 s is forgiven,
   one that lasts >= 1 s ends the hold at the moment the angle fell below E.
4. *Missing samples.* A sample's state lasts until the next sample. But when no sample at all
   arrives for ``max_gap_s`` or more, nothing is known after the earlier sample: the silence
   is a long gap that began at the earlier sample (it ends a hold there, cancels a start).
5. *End.* Duration = end - start, bridged gaps included. The "end" event is emitted when the
   end is known: at the first sample ``max_gap_s`` or more after the gap began, or at
   :meth:`HoldTracker.finish`. ``finish(t_end)`` ends a hold in progress at its last in-hold
   sample (the last valid sample), or at the start of a gap still open.
6. *Progress.* "tick" every ``tick_s`` of hold time, "target" once per hold when the hold
   time reaches ``target_s`` (a tick that falls on the target comes first). They are emitted
   at in-hold samples only, never from inside a gap that may yet end the hold.

Events (:class:`posecheck.types.HoldEvent`): ``t`` is the sample at which the event is known,
``hold_start`` the hold's start, ``elapsed_s`` = t - hold_start (for "end": the final
duration), ``value_deg`` the current value (for "end": the hold's peak).

Per side: the peak angle over all samples, every hold (peak and mean over the hold's valid
samples, bridged dips included), total hold time, frames with a value, and
**time in target**: the time the angle was at or beyond T, counted sample-and-hold: each valid
sample with value >= T adds the time to the next sample, unless that interval is
``max_gap_s`` or longer (rule 4); the last sample adds nothing. It ignores the debounce and
the hysteresis, so it can be larger or smaller than the total hold time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from posecheck.errors import ConfigError
from posecheck.landmarks import SIDES
from posecheck.types import Hold, HoldEvent

# Tolerance on time comparisons so that 30 fps timestamps (k / 30) meet 0.5 s, 1.0 s, 10 s.
EPS = 1e-9


@dataclass(frozen=True, slots=True)
class SideSummary:
    """What one side achieved (angles in the stretch's direction, degrees; times in seconds)."""

    side: str
    threshold_deg: float
    exit_deg: float
    peak_deg: float | None  # largest valid value seen; None if never measured
    holds: tuple[Hold, ...]
    total_hold_s: float
    time_in_target_s: float
    frames_measured: int  # samples with a value
    frames: int  # all samples

    @property
    def best_hold_s(self) -> float:
        """The longest hold, seconds (0.0 when there was none)."""
        return max((h.duration_s for h in self.holds), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        """The hold part of a SIDE block of summary.json (docs/summary.md)."""
        return {
            "peak_measured_deg": self.peak_deg,
            "total_hold_s": self.total_hold_s,
            "time_in_target_s": self.time_in_target_s,
            "frames_measured": self.frames_measured,
            "holds": [h.to_dict() for h in self.holds],
        }


@dataclass(slots=True)
class _Run:
    """Running statistics of a hold (or of a start still being confirmed)."""

    start: float
    last_t: float = math.nan  # time of the last in-hold sample
    peak: float = -math.inf
    total: float = 0.0
    n: int = 0

    def add(self, t: float, v: float) -> None:
        self.last_t = t
        self.peak = max(self.peak, v)
        self.total += v
        self.n += 1


@dataclass(slots=True)
class _Gap:
    """An open gap inside a hold: when it began and the valid (below-exit) values seen."""

    start: float
    total: float = 0.0
    n: int = 0


def _positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    ok = math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name} must be a finite number {bound}, got {value!r}.")
    return float(value)


class HoldTracker:
    """Hold state machine for one side; see the module docstring for the exact rules."""

    def __init__(self, threshold_deg: float, *, hysteresis_deg: float = 3.0,
                 confirm_s: float = 0.5, max_gap_s: float = 1.0, target_s: float = 30.0,
                 tick_s: float = 10.0, side: str = "left") -> None:
        if not math.isfinite(threshold_deg):
            raise ConfigError(f"threshold_deg must be a finite angle, got {threshold_deg!r}.")
        if side not in SIDES:
            raise ConfigError(f"side must be 'left' or 'right', got {side!r}.")
        self.threshold_deg = float(threshold_deg)
        self.hysteresis_deg = _positive("hysteresis_deg", hysteresis_deg, allow_zero=True)
        self.exit_deg = self.threshold_deg - self.hysteresis_deg
        self.confirm_s = _positive("confirm_s", confirm_s, allow_zero=True)
        self.max_gap_s = _positive("max_gap_s", max_gap_s)
        self.target_s = _positive("target_s", target_s)
        self.tick_s = _positive("tick_s", tick_s)
        self.side = side
        self._last_t: float | None = None  # previous sample
        self._last_v: float | None = None
        self._pending: _Run | None = None  # reached T, not yet confirmed
        self._pending_gap: float | None = None  # start of a run of None while confirming
        self._run: _Run | None = None  # confirmed hold in progress
        self._gap: _Gap | None = None  # open gap inside the hold
        self._ticks = 0
        self._target_sent = False
        self._holds: list[Hold] = []
        self._peak: float | None = None
        self._in_target_s = 0.0
        self._frames = 0
        self._frames_measured = 0

    # -- live state ---------------------------------------------------------------------
    @property
    def holds(self) -> tuple[Hold, ...]:
        """The holds finished so far, in order."""
        return tuple(self._holds)

    @property
    def holding(self) -> bool:
        """True from the confirmed start of a hold until its end is known."""
        return self._run is not None

    def elapsed_s(self, t: float) -> float:
        """Seconds since the current hold started (0.0 when not holding)."""
        return max(0.0, t - self._run.start) if self._run is not None else 0.0

    @property
    def best_deg(self) -> float | None:
        """The largest value seen so far (degrees, deeper = larger), or None."""
        return self._peak

    # -- feeding ------------------------------------------------------------------------
    def update(self, t: float, value: float | None) -> list[HoldEvent]:
        """Feed one sample at time ``t`` (s, non-decreasing); returns the events it caused.

        Raises ValueError when ``t`` is not finite or earlier than the previous sample.
        """
        self._check_time(t, "t")
        v = None if value is None or not math.isfinite(value) else float(value)
        events: list[HoldEvent] = []
        if self._last_t is not None:
            self._count_in_target(t)
            if t - self._last_t >= self.max_gap_s - EPS:
                self._silence()
        self._frames += 1
        if v is not None:
            self._frames_measured += 1
            self._peak = v if self._peak is None else max(self._peak, v)
        if self._run is not None:
            self._step_holding(t, v, events)
        else:
            self._step_idle(t, v, events)
        self._last_t, self._last_v = t, v
        return events

    def finish(self, t_end: float) -> list[HoldEvent]:
        """End of the stream at ``t_end`` (s): closes a hold in progress (rule 5).

        The hold ends at its last in-hold sample, or where a still-open gap began; the
        "end" event carries ``t = t_end``. A start not yet confirmed is dropped.
        """
        self._check_time(t_end, "t_end")
        events: list[HoldEvent] = []
        self._pending = self._pending_gap = None
        if self._run is not None:
            end = self._gap.start if self._gap is not None else self._run.last_t
            self._end_hold(end, t_end, events)
        return events

    def summary(self) -> SideSummary:
        """Totals so far. A hold still in progress is not included: call finish() first."""
        return SideSummary(
            side=self.side, threshold_deg=self.threshold_deg, exit_deg=self.exit_deg,
            peak_deg=self._peak, holds=tuple(self._holds),
            total_hold_s=sum(h.duration_s for h in self._holds),
            time_in_target_s=self._in_target_s, frames_measured=self._frames_measured,
            frames=self._frames,
        )

    # -- internals ----------------------------------------------------------------------
    def _check_time(self, t: float, name: str) -> None:
        if not math.isfinite(t):
            raise ValueError(f"{name} must be a finite time in seconds, got {t!r}")
        if self._last_t is not None and t < self._last_t - EPS:
            raise ValueError(f"{name} went backwards: {t!r} s after {self._last_t!r} s")

    def _count_in_target(self, t: float) -> None:
        """Add the previous sample's share of time in target (sample-and-hold, rule 4)."""
        assert self._last_t is not None
        dt = max(0.0, t - self._last_t)
        in_target = self._last_v is not None and self._last_v >= self.threshold_deg
        if in_target and dt < self.max_gap_s - EPS:
            self._in_target_s += dt

    def _silence(self) -> None:
        """No sample for max_gap_s or more: a long gap from the previous sample (rule 4)."""
        self._pending = self._pending_gap = None
        if self._run is not None and self._gap is None:
            assert self._last_t is not None
            self._gap = _Gap(start=self._last_t)

    def _step_idle(self, t: float, v: float | None, events: list[HoldEvent]) -> None:
        if v is None:  # not measured: a short run keeps a start being confirmed (rule 1)
            if self._pending is not None:
                if self._pending_gap is None:
                    self._pending_gap = t
                elif t - self._pending_gap >= self.max_gap_s - EPS:
                    self._pending = self._pending_gap = None
            return
        long_gap = (self._pending_gap is not None
                    and t - self._pending_gap >= self.max_gap_s - EPS)
        if v < self.threshold_deg or long_gap:
            self._pending = self._pending_gap = None
            if v < self.threshold_deg:
                return
        self._pending_gap = None
        if self._pending is None:
            self._pending = _Run(start=t)
        self._pending.add(t, v)
        if t - self._pending.start >= self.confirm_s - EPS:
            self._run, self._pending = self._pending, None
            self._ticks, self._target_sent = 0, False
            events.append(self._event("start", t, v))
            self._progress(t, v, events)

    def _step_holding(self, t: float, v: float | None, events: list[HoldEvent]) -> None:
        assert self._run is not None
        if self._gap is not None and t - self._gap.start >= self.max_gap_s - EPS:
            self._end_hold(self._gap.start, t, events)
            self._step_idle(t, v, events)
            return
        if v is None or v < self.exit_deg:
            if self._gap is None:
                self._gap = _Gap(start=t)
            if v is not None:
                self._gap.total += v
                self._gap.n += 1
            return
        if self._gap is not None:  # bridged: the dip's values belong to the hold
            self._run.total += self._gap.total
            self._run.n += self._gap.n
            self._gap = None
        self._run.add(t, v)
        self._progress(t, v, events)

    def _progress(self, t: float, v: float, events: list[HoldEvent]) -> None:
        assert self._run is not None
        elapsed = t - self._run.start
        while elapsed >= (self._ticks + 1) * self.tick_s - EPS:
            self._ticks += 1
            events.append(self._event("tick", t, v))
        if not self._target_sent and elapsed >= self.target_s - EPS:
            self._target_sent = True
            events.append(self._event("target", t, v))

    def _end_hold(self, end: float, t_known: float, events: list[HoldEvent]) -> None:
        run = self._run
        assert run is not None
        hold = Hold(start_s=run.start, end_s=end, peak_deg=run.peak, mean_deg=run.total / run.n)
        self._holds.append(hold)
        events.append(HoldEvent("end", t_known, self.side, run.start, hold.duration_s,
                                hold.peak_deg))
        self._run, self._gap = None, None

    def _event(self, kind: str, t: float, v: float) -> HoldEvent:
        assert self._run is not None
        return HoldEvent(kind, t, self.side, self._run.start, t - self._run.start, v)
