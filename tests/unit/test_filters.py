"""One Euro filter and AngleSmoother: lag, gaps, None handling, explicit time."""

from __future__ import annotations

import numpy as np
import pytest

from posecheck.errors import ConfigError
from posecheck.filters import (
    AngleSmoother,
    OneEuroFilter,
    OneEuroParams,
    smooth_frames,
    zero_phase_frames,
)
from posecheck.types import FrameAngles, SideAngles

FPS = 30.0


def _step_times(step: float) -> tuple[float, float]:
    """Seconds after a step (at 30 fps) until the output reaches 50 % and 90 % of it."""
    f = OneEuroFilter()
    out = np.array([f.filter(i / FPS, 0.0 if i < 30 else step) for i in range(150)])[30:]
    return float(np.argmax(out >= 0.5 * step) / FPS), float(np.argmax(out >= 0.9 * step) / FPS)


@pytest.mark.parametrize(("step", "t50", "t90"), [(20.0, 0.10, 0.23), (5.0, 0.17, 0.47)])
def test_step_lag_matches_docstring(step: float, t50: float, t90: float) -> None:
    # The numbers in the posecheck.filters docstring, within one frame.
    got50, got90 = _step_times(step)
    assert got50 == pytest.approx(t50, abs=1 / FPS + 1e-9)
    assert got90 == pytest.approx(t90, abs=1 / FPS + 1e-9)


def test_static_noise_is_reduced_at_least_fourfold() -> None:
    rng = np.random.default_rng(0)
    f = OneEuroFilter()
    raw = 20.0 + rng.normal(0.0, 1.5, 1500)
    out = np.array([f.filter(i / FPS, x) for i, x in enumerate(raw)])
    assert np.std(out[60:]) < np.std(raw) / 4
    assert np.mean(out[60:]) == pytest.approx(20.0, abs=0.3)


def test_first_sample_passes_through_and_none_stays_none() -> None:
    f = OneEuroFilter()
    assert f.filter(0.0, 12.5) == 12.5
    assert f.filter(1 / FPS, None) is None
    assert f.filter(2 / FPS, float("nan")) is None
    assert 12.5 <= f.filter(3 / FPS, 14.0) < 14.0  # short gap: state kept, smoothed


def test_long_gap_resets() -> None:
    f = OneEuroFilter(OneEuroParams(max_gap_s=0.5))
    f.filter(0.0, 0.0)
    f.filter(0.1, 0.0)
    assert f.filter(0.7, 30.0) == 30.0  # 0.6 s since the last value: a new start


def test_time_must_not_go_backwards_and_duplicates_are_ignored() -> None:
    f = OneEuroFilter()
    f.filter(1.0, 5.0)
    assert f.filter(1.0, 50.0) == 5.0
    with pytest.raises(ValueError, match="backwards"):
        f.filter(0.5, 5.0)


@pytest.mark.parametrize("kwargs", [{"min_cutoff": 0}, {"beta": -1}, {"d_cutoff": -0.1},
                                    {"max_gap_s": 0}])
def test_bad_params_rejected_naming_the_argument(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        OneEuroParams(**kwargs)


def test_angle_smoother_per_side_and_field() -> None:
    frames = [FrameAngles(t=i / FPS,
                          left=SideAngles(rotation_deg=10.0 if i < 5 else 30.0,
                                          knee_flexion_deg=90.0, confidence=0.7,
                                          rotation_source="2d"),
                          right=SideAngles(rotation_deg=None, hip_flexion_deg=-5.0))
              for i in range(10)]
    out = smooth_frames(frames)
    assert [o.t for o in out] == [f.t for f in frames]
    assert all(o.right.rotation_deg is None for o in out)
    assert all(o.right.hip_flexion_deg == pytest.approx(-5.0) for o in out)
    assert all(o.left.confidence == 0.7 and o.left.rotation_source == "2d" for o in out)
    assert all(o.left.knee_flexion_deg == pytest.approx(90.0) for o in out)
    assert 10.0 < out[5].left.rotation_deg < 30.0  # smoothed, not jumped


def test_angle_smoother_rejects_time_going_backwards() -> None:
    s = AngleSmoother()
    s.update(FrameAngles(t=1.0))
    with pytest.raises(ValueError, match="backwards"):
        s.update(FrameAngles(t=0.5))


def _rotation_frames(values: list[float | None]) -> list[FrameAngles]:
    return [FrameAngles(t=i / FPS, left=SideAngles(rotation_deg=v, knee_flexion_deg=90.0))
            for i, v in enumerate(values)]


def _rot(frames: list[FrameAngles]) -> np.ndarray:
    return np.array([np.nan if f.left.rotation_deg is None else f.left.rotation_deg
                     for f in frames])


def test_zero_phase_has_no_lag_on_a_ramp_where_the_causal_filter_lags() -> None:
    # 1 s still at 0, a 1.5 s ramp to 35 deg, 1.5 s held: the error mid-ramp
    truth = np.concatenate([np.zeros(30), np.linspace(0, 35, 45), np.full(45, 35.0)])
    frames = _rotation_frames(list(truth))
    mid = slice(40, 65)
    causal = np.abs(_rot(smooth_frames(frames)) - truth)[mid].mean()
    zero = np.abs(_rot(zero_phase_frames(frames)) - truth)[mid].mean()
    assert causal > 1.0  # the causal filter lags by more than 1 deg mid-ramp
    assert zero < 0.2 * causal


def test_zero_phase_keeps_none_and_does_not_smear_across_a_long_gap() -> None:
    values: list[float | None] = [10.0] * 30 + [None] * 30 + [40.0] * 30  # 1 s gap
    out = _rot(zero_phase_frames(_rotation_frames(values)))
    assert np.isnan(out[30:60]).all()
    np.testing.assert_allclose(out[:30], 10.0)  # nothing of the 40 leaks back in
    np.testing.assert_allclose(out[60:], 40.0)


def test_zero_phase_reduces_static_noise_at_least_as_the_causal_filter() -> None:
    rng = np.random.default_rng(1)
    noisy = list(20.0 + rng.normal(0, 3.0, 300))
    frames = _rotation_frames(noisy)
    causal = np.std(_rot(smooth_frames(frames))[30:])
    zero = np.std(_rot(zero_phase_frames(frames))[30:])
    assert zero <= causal


def test_replay_smoother_gives_its_frames_back_and_rejects_other_times() -> None:
    from posecheck.angle_store import CHANNELS, AngleStore, ArrayReplaySmoother

    frames = _rotation_frames([1.0, 2.0, 3.0])
    store = AngleStore()
    store.extend(_rotation_frames([0.0, 0.0, 0.0]))  # the raw frames: only t matters here
    given = np.array([[np.nan if (v := getattr(f.side(side), name)) is None else v
                       for side, name in CHANNELS] for f in frames])
    replay = ArrayReplaySmoother(store, given)
    assert [replay.update(f) for f in _rotation_frames([0.0, 0.0, 0.0])] == frames
    with pytest.raises(ValueError, match="no precomputed frame"):
        replay.update(frames[0])
    replay.reset()
    with pytest.raises(ValueError, match="no precomputed frame"):
        replay.update(FrameAngles(t=5.0))
