"""Draw a :class:`posecheck.types.FrameResult` over a video frame (the live view and the
annotated video of ``analyse``).

Renderers compute nothing: every number drawn comes from the ``FrameResult`` (per frame)
or from :class:`OverlayInfo` (context such as the best angle so far or the fps). The only
arithmetic here is layout.

What is drawn: the skeleton with the measured leg highlighted and the hips tagged L/R; per
measured side a panel with the side's name, the current angle in large digits ("--" when
it cannot be measured) with its direction in words, a gauge with a degree scale and the
target zone, the hold timer with a progress bar and the best angle; the stretch's name and
its instructions (wrapped, and paged every ``PAGE_S`` seconds when they do not fit, so every
word is shown) at the top; the status line, warnings and notes at the bottom; the fps in the
top-right corner; "PAUSED" or a countdown in the centre.

Layout is relative to the image, which in the live view *is* the window (the frame is
scaled to the window before drawing): the angle's digits are at least 1/6 of the image
height and the hold timer at least 1/12 (less only where the image is too narrow for them,
e.g. two panels side by side on a portrait video), so both read from a chair 2 m from a
laptop screen. Every text drawn is recorded in ``Annotator.boxes`` (tests check that none
leaves the image). One unit sign everywhere: "°" (OpenCV 5 draws Unicode text; with an
older OpenCV, whose Hershey fonts are ASCII only, it is spelled " deg").

Mirroring (live view): the camera image is flipped horizontally so the user sees a mirror,
the skeleton is drawn with ``x -> W - x`` and every text is drawn unflipped. "LEFT" and
"RIGHT" always name the *body's* sides. Panel placement assumes the person faces the camera:
the body's left appears on the image right in a plain image and on the image left in a
mirrored one, so with both sides shown each side's panel sits on the side where that leg
is seen; the one large panel of the live view (one side) sits on the other side, so that
it never covers the measured leg.

Convention: degrees; the big number is the stretch's measured value in its direction
(positive = deeper into the stretch, see :class:`posecheck.stretches.Stretch`); for the
rotation stretches that is IR (internal-rotation stretch) or ER (external-rotation stretch).

Images are (H, W, 3) uint8 RGB; colours below are RGB. Imports cv2 and numpy; must not
import mediapipe.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from posecheck.canvas import (
    AA,
    AMBER,
    CYAN,
    DEG,
    GREEN,
    GREY,
    WHITE,
    Canvas,
    Line,
    drawable,
    pt,
    shade,
)
from posecheck.gauge import draw_gauge
from posecheck.landmarks import EDGES, LEG, SIDES
from posecheck.stretches import Stretch
from posecheck.types import FrameResult

_MEASURE_LABEL = {
    ("rotation_deg", 1): "internal rotation", ("rotation_deg", -1): "external rotation",
    ("hip_abduction_deg", 1): "abduction", ("hip_abduction_deg", -1): "adduction",
    ("hip_flexion_deg", 1): "flexion", ("hip_flexion_deg", -1): "extension",
    ("knee_flexion_deg", 1): "knee flexion", ("knee_flexion_deg", -1): "knee extension",
}

#: Sizes as fractions of the image height (digits' cap height).
ANGLE_H = 0.19      # the big angle (>= 1/6)
HOLD_H = 0.095      # the hold timer (>= 1/12)
TEXT_H = 0.036      # instructions, labels, best
NAME_H = 0.045      # the stretch's name
STATUS_H = 0.045    # the status line
NOTE_H = 0.032      # warnings and notes
PAGE_S = 6.0        # seconds an instruction page is shown before the next
TOP_MAX = 0.34      # the top banner's share of the height, at most
DEFAULT_TARGETS = (20.0, 25.0)  # IR and ER entry thresholds when no stretch is given


@dataclass(frozen=True, slots=True)
class OverlayInfo:
    """Context of the overlay that is not computed per frame.

    - ``stretch``: the stretch shown (None: hip rotation, both directions, no instruction).
    - ``active_side``: "left", "right" or None (show both sides).
    - ``best_deg``: side -> best measured angle so far (degrees, stretch direction) or None.
    - ``best_rotation``: without a stretch, side -> (best IR, best ER) so far, degrees >= 0.
    - ``rotation_targets``: without a stretch, the (IR, ER) entry thresholds, degrees.
    - ``hold_s``: side -> seconds into the current hold of any stretch (None: the shown
      stretch's, from the frame result); a side in it counts as holding when > 0.
    - ``hold_target_s``: hold target in seconds; None uses ``stretch.hold_target_s``.
    - ``fps``: processing rate shown in the corner (None: not shown).
    - ``mirrored``: flip the image like a mirror (live view); labels keep true sides.
    - ``paused``: show "PAUSED"; ``countdown``: seconds left before measuring starts.
    - ``instructions``: show the stretch's instructions (live: during set-up); else its name.
    - ``people_note`` / ``sound_note``: extra lines for the bottom banner.
    """

    stretch: Stretch | None = None
    active_side: str | None = None
    best_deg: dict[str, float | None] = field(default_factory=dict)
    best_rotation: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    rotation_targets: tuple[float, float] = DEFAULT_TARGETS
    hold_s: dict[str, float] | None = None
    hold_target_s: float | None = None
    fps: float | None = None
    mirrored: bool = False
    paused: bool = False
    countdown: float | None = None
    instructions: bool = True
    people_note: str | None = None
    sound_note: str | None = None

    def __post_init__(self) -> None:
        if self.active_side is not None and self.active_side not in SIDES:
            raise ValueError(f"active_side must be 'left', 'right' or None, "
                             f"got {self.active_side!r}")

    @property
    def target_s(self) -> float | None:
        """The hold target in seconds, or None when there is none."""
        if self.hold_target_s is not None:
            return self.hold_target_s
        return self.stretch.hold_target_s if self.stretch is not None else None

    @property
    def sides(self) -> tuple[str, ...]:
        """The sides to show."""
        return (self.active_side,) if self.active_side else SIDES


class Annotator:
    """Draws the overlay; style in the constructor, ``annotate`` per frame.

    ``font_scale`` multiplies every text size (1.0 = the sizes of the module constants).
    ``min_visibility``: landmarks below it are not drawn. ``gauge_deg``: (low, high) range
    of the gauge in degrees; None picks one that holds the target zone and the value.
    After :meth:`annotate`, ``boxes`` lists every text drawn as (x0, y0, x1, y1, text).
    """

    def __init__(self, *, font_scale: float = 1.0, min_visibility: float = 0.5,
                 gauge_deg: tuple[float, float] | None = None,
                 skeleton_color: tuple[int, int, int] = (225, 225, 225),
                 leg_color: tuple[int, int, int] = CYAN,
                 holding_color: tuple[int, int, int] = GREEN) -> None:
        if font_scale <= 0:
            raise ValueError(f"font_scale must be > 0, got {font_scale}")
        if not 0.0 <= min_visibility <= 1.0:
            raise ValueError(f"min_visibility must be in 0..1, got {min_visibility}")
        if gauge_deg is not None and not gauge_deg[0] < gauge_deg[1]:
            raise ValueError(f"gauge_deg must be (low, high) with low < high, got {gauge_deg}")
        self.font_scale = font_scale
        self.min_visibility = min_visibility
        self.gauge_deg = gauge_deg
        self.skeleton_color = skeleton_color
        self.leg_color = leg_color
        self.holding_color = holding_color
        self.boxes: list[tuple[int, int, int, int, str]] = []

    # ------------------------------------------------------------------ public
    def annotate(self, image_rgb: np.ndarray, result: FrameResult,
                 info: OverlayInfo) -> np.ndarray:
        """A new RGB image: ``image_rgb`` (mirrored if ``info.mirrored``) with the overlay."""
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image_rgb.shape} "
                             f"{image_rgb.dtype}")
        # both branches copy: the caller's image is never drawn on
        img = np.ascontiguousarray(image_rgb[:, ::-1]) if info.mirrored else image_rgb.copy()
        ctx = Canvas(img, self.font_scale)
        self._skeleton(ctx, result, info)
        top = self._top_banner(ctx, result, info)
        bottom = self._bottom_banner(ctx, result, info)
        self._panels(ctx, result, info, top, bottom)
        self._centre(ctx, info)
        self.boxes = ctx.boxes
        return img

    # ------------------------------------------------------------------ skeleton
    def _skeleton(self, ctx: Canvas, result: FrameResult, info: OverlayInfo) -> None:
        lm = result.pose.landmarks
        if lm is None:
            return
        h, w = ctx.img.shape[:2]
        xs = lm[:, 0] * w
        xs = w - xs if info.mirrored else xs
        pts = np.stack([xs, lm[:, 1] * h], axis=1)
        ok = (lm[:, 3] >= self.min_visibility) & np.isfinite(pts).all(axis=1)
        thin, thick = max(1, round(2 * ctx.s)), max(2, round(5 * ctx.s))
        for a, b in EDGES:
            if ok[a] and ok[b]:
                cv2.line(ctx.img, pt(pts[a]), pt(pts[b]), self.skeleton_color, thin, AA)
        for side in info.sides:
            color = self.holding_color if result.holding.get(side) else self.leg_color
            chain = [LEG[side][k] for k in ("hip", "knee", "ankle", "toe")]
            for a, b in itertools.pairwise(chain):
                if ok[a] and ok[b]:
                    cv2.line(ctx.img, pt(pts[a]), pt(pts[b]), color, thick, AA)
        for i in np.flatnonzero(ok):
            cv2.circle(ctx.img, pt(pts[i]), max(2, round(3 * ctx.s)), WHITE, -1, AA)
        self._hip_tags(ctx, pts, ok)

    def _hip_tags(self, ctx: Canvas, pts: np.ndarray, ok: np.ndarray) -> None:
        """Write L and R beside the hips, on the outer side of each (true body sides)."""
        lh, rh = LEG["left"]["hip"], LEG["right"]["hip"]
        if not (ok[lh] and ok[rh]):
            return
        height = ctx.h(TEXT_H)
        for side, idx, other in (("L", lh, rh), ("R", rh, lh)):
            out = 1.0 if pts[idx, 0] >= pts[other, 0] else -1.0
            tw = ctx.width(side, height, True)
            x = pts[idx, 0] + out * 8 * ctx.s - (tw if out < 0 else 0)
            # above the hip: a seated thigh seen from the front hides the space below it
            ctx.text(side, int(x), int(pts[idx, 1] - 8 * ctx.s), height, AMBER, bold=True,
                     outline=True)

    # ------------------------------------------------------------------ banners
    def _top_banner(self, ctx: Canvas, result: FrameResult, info: OverlayInfo) -> int:
        """Stretch name and instructions (paged) and the fps; returns the banner's bottom."""
        w, h = ctx.w, ctx.img.shape[0]
        pad = ctx.pad
        fps = f"{info.fps:.0f} fps" if info.fps is not None else ""
        small = ctx.h(NOTE_H)
        fps_w = ctx.width(fps, small, False) + 2 * pad if fps else 0
        width = w - 2 * pad - fps_w
        lines: list[Line] = []
        if info.stretch is not None:
            name_h, text_h = ctx.h(NAME_H), ctx.h(TEXT_H)
            name = ctx.wrap(drawable(info.stretch.name), name_h, True, width)
            lines += [(x, name_h, True, WHITE) for x in name]
            if info.instructions and info.stretch.instructions.strip():
                text = ctx.wrap(drawable(info.stretch.instructions), text_h, False, width)
                room = int(h * TOP_MAX) - ctx.block_height(lines)
                # room for the page number line too when the text needs pages
                per_page = max(1, (room - pad) // (ctx.line_h(text_h) + pad))
                if per_page < len(text):
                    per_page = max(1, (room - 2 * pad - ctx.line_h(small)) //
                                   (ctx.line_h(text_h) + pad))
                pages = [text[i:i + per_page] for i in range(0, len(text), per_page)]
                page = int(result.t // PAGE_S) % len(pages) if len(pages) > 1 else 0
                lines += [(x, text_h, False, (225, 225, 225)) for x in pages[page]]
                if len(pages) > 1:
                    left = math.ceil(PAGE_S - result.t % PAGE_S)
                    lines.append((f"(page {page + 1}/{len(pages)}, next in {left} s)", small,
                                  False, GREY))
        if not lines:
            if fps:
                th = ctx.line_h(small)
                shade(ctx.img, w - fps_w, 0, w, th + 2 * pad)
                ctx.text(fps, w - fps_w + pad, pad + round(small), small, GREY)
            return 0
        bottom = ctx.block(lines, 0, 0, w)
        if fps:
            ctx.text(fps, w - fps_w + pad, pad + round(small), small, GREY)
        return bottom

    def _bottom_banner(self, ctx: Canvas, result: FrameResult, info: OverlayInfo) -> int:
        """Status, warnings and notes at the bottom; returns the banner's top y."""
        h, w = ctx.img.shape[:2]
        width = w - 2 * ctx.pad
        for shrink in (1.0, 0.85, 0.7, 0.6):  # smaller text before any line is dropped
            lines = self._bottom_lines(ctx, result, info, width, shrink)
            if ctx.block_height(lines) <= 0.3 * h:
                break
        status_lines = sum(1 for *_, color in lines if color == WHITE)
        while len(lines) > status_lines and ctx.block_height(lines) > 0.3 * h:
            lines.pop()  # the least important last: notes, then warnings; never the status
        if not lines:
            return h
        height = ctx.block_height(lines)
        ctx.block(lines, h - height, 0, w)
        return h - height

    @staticmethod
    def _bottom_lines(ctx: Canvas, result: FrameResult, info: OverlayInfo, width: int,
                      shrink: float) -> list[Line]:
        status_h, note_h = ctx.h(STATUS_H) * shrink, ctx.h(NOTE_H) * shrink
        lines: list[Line] = []
        if result.status:
            lines += [(x, status_h, True, WHITE)
                      for x in ctx.wrap(drawable(result.status), status_h, True, width)]
        # the status often is the first warning ("step back: ..."): say it once
        warnings = [w_ for w_ in result.warnings if w_.text != result.status]
        for warn in warnings[:2]:
            lines += [(x, note_h, True, AMBER)
                      for x in ctx.wrap("! " + drawable(warn.text), note_h, True, width)]
        for note in (info.people_note, info.sound_note):
            if note:
                lines += [(x, note_h, False, GREY)
                          for x in ctx.wrap(drawable(note), note_h, False, width)]
        return lines

    # ------------------------------------------------------------------ side panels
    def _panels(self, ctx: Canvas, result: FrameResult, info: OverlayInfo, top: int,
                bottom: int) -> None:
        w = ctx.w
        both = len(info.sides) > 1  # analyse: both sides, the legs between the panels
        pw = int(w * (0.32 if both else 0.45))
        for side in info.sides:
            on_left = (side == "left") == info.mirrored  # where that leg is seen
            if not both:
                on_left = not on_left  # one large panel: beside the leg, never over it
            x = ctx.pad if on_left else w - pw - ctx.pad
            self._panel(ctx, result, info, side, x, top + ctx.pad, pw, bottom - ctx.pad,
                        0.6 if both else 1.0)

    def _panel_sizes(self, ctx: Canvas, pw: int, room: int, size: float = 1.0
                     ) -> tuple[float, float, float]:
        """(angle, hold, text) heights in pixels for a panel ``pw`` wide and at most ``room``
        high: the module's sizes (times ``size``), smaller only where the width or the room
        is short."""
        pad = ctx.pad
        angle, hold = ctx.h(ANGLE_H) * size, ctx.h(HOLD_H) * size
        text = ctx.h(TEXT_H) * max(size, 0.8)
        # "-45°" beside its labels and "88 / 30 s" must fit the panel's width
        angle *= min(1.0, (pw - 2 * pad) / max(1, ctx.width(f"-45{DEG}", angle, True)))
        hold *= min(1.0, (pw - 2 * pad) / max(1, ctx.width("88 / 30 s hold", hold, True)))
        text = min(text, hold * 0.6)
        height = self._panel_height(ctx, angle, hold, text, self._beside(ctx, pw, angle, text))
        if height > room:  # short of room: shrink everything alike, down to 60 %
            f = max(0.6, room / height)
            angle, hold, text = angle * f, hold * f, text * f
        return angle, hold, text

    @staticmethod
    def _beside(ctx: Canvas, pw: int, angle: float, text: float) -> bool:
        """Whether the side, direction and best fit beside the digits (else below them)."""
        label_w = max(ctx.width(t, text, False) for t in ("external rotation",
                                                          f"best IR 88{DEG}  ER 88{DEG}"))
        return ctx.width(f"-45{DEG}", angle, True) + label_w + 3 * ctx.pad <= pw

    @staticmethod
    def _panel_height(ctx: Canvas, angle: float, hold: float, text: float, beside: bool) -> int:
        pad, bar = ctx.pad, max(6, round(angle * 0.12))
        labels = 0 if beside else 3 * (ctx.line_h(text) + pad // 2)
        return (2 * pad + round(angle) + labels + 2 * pad + bar + ctx.line_h(text * 0.8)
                + 2 * pad + round(hold) + pad + bar + pad)

    def _panel(self, ctx: Canvas, r: FrameResult, info: OverlayInfo, side: str, x: int, y: int,
               pw: int, bottom: int, size: float = 1.0) -> None:
        """One side: big angle with the side, its direction in words and the best beside
        it; the gauge with its scale; the hold timer with its bar."""
        pad = ctx.pad
        angle_h, hold_h, text_h = self._panel_sizes(ctx, pw, bottom - y, size)
        bar_h = max(6, round(angle_h * 0.12))
        beside = self._beside(ctx, pw, angle_h, text_h)
        ph = self._panel_height(ctx, angle_h, hold_h, text_h, beside)
        if y + ph > bottom:  # still short of room: over the banner rather than off-image
            y = max(0, min(ctx.img.shape[0], bottom) - ph)
        shade(ctx.img, x, y, x + pw, y + ph, keep=0.35)
        value, word = self._value(r, info, side)
        cy = y + 2 * pad + round(angle_h)
        end = self._big_value(ctx, value, bool(r.holding.get(side)), x + pad, cy, angle_h)
        # side, direction in words, best: right-aligned beside the digits, else below them
        col = [(f"{side.upper()} hip", WHITE, True), (word, GREY, False),
               (self._best_text(info, side), GREY, False)]
        line = ctx.line_h(text_h) + pad // 2
        ty = y + 2 * pad + round(text_h) if beside else cy + pad + round(text_h)
        for text, color, bold in col:
            if text:
                tw = ctx.width(text, text_h, bold)
                tx = max(x + pw - pad - tw, end + pad) if beside else x + pad
                ctx.text(text, tx, ty, text_h, color, bold=bold)
            ty += line
        if not beside:
            cy += 3 * line
        cy += 2 * pad
        draw_gauge(ctx, self._gauge_value(r, info, side), info.stretch, info.rotation_targets,
                   x + pad, cy, pw - 2 * pad, bar_h, text_h, fixed=self.gauge_deg)
        cy += bar_h + ctx.line_h(text_h * 0.8) + 2 * pad + round(hold_h)
        self._hold(ctx, r, info, side, x + pad, cy, pw - 2 * pad, bar_h, hold_h, text_h)

    def _value(self, r: FrameResult, info: OverlayInfo, side: str
               ) -> tuple[float | None, str]:
        """The number in large digits and its direction in words."""
        if info.stretch is not None:
            word = _MEASURE_LABEL.get((info.stretch.measure, info.stretch.direction), "")
            return r.measured.get(side), word
        rot = r.rotation_deg.get(side)
        if rot is None or not math.isfinite(rot):
            return None, "hip rotation"
        return abs(rot), ("internal rotation" if rot >= 0 else "external rotation")

    def _gauge_value(self, r: FrameResult, info: OverlayInfo, side: str) -> float | None:
        return r.measured.get(side) if info.stretch is not None else r.rotation_deg.get(side)

    def _big_value(self, ctx: Canvas, value: float | None, holding: bool, x: int, y: int,
                   height: float) -> int:
        """The current angle in large digits; "--" when None. Returns the text's right end."""
        if value is None or not math.isfinite(value):
            text, color = "--", GREY
        else:
            text, color = f"{value:.0f}{DEG}", self.holding_color if holding else WHITE
        ctx.text(text, x, y, height, color, bold=True)
        return x + ctx.width(text, height, True)

    def _hold(self, ctx: Canvas, r: FrameResult, info: OverlayInfo, side: str, x: int, y: int,
              width: int, height: int, hold_h: float, text_h: float) -> None:
        """Hold timer (large) and its progress bar toward the target."""
        if info.hold_s is not None:
            elapsed = info.hold_s.get(side, 0.0)
            holding = elapsed > 0
        else:
            elapsed = r.hold_elapsed.get(side, 0.0) or 0.0
            holding = bool(r.holding.get(side))
        target = info.target_s if info.stretch is not None or info.hold_target_s else None
        label = f"{elapsed:.0f} / {target:.0f} s" if target else f"{elapsed:.0f} s"
        ctx.text(label, x, y, hold_h, WHITE if holding else GREY, bold=True)
        hw = ctx.width(label, hold_h, True)
        if hw + ctx.pad + ctx.width("hold", text_h, False) <= width:
            ctx.text("hold", x + hw + ctx.pad, y, text_h, GREY)
        by = y + ctx.pad
        cv2.rectangle(ctx.img, (x, by), (x + width, by + height), (70, 70, 70), -1)
        if target and elapsed > 0:
            frac = min(1.0, elapsed / target)
            color = GREEN if frac >= 1.0 else (self.holding_color if holding else GREY)
            cv2.rectangle(ctx.img, (x, by), (x + round(frac * width), by + height), color, -1)

    @staticmethod
    def _best_text(info: OverlayInfo, side: str) -> str:
        def deg(v: float | None) -> str:
            return "--" if v is None else f"{v:.0f}{DEG}"

        if info.stretch is None:
            ir, er = info.best_rotation.get(side, (None, None))
            return f"best IR {deg(ir)}  ER {deg(er)}"
        return f"best {deg(info.best_deg.get(side))}"

    # ------------------------------------------------------------------ centre
    def _centre(self, ctx: Canvas, info: OverlayInfo) -> None:
        """"PAUSED" or the countdown, large, in the middle of the image."""
        if info.paused:
            text, height = "PAUSED", ctx.h(0.12)
        elif info.countdown is not None and info.countdown > 0:
            text, height = str(math.ceil(info.countdown)), ctx.h(0.3)
        else:
            return
        h, w = ctx.img.shape[:2]
        height = min(height, height * 0.8 * w / max(1, ctx.width(text, height, True)))
        tw, th = ctx.width(text, height, True), round(height)
        x, y = (w - tw) // 2, (h + th) // 2
        p2 = ctx.pad * 2
        shade(ctx.img, x - p2, y - th - p2, x + tw + p2, y + p2, keep=0.3)
        ctx.text(text, x, y, height, WHITE, bold=True)
