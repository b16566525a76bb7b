"""CameraAngle: a camera too far to the side gives "--" with a message naming its side."""

from __future__ import annotations

import pytest

from posecheck.setup_check import CameraAngle


def feed(cam: CameraAngle, yaws: list[float], fps: float = 30.0, t0: float = 0.0):
    out = None
    for i, y in enumerate(yaws):
        out = cam.update(t0 + i / fps, y)
    return out


def test_front_and_30_degree_views_are_measured() -> None:
    cam = CameraAngle()
    # a 30° camera's 5-s median of MediaPipe's shoulder line read 23-33° on rendered
    # people: measured
    assert feed(cam, [29.0 + (i % 9) - 4 for i in range(300)]) is None
    assert feed(cam, [33.5] * 300, t0=10.0) is None
    assert cam.refused is False and cam.message is None


@pytest.mark.parametrize(("yaw", "side"), [(37.0, "right"), (-38.0, "left")])
def test_a_40_degree_view_is_refused_naming_the_side(yaw: float, side: str) -> None:
    cam = CameraAngle()
    warning = feed(cam, [yaw] * 60)
    assert warning is not None and warning.code == "camera_angle"
    assert f"to your {side}" in warning.text and "Camera" in warning.text
    assert cam.message == warning.text


def test_hysteresis_and_recovery_when_the_camera_is_moved() -> None:
    cam = CameraAngle()
    assert feed(cam, [37.0] * 60) is not None
    # dips to 32° stay refused (leave below 30°) ...
    assert feed(cam, [32.0] * 200, t0=2.0) is not None
    # ... a camera moved in front is measured again once the 5-s median follows
    assert feed(cam, [3.0] * 200, t0=9.0) is None
    assert cam.refused is False
    assert cam.message is not None  # the summary still says it happened


def test_needs_enough_samples_and_ignores_frames_without_landmarks() -> None:
    cam = CameraAngle(min_samples=10)
    assert feed(cam, [40.0] * 9) is None
    assert cam.update(0.5, None) is None
    assert cam.update(0.6, 40.0) is not None


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="leave_deg"):
        CameraAngle(enter_deg=20.0, leave_deg=25.0)
    with pytest.raises(ValueError, match="window_s"):
        CameraAngle(window_s=0.0)
