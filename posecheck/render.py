"""Draw a :class:`posecheck.types.FrameResult` over a video frame (the live view and the
annotated video of ``analyse``).

Renderers compute nothing: every number drawn comes from the ``FrameResult`` (per frame)
or from :class:`OverlayInfo` (context such as the best angle so far or the fps). The only
arithmetic here is layout.

What is drawn: the skeleton with the measured leg highlighted and the hips tagged L/R; per
measured side a panel with the side's name, the current angle in large digits ("--" when
it cannot be measured), a gauge with the target zone, the hold timer with a progress bar and
the best angle; the stretch's name and instruction at the top; the status line, warnings and
notes at the bottom; the fps in the top-right corner; "PAUSED" or a countdown in the centre.

Mirroring (live view): the camera image is flipped horizontally so the user sees a mirror,
the skeleton is drawn with ``x -> W - x`` and every text is drawn unflipped. "LEFT" and
"RIGHT" always name the *body's* sides. Panel placement assumes the person faces the camera:
the body's left appears on the image right in a plain image and on the image left in a
mirrored one, so each side's panel sits on the side where that leg is seen.

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
from functools import lru_cache

import cv2
import numpy as np

from posecheck.landmarks import EDGES, LEG, SIDES
from posecheck.stretches import Stretch
from posecheck.types import FrameResult

FONT = cv2.FONT_HERSHEY_SIMPLEX
AA = cv2.LINE_AA

WHITE = (255, 255, 255)
GREY = (170, 170, 170)
GREEN = (60, 210, 90)
DARK_GREEN = (25, 95, 45)
AMBER = (255, 185, 0)
CYAN = (0, 200, 255)
RED = (255, 90, 80)

# Hershey fonts draw ASCII only: spell out the few non-ASCII characters our texts use.
_ASCII = str.maketrans({"°": " deg", "…": "...", "–": "-", "—": "-", "’": "'", "×": "x",
                        "±": "+/-", "≥": ">=", "≤": "<="})

_MEASURE_LABEL = {
    ("rotation_deg", 1): "IR", ("rotation_deg", -1): "ER",
    ("hip_abduction_deg", 1): "abduction", ("hip_abduction_deg", -1): "adduction",
    ("hip_flexion_deg", 1): "flexion", ("hip_flexion_deg", -1): "extension",
    ("knee_flexion_deg", 1): "knee flexion", ("knee_flexion_deg", -1): "knee extension",
}


@dataclass(frozen=True, slots=True)
class OverlayInfo:
    """Context of the overlay that is not computed per frame.

    - ``stretch``: the stretch shown (None: both rotation stretches, no instruction).
    - ``active_side``: "left", "right" or None (show both sides).
    - ``best_deg``: side -> best measured angle so far (degrees, stretch direction) or None.
    - ``hold_target_s``: hold target in seconds; None uses ``stretch.hold_target_s``.
    - ``fps``: processing rate shown in the corner (None: not shown).
    - ``mirrored``: flip the image like a mirror (live view); labels keep true sides.
    - ``paused``: show "PAUSED"; ``countdown``: seconds left before measuring starts.
    - ``people_note`` / ``sound_note``: extra lines for the bottom banner.
    """

    stretch: Stretch | None = None
    active_side: str | None = None
    best_deg: dict[str, float | None] = field(default_factory=dict)
    hold_target_s: float | None = None
    fps: float | None = None
    mirrored: bool = False
    paused: bool = False
    countdown: float | None = None
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


def ascii_text(text: str) -> str:
    """``text`` made drawable by the Hershey fonts (ASCII only; degree sign -> " deg")."""
    return text.translate(_ASCII).encode("ascii", "replace").decode("ascii")


@lru_cache(maxsize=512)
def _wrap(text: str, scale: float, thickness: int, max_w: int) -> tuple[str, ...]:
    """Greedy word wrap of ``text`` to lines at most ``max_w`` pixels wide."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        trial = f"{line} {word}" if line else word
        if line and cv2.getTextSize(trial, FONT, scale, thickness)[0][0] > max_w:
            lines.append(line)
            line = word
        else:
            line = trial
    if line:
        lines.append(line)
    return tuple(lines)


def _shade(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, keep: float = 0.4) -> None:
    """Darken a rectangle in place (keep = fraction of the original brightness)."""
    h, w = img.shape[:2]
    x0, x1 = max(0, x0), min(w, x1)
    y0, y1 = max(0, y0), min(h, y1)
    if x1 > x0 and y1 > y0:
        roi = img[y0:y1, x0:x1]
        cv2.convertScaleAbs(roi, dst=roi, alpha=keep)


class Annotator:
    """Draws the overlay; style in the constructor, ``annotate`` per frame.

    ``font_scale`` multiplies every text size (1.0 = sized for the image: fonts scale with
    ``min(W, H) / 480``). ``min_visibility``: landmarks below it are not drawn.
    ``gauge_deg``: (low, high) range of the gauge in degrees (stretch direction); None
    picks ``(-15, max(45, 2 * threshold))``.
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

    # ------------------------------------------------------------------ public
    def annotate(self, image_rgb: np.ndarray, result: FrameResult,
                 info: OverlayInfo) -> np.ndarray:
        """A new RGB image: ``image_rgb`` (mirrored if ``info.mirrored``) with the overlay."""
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image_rgb.shape} "
                             f"{image_rgb.dtype}")
        # both branches copy: the caller's image is never drawn on
        img = np.ascontiguousarray(image_rgb[:, ::-1]) if info.mirrored else image_rgb.copy()
        ctx = _Ctx(img, self.font_scale)
        self._skeleton(ctx, result, info)
        top = self._top_banner(ctx, info)
        bottom = self._bottom_banner(ctx, result, info)
        self._panels(ctx, result, info, top, bottom)
        self._centre(ctx, info)
        return img

    # ------------------------------------------------------------------ skeleton
    def _skeleton(self, ctx: _Ctx, result: FrameResult, info: OverlayInfo) -> None:
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
                cv2.line(ctx.img, _pt(pts[a]), _pt(pts[b]), self.skeleton_color, thin, AA)
        for side in info.sides:
            color = self.holding_color if result.holding.get(side) else self.leg_color
            chain = [LEG[side][k] for k in ("hip", "knee", "ankle", "toe")]
            for a, b in itertools.pairwise(chain):
                if ok[a] and ok[b]:
                    cv2.line(ctx.img, _pt(pts[a]), _pt(pts[b]), color, thick, AA)
        for i in np.flatnonzero(ok):
            cv2.circle(ctx.img, _pt(pts[i]), max(2, round(3 * ctx.s)), WHITE, -1, AA)
        self._hip_tags(ctx, pts, ok)

    def _hip_tags(self, ctx: _Ctx, pts: np.ndarray, ok: np.ndarray) -> None:
        """Write L and R beside the hips, on the outer side of each (true body sides)."""
        lh, rh = LEG["left"]["hip"], LEG["right"]["hip"]
        if not (ok[lh] and ok[rh]):
            return
        for side, idx, other in (("L", lh, rh), ("R", rh, lh)):
            out = 1.0 if pts[idx, 0] >= pts[other, 0] else -1.0
            tw = ctx.size(side, 0.6, 2)[0]
            x = pts[idx, 0] + out * 8 * ctx.s - (tw if out < 0 else 0)
            # above the hip: a seated thigh seen from the front hides the space below it
            ctx.text(side, int(x), int(pts[idx, 1] - 8 * ctx.s), 0.6, AMBER, 2, outline=True)

    # ------------------------------------------------------------------ banners
    def _top_banner(self, ctx: _Ctx, info: OverlayInfo) -> int:
        """Stretch name, instruction and fps; returns the banner's bottom y."""
        w = ctx.img.shape[1]
        pad = ctx.pad
        fps = f"{info.fps:.0f} fps" if info.fps is not None else ""
        fps_w = ctx.size(fps, 0.5, 1)[0] + 2 * pad if fps else 0
        lines: list[tuple[str, float, int, tuple[int, int, int]]] = []
        if info.stretch is not None:
            name = ascii_text(info.stretch.name)
            lines.append((name, 0.75, 2, WHITE))
            for line in ctx.wrap(ascii_text(info.stretch.instructions), 0.55, 1,
                                 w - 2 * pad - fps_w)[:2]:
                lines.append((line, 0.55, 1, (225, 225, 225)))
        if not lines:
            if fps:
                tw, th = ctx.size(fps, 0.5, 1)
                _shade(ctx.img, w - tw - 2 * pad, 0, w, th + 2 * pad)
                ctx.text(fps, w - tw - pad, th + pad, 0.5, GREY, 1)
            return 0
        bottom = ctx.block(lines, 0, 0, w)
        if fps:
            tw, th = ctx.size(fps, 0.5, 1)
            ctx.text(fps, w - tw - pad, th + pad, 0.5, GREY, 1)
        return bottom

    def _bottom_banner(self, ctx: _Ctx, result: FrameResult, info: OverlayInfo) -> int:
        """Status, warnings and notes at the bottom; returns the banner's top y."""
        h, w = ctx.img.shape[:2]
        width = w - 2 * ctx.pad
        lines: list[tuple[str, float, int, tuple[int, int, int]]] = []
        if result.status:
            lines += [(x, 0.7, 2, WHITE) for x in ctx.wrap(ascii_text(result.status), 0.7, 2,
                                                            width)]
        # the status often is the first warning ("step back: ..."): say it once
        warnings = [w_ for w_ in result.warnings if w_.text != result.status]
        for warn in warnings[:3]:
            lines += [(x, 0.6, 2, AMBER) for x in ctx.wrap("! " + ascii_text(warn.text), 0.6, 2,
                                                            width)[:2]]
        for note in (info.people_note, info.sound_note):
            if note:
                lines += [(x, 0.5, 1, GREY) for x in ctx.wrap(ascii_text(note), 0.5, 1, width)]
        if not lines:
            return h
        lines = lines[:6]
        height = ctx.block_height(lines)
        ctx.block(lines, h - height, 0, w)
        return h - height

    # ------------------------------------------------------------------ side panels
    def _panels(self, ctx: _Ctx, result: FrameResult, info: OverlayInfo, top: int,
                bottom: int) -> None:
        w = ctx.img.shape[1]
        pw = min(int(w * 0.45), max(int(w * 0.30), int(190 * ctx.s)))
        y = top + ctx.pad
        for side in info.sides:
            on_left = (side == "left") == info.mirrored
            x = ctx.pad if on_left else w - pw - ctx.pad
            self._panel(ctx, result, info, side, x, y, pw, bottom)

    def _panel(self, ctx: _Ctx, r: FrameResult, info: OverlayInfo, side: str, x: int, y: int,
               pw: int, bottom: int) -> None:
        """One side: name, big angle, gauge, hold bar, best angle."""
        s, pad = ctx.s, ctx.pad
        value = r.measured.get(side)
        holding = bool(r.holding.get(side))
        _, big_h = ctx.size("0", 1.9, 3)
        _, lab_h = ctx.size("L", 0.6, 2)
        _, sm_h = ctx.size("0", 0.5, 1)
        bar_h = max(6, round(12 * s))
        ph = pad + lab_h + pad + big_h + 2 * pad + bar_h + 2 * pad + sm_h + pad + bar_h + pad
        ph += sm_h + pad
        if y + ph > bottom:  # not enough room: draw over the banner rather than off-image
            y = max(0, bottom - ph)
        _shade(ctx.img, x, y, x + pw, y + ph, keep=0.35)
        cy = y + pad + lab_h
        ctx.text(side.upper(), x + pad, cy, 0.6, WHITE, 2)
        unit = _MEASURE_LABEL.get((info.stretch.measure, info.stretch.direction), "") \
            if info.stretch is not None else "rotation"
        if unit:
            uw = ctx.size(unit, 0.5, 1)[0]
            ctx.text(unit, x + pw - pad - uw, cy, 0.5, GREY, 1)
        cy += pad + big_h
        self._big_value(ctx, value, holding, x + pad, cy)
        cy += 2 * pad
        self._gauge(ctx, value, info, x + pad, cy, pw - 2 * pad, bar_h)
        cy += bar_h + 2 * pad + sm_h
        self._hold(ctx, r, info, side, x + pad, cy, pw - 2 * pad, bar_h)

    def _big_value(self, ctx: _Ctx, value: float | None, holding: bool, x: int, y: int) -> None:
        """The current angle in large digits with a drawn degree sign; "--" when None."""
        if value is None or not math.isfinite(value):
            ctx.text("--", x, y, 1.9, GREY, 3)
            return
        text = f"{value:.0f}"
        color = self.holding_color if holding else WHITE
        tw, th = ctx.size(text, 1.9, 3)
        ctx.text(text, x, y, 1.9, color, 3)
        r = max(3, round(th * 0.14))
        cv2.circle(ctx.img, (x + tw + r + round(3 * ctx.s), y - th + r), r, color,
                   max(1, round(2 * ctx.s)), AA)

    def _gauge_range(self, info: OverlayInfo) -> tuple[float, float]:
        if self.gauge_deg is not None:
            return self.gauge_deg
        thr = info.stretch.threshold_deg if info.stretch is not None else 20.0
        return -15.0, max(45.0, 2.0 * thr)

    def _gauge(self, ctx: _Ctx, value: float | None, info: OverlayInfo, x: int, y: int,
               width: int, height: int) -> None:
        """Horizontal bar: target zone (threshold and deeper) in green, zero tick, marker."""
        lo, hi = self._gauge_range(info)

        def px(v: float) -> int:
            return x + round((min(max(v, lo), hi) - lo) / (hi - lo) * width)

        cv2.rectangle(ctx.img, (x, y), (x + width, y + height), (70, 70, 70), -1)
        if info.stretch is not None:
            cv2.rectangle(ctx.img, (px(info.stretch.threshold_deg), y), (x + width, y + height),
                          DARK_GREEN, -1)
            cv2.line(ctx.img, (px(info.stretch.threshold_deg), y - 2),
                     (px(info.stretch.threshold_deg), y + height + 2), GREEN, 2)
        cv2.line(ctx.img, (px(0.0), y), (px(0.0), y + height), GREY, 1)
        if value is not None and math.isfinite(value):
            mx = px(value)
            d = max(4, round(height * 0.6))
            tri = np.array([[mx, y + height], [mx - d, y + height + d + 2],
                            [mx + d, y + height + d + 2]], np.int32)
            cv2.rectangle(ctx.img, (mx - 2, y - 2), (mx + 2, y + height + 2), WHITE, -1)
            cv2.fillConvexPoly(ctx.img, tri, WHITE, AA)

    def _hold(self, ctx: _Ctx, r: FrameResult, info: OverlayInfo, side: str, x: int, y: int,
              width: int, height: int) -> None:
        """Hold timer text, progress bar toward the target, best angle below."""
        elapsed = r.hold_elapsed.get(side, 0.0) or 0.0
        target = info.target_s
        holding = bool(r.holding.get(side))
        label = f"hold {elapsed:.0f} / {target:.0f} s" if target else f"hold {elapsed:.0f} s"
        ctx.text(label, x, y, 0.5, WHITE if holding else GREY, 1)
        by = y + ctx.pad
        cv2.rectangle(ctx.img, (x, by), (x + width, by + height), (70, 70, 70), -1)
        if target and elapsed > 0:
            frac = min(1.0, elapsed / target)
            color = GREEN if frac >= 1.0 else (self.holding_color if holding else GREY)
            cv2.rectangle(ctx.img, (x, by), (x + round(frac * width), by + height), color, -1)
        best = info.best_deg.get(side)
        best_txt = f"best {best:.0f} deg" if best is not None else "best --"
        ctx.text(best_txt, x, by + height + ctx.pad + ctx.size("0", 0.5, 1)[1], 0.5, GREY, 1)

    # ------------------------------------------------------------------ centre
    def _centre(self, ctx: _Ctx, info: OverlayInfo) -> None:
        """"PAUSED" or the countdown, large, in the middle of the image."""
        if info.paused:
            text, scale = "PAUSED", 2.0
        elif info.countdown is not None and info.countdown > 0:
            text, scale = str(math.ceil(info.countdown)), 4.0
        else:
            return
        h, w = ctx.img.shape[:2]
        tw, th = ctx.size(text, scale, 4)
        x, y = (w - tw) // 2, (h + th) // 2
        _shade(ctx.img, x - ctx.pad * 2, y - th - ctx.pad * 2, x + tw + ctx.pad * 2,
               y + ctx.pad * 2, keep=0.3)
        ctx.text(text, x, y, scale, WHITE, 4)


class _Ctx:
    """Per-image drawing helpers with fonts scaled to the image size."""

    def __init__(self, img: np.ndarray, font_scale: float) -> None:
        self.img = img
        self.s = min(img.shape[0], img.shape[1]) / 480.0 * font_scale
        self.pad = max(3, round(7 * self.s))

    def _thick(self, thickness: int) -> int:
        return max(1, round(thickness * self.s))

    def size(self, text: str, scale: float, thickness: int) -> tuple[int, int]:
        """(width, height) in pixels of ``text`` at a base scale (scaled for the image)."""
        (tw, th), _ = cv2.getTextSize(text, FONT, scale * self.s, self._thick(thickness))
        return tw, th

    def wrap(self, text: str, scale: float, thickness: int, max_w: int) -> tuple[str, ...]:
        """``text`` wrapped to ``max_w`` pixels at a base scale."""
        return _wrap(text, round(scale * self.s, 3), self._thick(thickness), max_w)

    def text(self, text: str, x: int, y: int, scale: float, color: tuple[int, int, int],
             thickness: int, *, outline: bool = False) -> None:
        """Draw ``text`` with its baseline-left at (x, y); ``outline`` adds a dark edge."""
        t = self._thick(thickness)
        if outline:
            cv2.putText(self.img, text, (x, y), FONT, scale * self.s, (0, 0, 0), t + 2, AA)
        cv2.putText(self.img, text, (x, y), FONT, scale * self.s, color, t, AA)

    def block_height(self, lines: list[tuple[str, float, int, tuple[int, int, int]]]) -> int:
        """Height of a banner holding ``lines`` (text, scale, thickness, colour)."""
        return self.pad + sum(self.size("Ag", sc, th)[1] + self.pad for _, sc, th, _ in lines)

    def block(self, lines: list[tuple[str, float, int, tuple[int, int, int]]], y: int,
              x0: int, x1: int) -> int:
        """Draw a shaded banner from y with ``lines``; returns its bottom y."""
        bottom = y + self.block_height(lines)
        _shade(self.img, x0, y, x1, bottom)
        cy = y + self.pad
        for text, sc, th, color in lines:
            cy += self.size("Ag", sc, th)[1]
            self.text(text, x0 + self.pad, cy, sc, color, th)
            cy += self.pad
        return bottom


def _pt(p: np.ndarray) -> tuple[int, int]:
    return round(float(p[0])), round(float(p[1]))
