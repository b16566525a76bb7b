"""The still-leg hold (posecheck.still_leg): a leg the image shows still keeps its rotation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from posecheck.landmarks import LEFT_ANKLE, LEFT_HIP, LEFT_KNEE, RIGHT_ANKLE, RIGHT_HIP, RIGHT_KNEE
from posecheck.still_leg import StillLeg, hold_still_legs

FPS = 30.0
SHANK = 100.0  # px


def pixels(right_deg: float, left_deg: float, right_shift: float = 0.0) -> np.ndarray:
    """A seated person facing the camera: shanks turned by the given IR angles (deg,
    IR = foot lateral in the picture); ``right_shift`` moves the whole right shank sideways."""
    px = np.full((33, 4), np.nan)
    px[:, 3] = 1.0
    px[RIGHT_HIP, :2] = (300.0, 250.0)  # the person's right is the image left
    px[LEFT_HIP, :2] = (340.0, 250.0)
    for knee, ankle, x, deg, lateral, shift in (
            (RIGHT_KNEE, RIGHT_ANKLE, 280.0, right_deg, -1.0, right_shift),
            (LEFT_KNEE, LEFT_ANKLE, 360.0, left_deg, 1.0, 0.0)):
        px[knee, :2] = (x + shift, 280.0)
        a = math.radians(deg)
        px[ankle, :2] = (x + shift + lateral * SHANK * math.sin(a), 280.0 + SHANK * math.cos(a))
    return px


def run(frames: list[tuple[np.ndarray, dict[str, float]]]) -> list[dict[str, float]]:
    legs = {side: StillLeg(side) for side in ("left", "right")}
    return [hold_still_legs(legs, i / FPS, px, full) for i, (px, full) in enumerate(frames)]


def test_image_angle_sign_is_internal_rotation_positive() -> None:
    for side in ("left", "right"):
        leg = StillLeg(side)
        a = leg._image(pixels(10.0, 10.0))
        assert a is not None and a[0] == pytest.approx(10.0)


def test_still_leg_keeps_its_level_while_the_other_swings_and_its_3d_drifts() -> None:
    frames = []
    for i in range(300):  # 10 s: both still 2 s, then the left foot swings to 35 deg IR
        t = i / FPS
        left = 0.0 if t < 2 else min(35.0, (t - 2) * 20)
        drift = 0.0 if t < 2 else 0.4 * left  # MediaPipe's crosstalk onto the right leg
        frames.append((pixels(0.0, left), {"right": 1.0 + drift, "left": 1.0 + left}))
    out = run(frames)
    right = np.array([o["right"] for o in out])
    assert np.max(np.abs(right[60:] - 1.0)) < 0.05  # without the hold: 14 deg of drift
    left = np.array([o["left"] for o in out])
    assert left[-1] == pytest.approx(36.0)  # the moving leg keeps the full estimate


def test_a_real_turn_of_the_still_leg_is_followed() -> None:
    frames = []
    for i in range(240):
        t = i / FPS
        right = 0.0 if t < 2 else min(20.0, (t - 2) * 10)  # turns 20 deg: leaves the spell
        frames.append((pixels(right, 0.0), {"right": right + 0.5, "left": 0.0}))
    out = run(frames)
    assert out[-1]["right"] == pytest.approx(20.5)
    # small turns inside the spell follow the image angle from the held level
    assert out[66]["right"] == pytest.approx(0.5 + 10 * (66 / FPS - 2), abs=0.05)


def test_a_shank_shifted_sideways_with_its_knee_leaves_the_spell() -> None:
    frames = [(pixels(0.0, 0.0, right_shift=0.0 if i < 90 else 30.0),
               {"right": 0.0 if i < 90 else 7.0, "left": 0.0}) for i in range(150)]
    out = run(frames)
    assert out[-1]["right"] == pytest.approx(7.0)  # the knee moved 0.3 shank: not still


def test_the_leg_still_for_less_time_keeps_the_full_estimate() -> None:
    frames = []
    for i in range(300):
        t = i / FPS
        left = 0.0 if t < 2 else min(35.0, (t - 2) * 35)  # left to 35 deg, then held
        noise = 2.0 * math.sin(7 * t)
        frames.append((pixels(0.0, left), {"right": 0.0, "left": left + noise}))
    out = run(frames)
    # holding its stretch, the working leg reads its own full estimate, noise and all
    assert [o["left"] for o in out[200:]] == pytest.approx(
        [f[1]["left"] for f in frames[200:]])


def test_offset_is_learned_only_while_the_other_leg_is_where_it_was() -> None:
    frames = []
    for i in range(300):
        t = i / FPS
        left = 30.0 if 4 <= t < 7 else 0.0
        right_full = 3.0 if t < 4 else (10.0 if t < 7 else 3.0 + 0.5 * math.sin(9 * t))
        frames.append((pixels(0.0, left), {"right": right_full, "left": left}))
    out = run(frames)
    right = np.array([o["right"] for o in out])
    assert np.allclose(right[120:210], 3.0, atol=0.01)  # the crosstalk (10) never shows
    assert np.allclose(right[210:], 3.0, atol=0.2)  # averaging again once it is back


def test_missing_leg_or_gated_rotation_ends_the_spell() -> None:
    leg = StillLeg("right")
    for i in range(30):
        leg.update(i / FPS, pixels(0.0, 0.0), 2.0)
    assert leg.since is not None
    assert math.isnan(leg.update(1.0, pixels(0.0, 0.0), math.nan))
    assert leg.since is None
    assert leg.update(1.1, None, 4.0) == 4.0


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        StillLeg("left", start_turn_deg=10.0, max_turn_deg=5.0)


def test_batches_of_any_size_give_the_numbers_of_frame_by_frame() -> None:
    """The hold carries over between calls: live (one frame a call), analyse (batches) and a
    replay give the same rotation, bit for bit, with a leg held and the other swinging."""
    from skeleton import Camera, LegPose, Noise, make_sequence, ramp_profile

    from posecheck.prepare import FramePrep

    frames = make_sequence(
        240, left=lambda t: LegPose(hip_flex=90, knee_flex=90, rot=ramp_profile(30.0)(t)),
        right=lambda t: LegPose(hip_flex=90, knee_flex=90, rot=0.0),
        fps=FPS, camera=Camera(), rng=np.random.default_rng(3),
        noise=Noise(image_px=0.3, world_m=0.003, depth_m=0.01))

    def rotations(batch: int) -> list[tuple[float | None, float | None]]:
        prep = FramePrep()
        out = []
        for i in range(0, len(frames), batch):
            chunk = [prep.step(f) for f in frames[i:i + batch]]
            out += [(a.left.rotation_deg, a.right.rotation_deg) for a in prep.angles(chunk)]
        return out

    one = rotations(1)
    assert rotations(64) == one and rotations(7) == one
    legs_held = FramePrep()
    legs_held.angles([legs_held.step(f) for f in frames])
    assert legs_held.still["right"].since is not None  # the still right leg is in a spell
