"""The live routine's state machine, fed synthetic frames one by one (no camera, no clock)."""

from __future__ import annotations

import pytest
from skeleton import Camera, LegPose, make_pose

from posecheck.routine import Routine, make_steps
from posecheck.session import Session
from posecheck.stretches import load_catalogue
from posecheck.types import PoseFrame

FPS = 30.0
CAT = load_catalogue()
IR = CAT["internal-rotation"]


def frame(t: float, left_rot: float = 0.0, right_rot: float = 0.0, yaw: float = 0.0) -> PoseFrame:
    return make_pose(LegPose(90, 0, left_rot, 90), LegPose(90, 0, right_rot, 90),
                     camera=Camera(yaw=yaw), t=t)


def drive(routine: Routine, t0: float, seconds: float, **pose) -> list:
    """Feed ``seconds`` of one pose; returns (t, phase after the frame, cues)."""
    out = []
    for i in range(round(seconds * FPS)):
        t = t0 + i / FPS
        _, cues = routine.update(frame(t, **pose))
        out.append((t, routine.phase, cues))
    return out


def new_routine(**kw) -> Routine:
    session = Session([IR])
    return Routine(session, make_steps([IR], ["left", "right"]), **kw)


def test_phases_in_order_with_cues():
    r = new_routine()
    log = drive(r, 0.0, 1.5)  # view fine for 1 s -> neutral
    assert r.phase == "neutral"
    log += drive(r, 1.5, 2.5)  # still at 0° for 2 s -> neutral taken -> countdown
    assert r.phase == "countdown"
    assert r.session.neutral[("rotation_deg", "left")].captured
    log += drive(r, 4.0, 3.1)  # countdown 3 s -> measure
    assert r.phase == "measure"
    cues = [c for _, _, cs in log for c in cs]
    assert cues.count("countdown") == 3 and cues[-1] == "go"
    assert "neutral" in cues


def test_holds_only_count_in_the_measure_phase_and_done_moves_on():
    r = new_routine(countdown_s=1.0, neutral_timeout_s=2.0)
    # already stretched: setup 1 s, no neutral within its 2 s timeout, countdown 1 s
    log = drive(r, 0.0, 37.0, left_rot=25.0)
    assert r.session.neutral[("rotation_deg", "left")].captured is False
    go = next(t for t, _, cs in log if "go" in cs)
    assert go == pytest.approx(4.0, abs=0.1)
    cues = [c for _, _, cs in log for c in cs if c in ("go", "start", "tick", "target")]
    assert cues == ["go", "start", "tick", "tick", "tick", "target"]
    assert all(p in ("setup", "neutral", "countdown") for t, p, _ in log if t < go - 0.01)
    log = drive(r, 37.0, 2.0, left_rot=0.0)  # release: the hold ends -> done
    assert r.phase == "done" and "end" in [c for _, _, cs in log for c in cs]
    holds = r.session.pairs[("internal-rotation", "left")].tracker.holds
    # the angle was beyond the threshold all along: the hold starts when measuring does
    assert len(holds) == 1 and holds[0].start_s == pytest.approx(go, abs=0.05)
    log = drive(r, 39.0, 3.5, left_rot=0.0)
    assert r.step is not None and r.step.side == "right" and r.phase != "done"
    assert r.measured_steps == {("internal-rotation", "left")}  # the right not yet measured
    assert "next" in [c for _, _, cs in log for c in cs]


def test_bad_view_keeps_setup_and_says_what_to_change():
    r = new_routine()
    log = drive(r, 0.0, 3.0, yaw=85.0)
    assert {p for _, p, _ in log} == {"setup"}
    result, _ = r.update(frame(3.0, yaw=85.0))
    assert "Face the camera" in r.status(result)


def test_pause_stops_the_hold_timer():
    r = new_routine(countdown_s=0.5, neutral_timeout_s=1.0)
    drive(r, 0.0, 5.0, left_rot=25.0)
    assert r.session.pairs[("internal-rotation", "left")].tracker.holding
    r.toggle_pause()
    drive(r, 5.0, 3.0, left_rot=25.0)
    tracker = r.session.pairs[("internal-rotation", "left")].tracker
    assert not tracker.holding and len(tracker.holds) == 1
    assert r.status(r.update(frame(8.0, left_rot=25.0))[0]).startswith("Paused")


def test_keys_next_and_switch_side():
    r = new_routine()
    r.switch_side(0.0)
    assert r.step.side == "right" and r.phase == "setup"
    assert r.skip(0.1) == ["next"]
    assert r.skip(0.2) == ["finished"] and r.finished and r.step is None


def test_routine_rejects_steps_the_session_does_not_measure():
    with pytest.raises(ValueError, match="not measured"):
        Routine(Session([IR]), make_steps([CAT["deep-glute"]], ["left"]))
