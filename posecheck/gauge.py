"""The gauge of a side panel: a horizontal bar with a degree scale, the target zone(s) and
a marker at the current value (drawn by :class:`posecheck.render.Annotator`).

Convention: degrees; with a stretch the value is its measure in its direction (positive =
deeper into the stretch) and the zone starts at its threshold; without one the value is hip
rotation (positive = internal rotation) with an IR zone to the right and an ER zone to the
left, and the scale is unsigned with the ends labelled IR / ER. Imports cv2 and numpy.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from posecheck.canvas import AA, DARK_GREEN, GREEN, GREY, WHITE, Canvas
from posecheck.stretches import Stretch


def gauge_range(stretch: Stretch | None, rotation_targets: tuple[float, float],
                value: float | None,
                fixed: tuple[float, float] | None = None) -> tuple[float, float]:
    """(low, high) of the gauge in degrees: ``fixed`` when given; else one holding the
    target zone (of ``stretch``, or both rotation ``rotation_targets`` (IR, ER) without
    one) and ``value``, which is never pinned at an edge."""
    if fixed is not None:
        return fixed
    if stretch is None:
        ir, er = rotation_targets
        lo = -5.0 * math.ceil(max(30.0, 1.5 * er) / 5.0)
        hi = 5.0 * math.ceil(max(30.0, 1.5 * ir) / 5.0)
    else:
        lo, hi = -15.0, max(45.0, 2.0 * stretch.threshold_deg)
    if value is not None and math.isfinite(value):  # never pinned at an edge
        lo = min(lo, 15.0 * math.floor((value - 5.0) / 15.0))
        hi = max(hi, 15.0 * math.ceil((value + 5.0) / 15.0))
    return lo, hi

def draw_gauge(ctx: Canvas, value: float | None, stretch: Stretch | None,
               rotation_targets: tuple[float, float], x: int, y: int, width: int, height: int,
               text_h: float, *, fixed: tuple[float, float] | None = None) -> None:
    """Horizontal bar with a degree scale: target zone(s) in green, zero, marker.

    ``value`` in degrees (the stretch's direction positive; without a stretch, hip
    rotation, positive = IR); ``(x, y)`` the bar's top-left, ``width`` x ``height`` pixels;
    ``text_h`` the scale's text height (x 0.8); ``fixed``: see :func:`gauge_range`."""
    lo, hi = gauge_range(stretch, rotation_targets, value, fixed)

    def px(v: float) -> int:
        return x + round((min(max(v, lo), hi) - lo) / (hi - lo) * width)

    cv2.rectangle(ctx.img, (x, y), (x + width, y + height), (70, 70, 70), -1)
    zones: list[tuple[float, float, float]] = []  # (from, to, threshold line)
    if stretch is not None:
        thr = stretch.threshold_deg
        zones.append((thr, hi, thr))
    else:
        ir, er = rotation_targets
        zones += [(ir, hi, ir), (lo, -er, -er)]
    for a, b, line in zones:
        cv2.rectangle(ctx.img, (px(a), y), (px(b), y + height), DARK_GREEN, -1)
        cv2.line(ctx.img, (px(line), y - 2), (px(line), y + height + 2), GREEN, 2)
    cv2.line(ctx.img, (px(0.0), y), (px(0.0), y + height), GREY, 1)
    # the scale: the ends, zero and the thresholds, in degrees
    small = text_h * 0.8
    ticks = list(dict.fromkeys([lo, hi, 0.0, *(z[2] for z in zones)]))  # by priority
    label_y = y + height + round(small) + ctx.pad // 2
    taken: list[tuple[int, int]] = []
    for v in ticks:
        label = f"{v:.0f}"
        if stretch is None:  # rotation both ways: unsigned, the ends say which way
            label = f"{abs(v):.0f}" + (" ER" if v == lo else " IR" if v == hi else "")
        tw = ctx.width(label, small, False)
        lx = min(max(px(v) - tw // 2, x), x + width - tw)
        gap = ctx.pad // 2
        if all(lx + tw + gap < a or lx > b + gap for a, b in taken):
            ctx.text(label, lx, label_y, small, GREY)
            taken.append((lx, lx + tw))
    if value is not None and math.isfinite(value):
        mx = px(value)
        d = max(4, round(height * 0.6))
        tri = np.array([[mx, y], [mx - d, y - d - 2], [mx + d, y - d - 2]], np.int32)
        cv2.rectangle(ctx.img, (mx - 2, y - 2), (mx + 2, y + height + 2), WHITE, -1)
        cv2.fillConvexPoly(ctx.img, tri, WHITE, AA)
