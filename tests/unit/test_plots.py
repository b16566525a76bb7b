"""angles.png: a valid PNG of a readable size, from arrays or from FrameResults."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from posecheck.plots import plot_angles, plot_results, series_from_results, threshold_level
from posecheck.stretches import Stretch
from posecheck.types import FrameAngles, FrameResult, Hold, PoseFrame

IR = Stretch(id="internal-rotation", name="Seated internal rotation", instructions="",
             camera="front", view="front", measure="rotation_deg", direction=1,
             threshold_deg=20.0)
ABD = Stretch(id="abduction", name="Side-lying abduction", instructions="", camera="front",
              view="front", measure="hip_abduction_deg", direction=1, threshold_deg=30.0)


ER = Stretch(id="external-rotation", name="Seated external rotation", instructions="",
             camera="front", view="front", measure="rotation_deg", direction=-1,
             threshold_deg=20.0)


@pytest.mark.parametrize(("stretch", "thr", "level"), [
    (IR, 20.0, 20.0),    # IR stretch: IR is up on the rotation axis
    (ER, 20.0, -20.0),   # ER stretch: 20 deg of ER is -20 on the IR-positive axis
    (ABD, 30.0, 30.0),   # other measures are plotted in the stretch direction
    (None, 20.0, None),  # no stretch: no threshold line
    (IR, None, None),
])
def test_convention_threshold_level(stretch: Stretch | None, thr: float | None,
                                    level: float | None) -> None:
    assert threshold_level(stretch, thr) == level


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from the PNG header; asserts the signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def series(n: int = 600) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    t = np.arange(n) / 30.0
    left = 30 * np.sin(t / 4)
    right = -10 * np.sin(t / 3)
    right[100:150] = np.nan  # not measured
    return t, {"left": left, "right": right}


@pytest.mark.parametrize("stretch", [IR, ABD, None])
def test_plot_angles_writes_a_png(tmp_path: Path, stretch: Stretch | None) -> None:
    t, rot = series()
    holds = {"left": [Hold(2.0, 8.0, 29.0, 25.0)], "right": [{"start_s": 12.0, "end_s": 15.0}]}
    measured = {s: v + 5 for s, v in rot.items()}
    path = plot_angles(tmp_path / "plots" / "angles.png", t, rot, measured=measured,
                       holds_by_side=holds, stretch=stretch, title="test")
    w, h = png_size(path)
    assert (w, h) == (1000, 650)
    assert path.stat().st_size > 20_000  # two panels of curves, not a blank canvas


def test_plot_results_from_frame_results(tmp_path: Path) -> None:
    results = []
    for i in range(90):
        t = i / 30
        val = None if i % 10 == 0 else float(i)
        results.append(FrameResult(t=t, pose=PoseFrame(t=t, image_size=(640, 480)),
                                   raw=FrameAngles(t=t), smoothed=FrameAngles(t=t),
                                   measured={"left": val, "right": None},
                                   rotation_deg={"left": val, "right": None}))
    t, rot, measured = series_from_results(results)
    assert t.shape == (90,) and np.isnan(rot["left"][::10]).all()
    assert rot["left"][1] == 1.0 and np.isnan(measured["right"]).all()
    path = plot_results(tmp_path / "angles.png", results, stretch=IR)
    assert png_size(path) == (1000, 650)


def test_plot_angles_rejects_mismatched_arrays(tmp_path: Path) -> None:
    t, rot = series()
    with pytest.raises(ValueError, match="rotation\\['left'\\]"):
        plot_angles(tmp_path / "a.png", t, {"left": rot["left"][:-1]})
    assert not (tmp_path / "a.png").exists()


def test_measured_angle_is_named_in_the_stretch_direction() -> None:
    from dataclasses import replace

    from posecheck.plots import measured_label

    assert measured_label(ABD) == "hip abduction"
    assert measured_label(replace(ABD, direction=-1)) == "hip adduction"  # deep-glute
    assert measured_label(ER) == "hip external rotation"


def _png(tmp_path: Path, name: str, rot: dict, **kw) -> bytes:
    t = np.arange(60) / 30.0
    return plot_angles(tmp_path / name, t, rot, **kw).read_bytes()


def test_a_lone_measured_value_is_drawn_as_a_dot() -> None:
    from matplotlib.figure import Figure

    from posecheck.plots import _line

    t = np.arange(8) / 30.0
    y = np.array([np.nan, 5.0, np.nan, 1.0, 2.0, np.nan, np.nan, -18.0])
    ax = Figure().subplots()
    _line(ax, t, y, "tab:blue", "rotation")
    line, dots = ax.lines  # the line (with its gaps) and the dots a line cannot show
    assert np.array_equal(line.get_ydata(), y, equal_nan=True)
    assert list(dots.get_ydata()) == [5.0, -18.0] and dots.get_marker() == "o"


def test_target_lines_are_drawn_on_both_panels(tmp_path: Path) -> None:
    t, rot = series()
    targets = [(20.0, "IR target 20"), (-25.0, "ER target 25")]
    with_targets = plot_angles(tmp_path / "a.png", t, rot, targets=targets).read_bytes()
    without = plot_angles(tmp_path / "b.png", t, rot).read_bytes()
    assert plot_angles(tmp_path / "c.png", t, rot).read_bytes() == without  # deterministic
    assert with_targets != without
