"""Frame-by-frame hold scripts: one test per rule of posecheck.holds.

Scripts are lists of (duration_s, value) segments rendered at 30 fps (t = k / 30), or explicit
(t, value) samples for irregular timestamps. Expected times are derived from the script by
hand: e.g. a segment starting at frame 30 starts at t = 1.0 s. Threshold 20°, hysteresis 3°,
so the exit level is 17°.
"""

from __future__ import annotations

import math
import random
import subprocess
import sys

import pytest

from posecheck.errors import ConfigError
from posecheck.holds import HoldTracker, SideSummary
from posecheck.stretches import load_catalogue
from posecheck.types import HoldEvent, SideAngles

FPS = 30
T, E = 20.0, 17.0


Samples = list[tuple[float, float | None]]


def script(*segments: tuple[float, float | None], fps: int = FPS) -> Samples:
    """(duration_s, value) segments -> (t, value) samples at t = k / fps."""
    out: Samples = []
    for duration, value in segments:
        for _ in range(round(duration * fps)):
            out.append((len(out) / fps, value))
    return out


def run(samples, t_end: float | None = None, **kwargs) -> tuple[HoldTracker, list[HoldEvent]]:
    tracker = HoldTracker(T, **kwargs)
    events: list[HoldEvent] = []
    for t, v in samples:
        events += tracker.update(t, v)
    if t_end is not None:
        events += tracker.finish(t_end)
    return tracker, events


def kinds(events: list[HoldEvent]) -> list[str]:
    return [e.kind for e in events]


# -- rule 1: debounce ---------------------------------------------------------------------

def test_debounce_start_is_first_reach_confirmed_after_half_a_second():
    # 1 s neutral, 0.6 s at 25° (frames 30..47), then well below exit for 2 s.
    tracker, events = run(script((1.0, 0.0), (0.6, 25.0), (2.0, 0.0)))
    start = events[0]
    assert start.kind == "start"
    assert start.hold_start == pytest.approx(1.0)  # frame 30: first reach
    assert start.t == pytest.approx(1.5)  # frame 45: 0.5 s later confirms
    assert start.elapsed_s == pytest.approx(0.5)
    # The dip starts at frame 48 (1.6 s) and lasts 2 s, so the hold ends at 1.6 s.
    (hold,) = tracker.summary().holds
    assert (hold.start_s, hold.end_s) == (pytest.approx(1.0), pytest.approx(1.6))
    assert hold.duration_s == pytest.approx(0.6)
    assert kinds(events) == ["start", "end"]
    assert events[1].t == pytest.approx(2.6)  # known 1.0 s after the dip began


def test_debounce_short_excursion_never_starts():
    tracker, events = run(script((1.0, 0.0), (0.4, 25.0), (2.0, 0.0)), t_end=3.4)
    assert events == []
    summary = tracker.summary()
    assert summary.holds == ()
    assert summary.peak_deg == 25.0
    assert summary.time_in_target_s == pytest.approx(0.4)  # 12 frames at or beyond 20°


def test_debounce_dip_during_confirmation_restarts_the_clock():
    # 0.3 s at 25°, one frame at 19° (below T, above exit), then 0.6 s at 25°.
    samples = script((0.3, 25.0), (1 / FPS, 19.0), (0.6, 25.0))
    _, events = run(samples)
    assert kinds(events) == ["start"]
    assert events[0].hold_start == pytest.approx(10 / FPS)  # first frame after the dip
    assert events[0].t == pytest.approx(25 / FPS)


def test_debounce_short_none_during_confirmation_is_bridged():
    # one unmeasured frame at 0.3 s does not cancel the start: confirmed at 0.5 s, from 0
    samples = script((0.3, 25.0), (1 / FPS, None), (0.4, 25.0))
    _, events = run(samples)
    assert kinds(events) == ["start"]
    assert events[0].hold_start == pytest.approx(0.0)
    assert events[0].t == pytest.approx(15 / FPS)


def test_debounce_long_none_during_confirmation_cancels():
    # 1 s without a value (max_gap_s) cancels it: the start is the first frame after it
    samples = script((0.3, 25.0), (1.0, None), (0.6, 25.0))
    _, events = run(samples)
    assert kinds(events) == ["start"]
    assert events[0].hold_start == pytest.approx(39 / FPS)


def test_debounce_none_then_dip_cancels():
    # a valid sample below T after the unmeasured frame still cancels the start
    samples = script((0.3, 25.0), (1 / FPS, None), (1 / FPS, 19.0), (0.3, 25.0))
    _, events = run(samples)
    assert events == []


def test_exactly_at_threshold_counts():
    _, events = run(script((0.5 + 1 / FPS, T)))
    assert kinds(events) == ["start"]


# -- rule 2: hysteresis -------------------------------------------------------------------

def test_hysteresis_dip_to_threshold_minus_2_keeps_the_hold():
    samples = script((2.0, 25.0), (3.0, T - 2), (1.0, 25.0))  # 6 s, 180 frames
    tracker, events = run(samples, t_end=6.0)
    assert kinds(events) == ["start", "end"]
    (hold,) = tracker.summary().holds
    assert hold.start_s == 0.0
    assert hold.end_s == pytest.approx(179 / FPS)  # finish: last valid sample


def test_hysteresis_dip_to_threshold_minus_4_ends_at_the_moment_it_fell_below():
    samples = script((2.0, 25.0), (3.0, T - 4), (1.0, 25.0))
    tracker, events = run(samples, t_end=6.0)
    holds = tracker.summary().holds
    assert holds[0].start_s == 0.0
    assert holds[0].end_s == pytest.approx(2.0)  # frame 60, the first sample below 17°
    end = events[kinds(events).index("end")]
    assert end.t == pytest.approx(3.0) and end.elapsed_s == pytest.approx(2.0)
    # Back at 25° from 5.0 s: a second hold, confirmed at 5.5 s, closed by finish().
    assert len(holds) == 2
    assert holds[1].start_s == pytest.approx(5.0)
    assert kinds(events) == ["start", "end", "start", "end"]


def test_exactly_at_exit_level_keeps_the_hold():
    tracker, _ = run(script((1.0, 25.0), (2.0, E), (1.0, 25.0)), t_end=4.0)
    assert len(tracker.summary().holds) == 1


# -- rule 3: gaps --------------------------------------------------------------------------

def test_none_gap_of_0_8_s_is_bridged_and_counted():
    samples = script((2.0, 25.0), (0.8, None), (2.0, 25.0))  # 144 frames
    tracker, events = run(samples, t_end=4.8)
    (hold,) = tracker.summary().holds
    assert hold.duration_s == pytest.approx(143 / FPS)  # 0..last frame, gap included
    assert kinds(events) == ["start", "end"]
    assert tracker.summary().frames_measured == 120


def test_none_gap_of_1_2_s_ends_the_hold_at_gap_start():
    samples = script((2.0, 25.0), (1.2, None), (2.0, 25.0))
    tracker, events = run(samples, t_end=5.2)
    first = tracker.summary().holds[0]
    assert first.end_s == pytest.approx(2.0)
    end = events[kinds(events).index("end")]
    assert end.t == pytest.approx(3.0)  # the first sample 1.0 s after the gap began


def test_dip_below_exit_shorter_than_1_s_is_bridged_and_its_values_count():
    samples = script((2.0, 25.0), (0.5, 10.0), (1.5, 25.0))  # 120 frames
    tracker, _ = run(samples, t_end=4.0)
    (hold,) = tracker.summary().holds
    assert hold.duration_s == pytest.approx(119 / FPS)
    assert hold.mean_deg == pytest.approx((105 * 25.0 + 15 * 10.0) / 120)


def test_dip_below_exit_of_1_s_or_more_ends_the_hold_where_it_fell_below():
    samples = script((2.0, 25.0), (1.0, 10.0), (1.0, 25.0))
    tracker, events = run(samples, t_end=4.0)
    assert tracker.summary().holds[0].end_s == pytest.approx(2.0)
    assert events[1].kind == "end" and events[1].t == pytest.approx(3.0)


@pytest.mark.parametrize(("gap_frames", "n_holds"), [(29, 1), (30, 2)])
def test_gap_boundary_at_max_gap(gap_frames: int, n_holds: int):
    # 29 frames = 0.967 s < 1.0 s is bridged; 30 frames = 1.0 s is not "shorter than 1 s".
    samples = script((2.0, 25.0), (gap_frames / FPS, None), (2.0, 25.0))
    tracker, _ = run(samples, t_end=samples[-1][0])
    assert len(tracker.summary().holds) == n_holds


# -- rule 4: irregular timestamps and missing samples ---------------------------------------

def test_irregular_timestamps_start_and_confirm_on_sample_times():
    rng = random.Random(4)
    t, samples = 0.0, []
    while t < 6.0:
        samples.append((t, 0.0 if t < 1.0 else 30.0))
        t += rng.uniform(0.02, 0.09)
    first_reach = next(ts for ts, v in samples if v >= T)
    confirm = next(ts for ts, _ in samples if ts - first_reach >= 0.5)
    tracker, events = run(samples, t_end=samples[-1][0])
    assert events[0].hold_start == first_reach
    assert events[0].t == confirm
    (hold,) = tracker.summary().holds
    assert hold.end_s == samples[-1][0]
    expected_in_target = samples[-1][0] - first_reach  # every interval < 1 s counts
    assert tracker.summary().time_in_target_s == pytest.approx(expected_in_target)


def test_silence_of_1_2_s_ends_the_hold_at_the_last_sample():
    samples = [(k / 10, 25.0) for k in range(21)] + [(3.2 + k / 10, 25.0) for k in range(10)]
    tracker, events = run(samples, t_end=4.1)
    holds = tracker.summary().holds
    assert holds[0].end_s == pytest.approx(2.0)  # nothing known after the 2.0 s sample
    assert events[1].kind == "end" and events[1].t == pytest.approx(3.2)
    # The 1.2 s silence does not count as time in target; 0.1 s intervals do.
    assert tracker.summary().time_in_target_s == pytest.approx(2.0 + 0.9)
    assert holds[1].start_s == pytest.approx(3.2)


def test_silence_of_0_9_s_is_bridged():
    samples = [(k / 10, 25.0) for k in range(21)] + [(2.9 + k / 10, 25.0) for k in range(10)]
    tracker, _ = run(samples, t_end=3.8)
    (hold,) = tracker.summary().holds
    assert (hold.start_s, hold.end_s) == (0.0, pytest.approx(3.8))


def test_nan_is_treated_as_none():
    samples = script((2.0, 25.0), (1.2, math.nan), (1.0, 25.0))
    tracker, _ = run(samples, t_end=4.2)
    assert tracker.summary().holds[0].end_s == pytest.approx(2.0)
    assert tracker.summary().frames_measured == 90


# -- rule 5: finish -----------------------------------------------------------------------

def test_finish_while_holding_ends_at_the_last_valid_sample():
    tracker, events = run(script((0.2, 0.0), (3.0, 25.0)), t_end=10.0)
    (hold,) = tracker.summary().holds
    assert (hold.start_s, hold.end_s) == (pytest.approx(0.2), pytest.approx(95 / FPS))
    assert events[-1].kind == "end" and events[-1].t == 10.0
    assert not tracker.holding


def test_finish_inside_an_open_gap_ends_at_the_gap_start():
    tracker, _ = run(script((2.0, 25.0), (0.5, None)), t_end=2.5)
    assert tracker.summary().holds[0].end_s == pytest.approx(2.0)


def test_finish_drops_an_unconfirmed_start_and_is_idempotent():
    tracker, events = run(script((0.3, 25.0)), t_end=0.3)
    assert events == [] and tracker.finish(0.4) == []
    assert tracker.summary().holds == ()


# -- rule 6: ticks and target -------------------------------------------------------------

def test_ticks_every_10_s_and_target_once():
    _, events = run(script((35.0, 25.0)), t_end=35.0)
    ticks = [e for e in events if e.kind == "tick"]
    assert [round(e.elapsed_s, 6) for e in ticks] == [10.0, 20.0, 30.0]
    assert kinds(events) == ["start", "tick", "tick", "tick", "target", "end"]
    target = events[4]
    assert target.t == pytest.approx(30.0) and target.elapsed_s == pytest.approx(30.0)


def test_target_independent_of_ticks():
    _, events = run(script((26.0, 25.0)), target_s=25.0, tick_s=10.0)
    assert kinds(events) == ["start", "tick", "tick", "target"]
    assert events[-1].t == pytest.approx(25.0)


def test_no_tick_from_inside_a_gap_that_ends_the_hold():
    # Hold from 0 s; the person is lost at 9.5 s for 2 s: the 10 s tick never comes.
    _, events = run(script((9.5, 25.0), (2.0, None)))
    assert kinds(events) == ["start", "end"]


def test_tick_crossed_in_a_bridged_gap_comes_at_resume():
    _, events = run(script((9.5, 25.0), (0.8, None), (0.5, 25.0)))
    tick = events[1]
    assert tick.kind == "tick" and tick.t == pytest.approx(10.3)


# -- per-side totals, live state, directions and sides -------------------------------------

def test_peak_mean_total_and_time_in_target_by_hand():
    # Ramp 20..29 over 10 frames each value 3 frames (1 s), hold at 18 for 1 s, then gone.
    ramp = [(0.1, 20.0 + i) for i in range(10)]
    samples = script(*ramp, (1.0, 18.0), (1.5, None))
    tracker, _ = run(samples)
    summary = tracker.summary()
    (hold,) = summary.holds
    assert hold.peak_deg == 29.0
    in_hold = [v for t, v in samples if v is not None and t < hold.end_s]
    assert hold.end_s == pytest.approx(2.0)
    assert hold.mean_deg == pytest.approx(sum(in_hold) / len(in_hold))
    assert summary.total_hold_s == pytest.approx(2.0)
    assert summary.time_in_target_s == pytest.approx(1.0)  # 30 frames >= 20°
    assert summary.peak_deg == 29.0
    assert summary.frames == len(samples) and summary.frames_measured == 60


def test_live_state():
    tracker = HoldTracker(T)
    assert not tracker.holding and tracker.elapsed_s(1.0) == 0.0 and tracker.best_deg is None
    for t, v in script((1.0, 24.0)):
        tracker.update(t, v)
    assert tracker.holding
    assert tracker.elapsed_s(2.0) == 2.0
    assert tracker.best_deg == 24.0


@pytest.mark.parametrize("stretch_id", ["internal-rotation", "external-rotation"])
def test_both_directions_and_both_sides_via_stretch_value(stretch_id: str):
    stretch = load_catalogue()[stretch_id]
    deep = stretch.direction * (stretch.threshold_deg + 5)  # raw signed rotation, IR positive
    trackers = {side: HoldTracker(stretch.threshold_deg, hysteresis_deg=stretch.hysteresis_deg,
                                  target_s=stretch.hold_target_s, side=side)
                for side in ("left", "right")}
    other = {"internal-rotation": "external-rotation",
             "external-rotation": "internal-rotation"}[stretch_id]
    wrong = load_catalogue()[other]
    wrong_tracker = HoldTracker(wrong.threshold_deg)
    # The left leg goes deep; the right stays at neutral.
    for t, _ in script((5.0, 0.0)):
        left, right = SideAngles(rotation_deg=deep), SideAngles(rotation_deg=0.0)
        trackers["left"].update(t, stretch.value(left))
        trackers["right"].update(t, stretch.value(right))
        wrong_tracker.update(t, wrong.value(left))
    for tr in (*trackers.values(), wrong_tracker):
        tr.finish(5.0)
    assert len(trackers["left"].summary().holds) == 1
    assert trackers["left"].summary().peak_deg == pytest.approx(stretch.threshold_deg + 5)
    assert trackers["right"].summary().holds == ()
    assert wrong_tracker.summary().holds == ()  # the opposite rotation never counts


def test_summary_to_dict_matches_summary_json_side_keys():
    tracker, _ = run(script((2.0, 25.0)), t_end=2.0)
    d = tracker.summary().to_dict()
    assert set(d) == {"peak_measured_deg", "total_hold_s", "time_in_target_s",
                      "frames_measured", "holds"}
    assert set(d["holds"][0]) == {"start_s", "end_s", "duration_s", "peak_deg", "mean_deg"}
    assert isinstance(tracker.summary(), SideSummary)
    assert tracker.summary().best_hold_s == pytest.approx(59 / FPS)


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"threshold_deg": math.nan}, "threshold_deg"),
    ({"hysteresis_deg": -1.0}, "hysteresis_deg"),
    ({"confirm_s": -0.1}, "confirm_s"),
    ({"max_gap_s": 0.0}, "max_gap_s"),
    ({"target_s": -30.0}, "target_s"),
    ({"tick_s": 0.0}, "tick_s"),
    ({"side": "middle"}, "side"),
])
def test_bad_arguments_are_config_errors_naming_the_argument(kwargs, word):
    args = {"threshold_deg": T, **kwargs}
    with pytest.raises(ConfigError, match=word):
        HoldTracker(args.pop("threshold_deg"), **args)


def test_time_going_backwards_is_rejected():
    tracker = HoldTracker(T)
    tracker.update(1.0, 0.0)
    with pytest.raises(ValueError, match="backwards"):
        tracker.update(0.5, 0.0)


def test_importing_holds_loads_no_heavy_module():
    code = ("import sys, posecheck.holds, posecheck.stretches; "
            "print(sorted(m for m in ('mediapipe', 'cv2', 'matplotlib', 'sounddevice') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
