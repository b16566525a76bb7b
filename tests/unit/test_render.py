"""The overlay renderer: it draws, mirrors like a mirror, keeps true left/right labels."""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from skeleton import Camera, LegPose, make_pose

from posecheck.canvas import CYAN, ascii_text
from posecheck.gauge import gauge_range
from posecheck.render import Annotator, OverlayInfo
from posecheck.stretches import Stretch
from posecheck.types import FrameAngles, FrameResult, PoseFrame, SideAngles, Warning_

W, H = 640, 480

STRETCH = Stretch(
    id="internal-rotation", name="Seated internal rotation",
    instructions="Sit tall, knees at 90 degrees. Swing the foot out to the side.",
    camera="front, at knee height", view="front", measure="rotation_deg", direction=1,
    threshold_deg=20.0, hold_target_s=30.0,
)


def make_result(size: tuple[int, int] = (W, H), *, measured: dict | None = None,
                holding: dict | None = None, pose: bool = True) -> FrameResult:
    """A seated, front-facing person: left hip IR 25 deg, right 5 deg."""
    if pose:
        pf = make_pose(left=LegPose(hip_flex=90, knee_flex=90, rot=25),
                       right=LegPose(hip_flex=90, knee_flex=90, rot=5),
                       camera=Camera(image_size=size), posture="seated")
    else:
        pf = PoseFrame(t=3.0, image_size=size)
    a = FrameAngles(t=3.0, left=SideAngles(rotation_deg=25.0, confidence=0.9),
                    right=SideAngles(rotation_deg=5.0, confidence=0.9))
    return FrameResult(
        t=3.0, pose=pf, raw=a, smoothed=a,
        measured=measured if measured is not None else {"left": 25.0, "right": None},
        holding=holding if holding is not None else {"left": False, "right": False},
        hold_elapsed={"left": 12.0, "right": 0.0},
        warnings=(Warning_("pelvis", "Keep both sit bones on the chair."),),
        status="left: hold it... 12 / 30 s",
    )


def gradient(w: int = W, h: int = H) -> np.ndarray:
    """An RGB image whose every column differs (so a flip is visible)."""
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 255 // w, y * 255 // h, np.full_like(x, 90)], -1).astype(np.uint8)


def cyan_mean_x(img: np.ndarray) -> float:
    """Mean column of the highlighted-leg colour (the measured leg, not holding)."""
    mask = np.all(img == np.array(CYAN, np.uint8), axis=2)
    assert mask.sum() > 50, "the measured leg was not drawn"
    return float(np.nonzero(mask)[1].mean())


def test_annotate_returns_new_image_and_leaves_input_alone() -> None:
    img = gradient()
    before = img.copy()
    out = Annotator().annotate(img, make_result(), OverlayInfo(stretch=STRETCH, fps=30.0))
    assert out.shape == img.shape and out.dtype == np.uint8
    assert out is not img
    np.testing.assert_array_equal(img, before)
    # the overlay covers a real part of the image (banners, panels, skeleton)
    changed = np.any(out != img, axis=2).mean()
    assert 0.15 < changed < 0.9


def test_png_written_and_overlay_regions_drawn(tmp_path: Path) -> None:
    img = np.full((H, W, 3), 128, np.uint8)
    out = Annotator().annotate(img, make_result(), OverlayInfo(stretch=STRETCH, fps=29.7))
    png = tmp_path / "overlay.png"
    assert cv2.imwrite(str(png), cv2.cvtColor(out, cv2.COLOR_RGB2BGR))
    back = cv2.cvtColor(cv2.imread(str(png)), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(back, out)
    # top banner (instruction), bottom banner (status) and the right-hand panel (the body's
    # LEFT side, image right when not mirrored) are darkened boxes with text
    for region in (out[:40, :], out[-40:, :], out[100:250, W - 180:W - 20]):
        assert (region < 100).mean() > 0.3
    # the centre below the head, between the panels, is mostly the untouched background
    middle = out[300:380, 240:400]
    assert (middle == 128).all(axis=2).mean() > 0.6


def test_mirrored_view_flips_image_and_keeps_true_sides() -> None:
    img = gradient()
    res = make_result()
    plain = Annotator().annotate(img, res, OverlayInfo(stretch=STRETCH, active_side="left"))
    mirrored = Annotator().annotate(img, res, OverlayInfo(stretch=STRETCH, active_side="left",
                                                          mirrored=True))
    # background: a patch away from every overlay is the flipped camera image
    np.testing.assert_array_equal(mirrored[380:405, :30], img[380:405, ::-1][:, :30])
    np.testing.assert_array_equal(plain[380:405, :30], img[380:405, :30])
    # the body's left leg (highlighted) is on the image right in the plain view (the person
    # faces the camera) and on the left in the mirror, at x -> W - x
    x_plain, x_mirror = cyan_mean_x(plain), cyan_mean_x(mirrored)
    assert x_plain > W / 2 > x_mirror
    assert x_mirror == pytest.approx(W - 1 - x_plain, abs=2.0)
    # the one (large) LEFT panel sits opposite the leg, never over it: image left when
    # plain, image right when mirrored
    def dark(a: np.ndarray) -> float:
        return float((a < 60).mean())

    assert dark(plain[110:240, 20:170]) > 0.3 > dark(plain[110:240, W - 170:W - 20])
    assert dark(mirrored[110:240, W - 170:W - 20]) > 0.3 > dark(mirrored[110:240, 20:170])


def test_text_is_not_mirrored() -> None:
    """The top banner text reads the same in the mirrored and the plain view."""
    img = np.full((H, W, 3), 128, np.uint8)
    res = make_result(pose=False)
    info = OverlayInfo(stretch=STRETCH)
    plain = Annotator().annotate(img, res, info)
    mirrored = Annotator().annotate(img, res, OverlayInfo(stretch=STRETCH, mirrored=True))
    np.testing.assert_array_equal(plain[:60], mirrored[:60])
    assert not np.array_equal(plain[:60], plain[:60, ::-1])


@pytest.mark.parametrize("missing", [None, math.nan])
def test_unmeasurable_value_shows_dashes_never_a_number(missing: float | None) -> None:
    img = np.full((H, W, 3), 128, np.uint8)
    ann = Annotator()
    info = OverlayInfo(stretch=STRETCH, active_side="left")
    none = ann.annotate(img, make_result(measured={"left": None}), info)
    other = ann.annotate(img, make_result(measured={"left": missing}), info)
    v25 = ann.annotate(img, make_result(measured={"left": 25.0}), info)
    v26 = ann.annotate(img, make_result(measured={"left": 26.0}), info)
    np.testing.assert_array_equal(none, other)  # NaN is drawn exactly like None ("--")
    assert not np.array_equal(v25, v26)  # the digits are drawn from the value
    assert not np.array_equal(none, v25)


def test_holding_leg_changes_colour() -> None:
    img = np.full((H, W, 3), 128, np.uint8)
    info = OverlayInfo(stretch=STRETCH, active_side="left")
    idle = Annotator().annotate(img, make_result(), info)
    holding = Annotator().annotate(img, make_result(holding={"left": True}), info)
    assert np.all(idle == np.array(CYAN, np.uint8), axis=2).sum() > 50
    assert np.all(holding == np.array(CYAN, np.uint8), axis=2).sum() == 0


def test_no_pose_no_stretch_paused_countdown() -> None:
    img = np.full((H, W, 3), 128, np.uint8)
    res = make_result(pose=False, measured={})
    bare = Annotator().annotate(img, res, OverlayInfo())
    paused = Annotator().annotate(img, res, OverlayInfo(paused=True))
    count = Annotator().annotate(img, res, OverlayInfo(countdown=2.4))
    centre = (slice(H // 2 - 20, H // 2 + 20), slice(W // 2 - 60, W // 2 + 60))
    assert not np.array_equal(bare[centre], paused[centre])
    assert not np.array_equal(bare[centre], count[centre])
    assert not np.array_equal(paused[centre], count[centre])


def test_portrait_1080x1920_scales_text(tmp_path: Path) -> None:
    info = OverlayInfo(stretch=STRETCH, fps=30.0, mirrored=True,
                       people_note="2 people in view: following the one in the centre")

    def render(size: tuple[int, int]) -> np.ndarray:
        img = np.full((size[1], size[0], 3), 128, np.uint8)
        return Annotator().annotate(img, make_result(size, pose=False), info)

    def banner_bottom(a: np.ndarray) -> int:
        """First row where the centre strip (between the panels) is background again."""
        w = a.shape[1]
        strip = a[:, int(w * 0.4):int(w * 0.6)]
        return int(np.argmax((strip == 128).all(axis=(1, 2))))

    tall, small = render((1080, 1920)), render((W, H))
    assert cv2.imwrite(str(tmp_path / "portrait.png"), cv2.cvtColor(tall, cv2.COLOR_RGB2BGR))
    # fonts scale with min(W, H) / 480 (= 2.25 here): the top banner grows accordingly
    assert banner_bottom(tall) > 2.0 * banner_bottom(small) > 0
    # and the bottom banner (status, warning, note) stays inside the image
    assert (tall[-20:, :, 0] < 100).mean() > 0.5


def test_ascii_text_spells_out_degree_sign() -> None:
    assert ascii_text("stretch to 20° and hold…") == "stretch to 20 deg and hold..."


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"font_scale": 0}, "font_scale"),
    ({"min_visibility": 1.5}, "min_visibility"),
    ({"gauge_deg": (10.0, -10.0)}, "gauge_deg"),
])
def test_annotator_rejects_bad_style(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        Annotator(**kwargs)


def test_bad_inputs_rejected() -> None:
    with pytest.raises(ValueError, match="active_side"):
        OverlayInfo(active_side="middle")
    with pytest.raises(ValueError, match="uint8 RGB"):
        Annotator().annotate(np.zeros((H, W), np.uint8), make_result(), OverlayInfo())


def test_a_warning_that_is_the_status_is_shown_once() -> None:
    from dataclasses import replace

    img = np.full((H, W, 3), 128, np.uint8)
    text = "Step back: knees and ankles must be visible."
    said_once = replace(make_result(pose=False, measured={}), status=text, warnings=())
    also_warned = replace(said_once, warnings=(Warning_("not_visible", text),))
    other = replace(said_once, warnings=(Warning_("pelvis", "Keep both sit bones down."),))
    a, b, c = (Annotator().annotate(img, r, OverlayInfo()) for r in
               (said_once, also_warned, other))
    assert np.array_equal(a, b)  # the same text is not drawn a second time
    assert not np.array_equal(a, c)  # a different warning is


# ------------------------------------------------------------------ readable from the chair
WINDOWS = [(1280, 800), (640, 400)]  # a laptop's full-screen window and a small one


def _texts(ann: Annotator) -> list[str]:
    return [b[4] for b in ann.boxes]


@pytest.mark.parametrize("size", WINDOWS)
def test_live_overlay_at_window_sizes_stays_inside_and_is_large(size: tuple[int, int],
                                                                tmp_path: Path) -> None:
    from posecheck.stretches import load_catalogue

    w, h = size
    stretch = load_catalogue()["internal-rotation"]
    ann = Annotator()
    info = OverlayInfo(stretch=stretch, active_side="left", mirrored=True, fps=30.0,
                       best_deg={"left": 21.0}, people_note="2 people in view")
    out = ann.annotate(np.full((h, w, 3), 110, np.uint8),
                       make_result(size, measured={"left": -16.0, "right": None}), info)
    assert cv2.imwrite(str(tmp_path / f"live-{w}x{h}.png"), cv2.cvtColor(out, cv2.COLOR_RGB2BGR))
    assert ann.boxes
    for x0, y0, x1, y1, text in ann.boxes:  # no text box leaves the window
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h, (text, (x0, y0, x1, y1))
    boxes = {b[4]: b for b in ann.boxes}
    angle = boxes["-16°"]
    hold = boxes["12 / 30 s"]
    assert angle[3] - angle[1] >= h / 6  # the angle's digits >= 1/6 of the window height
    assert hold[3] - hold[1] >= h / 12  # the hold timer >= 1/12
    assert "best 21°" in boxes  # one unit sign: "°", never "deg"
    assert not any("deg" in t for t in boxes)


@pytest.mark.parametrize("size", WINDOWS)
@pytest.mark.parametrize("sid", ["internal-rotation", "external-rotation", "deep-glute"])
def test_every_word_of_the_instructions_is_shown_during_setup(size: tuple[int, int],
                                                              sid: str) -> None:
    from dataclasses import replace

    from posecheck.render import PAGE_S
    from posecheck.stretches import load_catalogue

    w, h = size
    stretch = load_catalogue()[sid]
    info = OverlayInfo(stretch=stretch, active_side="right", mirrored=True)
    shown: list[str] = []
    for page in range(8):  # the pages follow one another every PAGE_S seconds
        ann = Annotator()
        r = replace(make_result(size), t=page * PAGE_S + 0.5)
        ann.annotate(np.full((h, w, 3), 110, np.uint8), r, info)
        for x0, y0, x1, y1, text in ann.boxes:
            assert x0 >= 0 and x1 <= w and y0 >= 0 and y1 <= h, text
        shown += _texts(ann)
    words = " ".join(shown).split()
    for word in stretch.instructions.split() + stretch.name.split():
        assert word in words, word


def test_without_a_stretch_rotation_is_named_in_words_and_best_updates() -> None:
    img = np.full((H, W, 3), 128, np.uint8)
    res = make_result()
    res = FrameResult(t=res.t, pose=res.pose, raw=res.raw, smoothed=res.smoothed,
                      measured={"left": -16.0, "right": 23.0},
                      rotation_deg={"left": -16.0, "right": 23.0},
                      holding={"left": False, "right": False},
                      hold_elapsed={"left": 0.0, "right": 0.0}, status="")
    ann = Annotator()
    ann.annotate(img, res, OverlayInfo(best_rotation={"left": (4.0, 16.0),
                                                      "right": (23.0, None)}))
    texts = _texts(ann)
    assert "16°" in texts and "23°" in texts  # magnitudes, the direction in words
    assert "external rotation" in texts and "internal rotation" in texts
    assert "best IR 4°  ER 16°" in texts and "best IR 23°  ER --" in texts
    assert not any(t.startswith("-") for t in texts if t.endswith("°"))
    # the gauge has a degree scale naming both directions
    assert any(t.endswith(" ER") for t in texts) and any(t.endswith(" IR") for t in texts)


def test_gauge_extends_instead_of_pinning_a_value_at_its_edge() -> None:
    targets = OverlayInfo().rotation_targets
    lo, hi = gauge_range(STRETCH, targets, -16.0)
    assert lo < -16.0 - 2 and hi >= 45.0
    lo, hi = gauge_range(STRETCH, targets, 70.0)
    assert hi > 70.0 + 2
