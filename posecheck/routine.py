"""The guided routine of the live mode: which stretch and side now, and what to tell the person.

A routine is a list of steps (stretch, side). Each step goes through phases:

``setup``     until the view suits the stretch (needed joints visible and trusted, facing
              the right way) for ``setup_ok_s`` seconds; shows "--" and says what to change.
``neutral``   until the neutral reference of that side is taken (sit still in the
              stretch's neutral, e.g. shin vertical), or ``neutral_timeout_s`` passes.
``countdown`` get ready: ``countdown_s`` seconds, a cue each second, then "go".
``measure``   holds are timed; cues at hold start, every 10 s and at the hold target.
``done``      the hold target was reached and the hold ended: "done - switch sides"; the
              next step starts after ``done_pause_s``.

Pure: no camera, no window, no clock. Time is ``PoseFrame.t`` (seconds); keys arrive as
method calls. The :class:`posecheck.session.Session` does all measuring; this class only
decides what the session measures (``session.active``, ``session.measuring``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from posecheck.session import Session
from posecheck.stretches import Stretch
from posecheck.types import FrameResult, PoseFrame


@dataclass(frozen=True, slots=True)
class Step:
    """One stretch on one side."""

    stretch: Stretch
    side: str

    @property
    def label(self) -> str:
        """E.g. "Seated internal rotation - left"."""
        return f"{self.stretch.name} - {self.side}"


def make_steps(stretches: Sequence[Stretch], sides: Sequence[str]) -> list[Step]:
    """Every stretch in order, each on every side in ``sides``."""
    return [Step(st, side) for st in stretches for side in sides]


class Routine:
    """Drive a :class:`Session` through the steps; returns cues for sound and console."""

    def __init__(self, session: Session, steps: Sequence[Step], *, countdown_s: float = 3.0,
                 setup_ok_s: float = 1.0, neutral_timeout_s: float = 8.0,
                 done_pause_s: float = 3.0) -> None:
        if not steps:
            raise ValueError("a routine needs at least one step")
        for step in steps:
            if (step.stretch.id, step.side) not in session.pairs:
                raise ValueError(f"step {step.label!r} is not measured by the session")
        self.session = session
        self.steps = list(steps)
        self.countdown_s = countdown_s
        self.setup_ok_s = setup_ok_s
        self.neutral_timeout_s = neutral_timeout_s
        self.done_pause_s = done_pause_s
        self.index = 0
        self.phase = "setup"
        self.paused = False
        self.finished = False
        self._since: float | None = None  # when the current phase (or good view) began
        self._last_count: int | None = None
        self._note = ""
        self.measured_steps: set[tuple[str, str]] = set()  # (stretch id, side) measured
        self._enter("setup", None)

    # ----------------------------------------------------------------- state
    @property
    def step(self) -> Step | None:
        """The current step, None when the routine is finished."""
        return None if self.finished else self.steps[self.index]

    def _enter(self, phase: str, t: float | None) -> None:
        self.phase = phase
        self._since = t
        self._last_count = None
        step = self.steps[self.index]
        self.session.active = (step.stretch.id, step.side)
        self.session.measuring = phase == "measure" and not self.paused
        if phase == "measure":
            self.measured_steps.add((step.stretch.id, step.side))

    def _next(self, t: float) -> list[str]:
        if self.index + 1 >= len(self.steps):
            self.finished = True
            self.session.measuring = False
            return ["finished"]
        self.index += 1
        self._enter("setup", t)
        return ["next"]

    # ----------------------------------------------------------------- keys
    def toggle_pause(self) -> None:
        """Space: pause or resume measuring (the hold timer stops while paused)."""
        self.paused = not self.paused
        self.session.measuring = self.phase == "measure" and not self.paused

    def skip(self, t: float) -> list[str]:
        """"n": go to the next step."""
        return [] if self.finished else self._next(t)

    def switch_side(self, t: float) -> None:
        """"s": the same stretch on the other side."""
        if self.finished:
            return
        step = self.steps[self.index]
        other = "right" if step.side == "left" else "left"
        self.steps[self.index] = Step(step.stretch, other)
        self._enter("setup", t)

    # ----------------------------------------------------------------- frames
    def update(self, pose: PoseFrame) -> tuple[FrameResult, list[str]]:
        """Measure one frame and advance the phase; returns the result and the cues.

        Cues: "countdown", "go", "start", "tick", "target", "end", "next", "finished",
        "neutral".
        """
        result = self.session.update(pose)
        if self.finished:
            return result, []
        cues = [e.kind for e in result.events]
        if not self.paused:
            cues.extend(self._advance(result))
        return result, cues

    def _advance(self, result: FrameResult) -> list[str]:
        t = result.t
        step = self.steps[self.index]
        view_ok = not any(w.code in ("no_person", "not_visible", "facing", "implausible")
                          for w in result.warnings) and result.pose.has_pose
        if self.phase == "setup":
            return self._setup(t, view_ok, step)
        if self.phase == "neutral":
            capture = self.session.neutral[(step.stretch.measure, step.side)]
            if capture.captured:
                self._note = f"neutral taken ({capture.offset_deg:+.1f}°)"
                self._enter("countdown", t)
                return ["neutral"]
            if self._since is not None and t - self._since >= self.neutral_timeout_s:
                capture.lock()
                self._note = "no neutral reference: angles are uncorrected"
                self._enter("countdown", t)
            return []
        if self.phase == "countdown":
            return self._countdown(t)
        if self.phase == "measure":
            pair = self.session.pairs[(step.stretch.id, step.side)]
            done = any(h.duration_s >= step.stretch.hold_target_s for h in pair.tracker.holds)
            if done and not pair.tracker.holding:
                self._enter("done", t)
            return []
        since = self._since if self._since is not None else t
        if self.phase == "done" and t - since >= self.done_pause_s:
            return self._next(t)
        return []

    def _setup(self, t: float, view_ok: bool, step: Step) -> list[str]:
        if not view_ok:
            self._since = None
            return []
        if self._since is None:
            self._since = t
        if t - self._since < self.setup_ok_s:
            return []
        capture = self.session.neutral.get((step.stretch.measure, step.side))
        if self.session.use_neutral and capture is not None and not capture.locked:
            self._enter("neutral", t)
        else:
            self._enter("countdown", t)
        return []

    def _countdown(self, t: float) -> list[str]:
        since = self._since if self._since is not None else t
        left = self.countdown_s - (t - since)
        if left <= 0:
            self._enter("measure", t)
            return ["go"]
        count = int(left) + 1
        if count != self._last_count:
            self._last_count = count
            return ["countdown"]
        return []

    # ----------------------------------------------------------------- text
    def countdown_left(self, t: float) -> float | None:
        """Seconds left in the get-ready countdown, None outside it."""
        if self.phase != "countdown" or self._since is None:
            return None
        return max(0.0, self.countdown_s - (t - self._since))

    def status(self, result: FrameResult) -> str:
        """The plain-language status line for the current frame."""
        if self.finished:
            return "Routine finished - well done. Press q to save and quit."
        step = self.steps[self.index]
        if self.paused:
            return "Paused - press space to continue."
        if self.phase == "setup":
            return result.status if result.warnings else f"{step.label}: hold still..."
        if self.phase == "neutral":
            return f"Neutral: {step.stretch.neutral or 'sit still in the start position'}"
        if self.phase == "countdown":
            left = self.countdown_left(result.t) or 0.0
            return f"Get ready: {step.label} in {int(left) + 1}"
        if self.phase == "done":
            nxt = self.steps[self.index + 1] if self.index + 1 < len(self.steps) else None
            if nxt is None:
                return "Done - routine complete."
            if nxt.stretch.id == step.stretch.id:
                return "Done - switch sides."
            return f"Done - next: {nxt.stretch.name}."
        return result.status

    @property
    def note(self) -> str:
        """A short note about the last phase change (e.g. the neutral offset taken)."""
        return self._note
