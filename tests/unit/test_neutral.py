"""The image-judged neutral (posecheck.neutral.LegReference): which still legs it takes.

Pixel landmarks of a person seated facing the camera (image y down; the person's left hip
on the image's right), the femur toward the camera (thigh short in the image) and the
shank hanging from the knee at a chosen image tilt; the rule is judged on these alone.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from posecheck.landmarks import LEFT_HIP, LEFT_SHOULDER, LEG, RIGHT_HIP, RIGHT_SHOULDER
from posecheck.neutral import SHANK_TILT_DEG, LegReference, shank_tilt_ir

SHANK_PX = 100.0
FPS = 30.0


def seated_px(tilt_ir: dict[str, float], *, mirrored: bool = False,
              knee_dy: float = 0.0, ankle_dx: float = 0.0) -> np.ndarray:
    """(33, 4) pixels; ``tilt_ir[side]``: the shank's image tilt, degrees toward IR (the
    ankle toward the leg's own side of the image); ``knee_dy`` moves the knee landmarks along the
    shank (the ankles stay), ``ankle_dx`` the ankles sideways (px)."""
    px = np.zeros((33, 4))
    px[:, 3] = 1.0
    cx = 320.0
    out = {"left": 1.0, "right": -1.0}  # image x direction of each side (facing the camera)
    if mirrored:
        out = {"left": -1.0, "right": 1.0}
    px[LEFT_HIP, :2] = (cx + 40 * out["left"], 240)
    px[RIGHT_HIP, :2] = (cx + 40 * out["right"], 240)
    px[LEFT_SHOULDER, :2] = (cx + 55 * out["left"], 100)
    px[RIGHT_SHOULDER, :2] = (cx + 55 * out["right"], 100)
    for side, tilt in tilt_ir.items():
        leg = LEG[side]
        hip = px[leg["hip"], :2]
        knee = hip + np.array([8 * out[side], 25.0])  # femur toward the camera: short thigh
        a = math.radians(tilt)
        ankle = knee + np.array([out[side] * SHANK_PX * math.sin(a) + ankle_dx,
                                SHANK_PX * math.cos(a)])
        px[leg["knee"], :2] = knee + np.array([0.0, knee_dy])
        px[leg["ankle"], :2] = ankle
    return px


def run(frames: list[np.ndarray]) -> LegReference:
    ref = LegReference()
    for i, px in enumerate(frames):
        ref.update(i / FPS, px)
    return ref


def still(tilt_ir: dict[str, float], seconds: float = 3.0, **kw: float) -> list[np.ndarray]:
    return [seated_px(tilt_ir, **kw) for _ in range(int(seconds * FPS))]


@pytest.mark.parametrize("mirrored", [False, True])
@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("tilt", [-12.0, -3.0, 0.0, 6.0, 15.0])
def test_shank_tilt_is_signed_toward_internal_rotation_for_either_leg(side, tilt, mirrored):
    px = seated_px({side: tilt}, mirrored=mirrored)
    assert shank_tilt_ir(px, side) == pytest.approx(tilt, abs=1e-9)


@pytest.mark.parametrize("tilt", [0.0, -3.0, 4.0, 6.5])
def test_a_still_vertical_shank_within_the_window_is_taken_as_neutral(tilt):
    ref = run(still({"left": tilt, "right": 0.0}))
    assert ref.neutral_window("left") is not None
    assert ref.neutral_window("right") is not None


@pytest.mark.parametrize("tilt", [-7.0, -10.0, 9.0, 12.0])
def test_a_leg_held_rotated_is_never_taken_as_neutral(tilt):
    # 10 deg of ER held from the start shows the shank 7.7-11.3 deg toward ER on the
    # renders: beyond the ER limit; the IR side allows MediaPipe's lean toward IR
    ref = run(still({"left": tilt, "right": 0.0}))
    assert ref.neutral_window("left") is None
    assert ref.neutral_window("right") is not None


def test_the_window_is_not_symmetric_because_mediapipe_leans_toward_ir():
    low, high = SHANK_TILT_DEG
    assert low < 0 < high and high > -low
    # the same 6 deg off: taken toward IR, refused toward ER
    assert run(still({"left": 6.0})).neutral_window("left") is not None
    assert run(still({"left": -6.0})).neutral_window("left") is None


def test_the_window_median_tilt_decides_not_each_jittering_frame():
    # a still leg whose shank reads 6 deg toward IR +- 1.5 deg frame to frame (MediaPipe's
    # jitter): frames at 7.5 deg, beyond the limit, do not restart the window
    rng = np.random.default_rng(3)
    frames = []
    for _ in range(int(3 * FPS)):
        px = seated_px({"left": 6.0 + float(rng.choice([-1.5, 1.5])), "right": 0.0})
        frames.append(px)
    assert run(frames).neutral_window("left") is not None


def test_the_knee_jittering_along_the_shank_does_not_block_the_neutral():
    # MediaPipe's knee on a still leg near the camera: 4% of the shank up and down
    frames = [seated_px({"left": 0.0, "right": 0.0}, knee_dy=4.0 * (-1) ** i)
              for i in range(int(3 * FPS))]
    assert run(frames).neutral_window("left") is not None


def test_a_moving_ankle_blocks_the_neutral():
    # the foot swaying 10 px (0.1 shank) side to side: not held still
    frames = [seated_px({"left": 0.0, "right": 0.0}, ankle_dx=10.0 * (-1) ** (i // 5))
              for i in range(int(3 * FPS))]
    assert run(frames).neutral_window("left") is None


def test_a_thigh_as_long_as_the_shank_in_the_image_is_not_a_seated_neutral():
    # standing or a very high camera: the femur is far from the camera ray
    frames = []
    for _ in range(int(3 * FPS)):
        px = seated_px({"left": 0.0, "right": 0.0})
        px[LEG["left"]["knee"], 1] = px[LEFT_HIP, 1] + SHANK_PX  # thigh 1.0 shank long
        px[LEG["left"]["ankle"], 1] = px[LEG["left"]["knee"], 1] + SHANK_PX
        frames.append(px)
    ref = run(frames)
    assert ref.neutral_window("left") is None
    assert ref.neutral_window("right") is not None


def test_the_tilt_window_must_straddle_zero():
    with pytest.raises(ValueError):
        LegReference(shank_tilt_deg=(1.0, 7.0))
