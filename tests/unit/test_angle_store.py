"""posecheck.angle_store and the array-based zero-phase smoothing: the same frames, bit for
bit, as the list-of-FrameAngles implementation it replaced (kept here as the reference)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from posecheck.angle_store import AngleStore, ArrayReplaySmoother, zero_phase_store
from posecheck.filters import (
    SMOOTHED_FIELDS,
    OneEuroParams,
    smooth_frames,
    zero_phase_frames,
)
from posecheck.landmark_io import read_landmarks
from posecheck.prepare import FramePrep
from posecheck.types import FrameAngles, SideAngles

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "pose2sim_cam01.landmarks.jsonl"


# the implementation before posecheck 14 (lists of FrameAngles), verbatim
def _reverse_ref(frames: list[FrameAngles]) -> list[FrameAngles]:
    return [replace(f, t=-f.t) for f in reversed(frames)]


def _mean_ref(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else 0.5 * (a + b)


def zero_phase_reference(frames: list[FrameAngles]) -> list[FrameAngles]:
    params = OneEuroParams()
    fwd = smooth_frames(frames, params)
    bwd = list(reversed(smooth_frames(_reverse_ref(frames), params)))
    out = []
    for f, b in zip(fwd, bwd, strict=True):
        sides = {}
        for side in ("left", "right"):
            fa, ba = f.side(side), b.side(side)
            sides[side] = replace(fa, **{n: _mean_ref(getattr(fa, n), getattr(ba, n))
                                         for n in SMOOTHED_FIELDS})
        out.append(FrameAngles(t=f.t, left=sides["left"], right=sides["right"]))
    return out


def random_frames(n: int, seed: int) -> list[FrameAngles]:
    """Noisy angles with None runs, a long gap, repeated times and every rotation source."""
    rng = np.random.default_rng(seed)
    t, frames = 0.0, []
    sources = [None, "2d", "3d", "fused"]
    for i in range(n):
        t += 1.0 / 30 if i != n // 2 else 0.9  # one gap longer than max_gap_s
        if i % 37 == 5:
            t -= 1.0 / 30  # a repeated time
        sides = {}
        for side in ("left", "right"):
            vals = {name: (None if rng.random() < 0.1 else float(rng.normal(20, 15)))
                    for name in SMOOTHED_FIELDS}
            sides[side] = SideAngles(**vals, confidence=float(rng.random()),
                                     rotation_source=sources[int(rng.integers(4))])
        frames.append(FrameAngles(t=t, **sides))
    return frames


def sample_raw_frames() -> list[FrameAngles]:
    prep = FramePrep()
    return prep.angles([prep.step(p) for p in read_landmarks(SAMPLE)])


def replayed(frames: list[FrameAngles]) -> list[FrameAngles]:
    store = AngleStore()
    store.extend(frames)
    smoother = ArrayReplaySmoother(store, zero_phase_store(store))
    return [smoother.update(f) for f in frames]


@pytest.mark.parametrize("frames", [random_frames(400, 1), random_frames(61, 2),
                                    sample_raw_frames(), []],
                         ids=["random400", "random61", "pose2sim", "empty"])
def test_array_zero_phase_equals_the_list_implementation_bit_for_bit(frames) -> None:
    expected = zero_phase_reference(frames)
    assert zero_phase_frames(frames) == expected  # the list API, now per series
    assert replayed(frames) == expected  # the arrays, frame by frame


def test_sample_raw_frames_have_angles_and_gaps() -> None:
    """The pose2sim sequence tests something: some measured rotations among None values."""
    frames = sample_raw_frames()
    rot = [f.left.rotation_deg for f in frames] + [f.right.rotation_deg for f in frames]
    assert 10 < sum(v is not None for v in rot) < len(rot)
    assert all(f.left.knee_flexion_deg is not None for f in frames)


def test_store_gives_every_frame_back_unchanged() -> None:
    frames = random_frames(100, 3)
    store = AngleStore()
    store.extend(frames)
    assert len(store) == 100
    assert [store.frame(i) for i in range(100)] == frames
    assert store.times() == [f.t for f in frames]
    with pytest.raises(IndexError):
        store.frame(100)


def test_array_replay_rejects_other_times_and_decreasing_times_fail() -> None:
    frames = random_frames(10, 4)
    store = AngleStore()
    store.extend(frames)
    smoother = ArrayReplaySmoother(store, zero_phase_store(store))
    with pytest.raises(ValueError, match="no precomputed frame"):
        smoother.update(frames[1])
    for f in frames:
        smoother.update(f)
    with pytest.raises(ValueError, match="no precomputed frame"):
        smoother.update(frames[-1])
    smoother.reset()
    assert smoother.update(frames[0]).t == frames[0].t
    back = AngleStore()
    back.extend([frames[1], frames[0]])
    with pytest.raises(ValueError, match="time must not go backwards"):
        zero_phase_store(back)
    with pytest.raises(ValueError, match="time must not go backwards"):
        zero_phase_frames([frames[1], frames[0]])


def test_zero_phase_store_is_nan_exactly_where_a_value_is_none() -> None:
    frames = random_frames(200, 5)
    store = AngleStore()
    store.extend(frames)
    out = zero_phase_store(store)
    assert out.shape == (200, 8)
    none = [[getattr(f.side(s), n) is None for s in ("left", "right") for n in SMOOTHED_FIELDS]
            for f in frames]
    assert (np.isnan(out) == np.array(none)).all()
    assert not math.isnan(float(np.nanmean(out)))
