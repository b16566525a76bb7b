"""Plots of a session: hip angles over time per side (``angles.png``).

The plotting function takes plain arrays (time and per-side angle series), so it does not
depend on how they were computed; :func:`series_from_results` extracts them from
``FrameResult`` objects.

Convention: degrees, seconds. Hip rotation positive = internal rotation (IR, plotted up),
negative = external rotation (ER, down). A stretch's threshold is in its direction
(deeper = larger): on the rotation axis an IR stretch's threshold is drawn at
``+threshold`` and an ER stretch's at ``-threshold``.

matplotlib is imported inside the functions (object API with the Agg canvas: no pyplot,
no global backend change); must not import cv2 or mediapipe.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from posecheck.landmarks import SIDES
from posecheck.outputs import atomic_write_bytes
from posecheck.stretches import Stretch
from posecheck.types import FrameResult, Hold

_MEASURE_NAME = {"rotation_deg": "hip rotation", "hip_abduction_deg": "hip abduction",
                 "hip_flexion_deg": "hip flexion", "knee_flexion_deg": "knee flexion"}
# what a measure is called in a stretch whose direction is -1 (a smaller angle is deeper)
_OPPOSITE_NAME = {"rotation_deg": "hip external rotation", "hip_abduction_deg": "hip adduction",
                  "hip_flexion_deg": "hip extension", "knee_flexion_deg": "knee extension"}


def measured_label(stretch: Stretch) -> str:
    """The legend name of a stretch's measured angle, in its direction (deeper = larger):
    e.g. "hip adduction" for a stretch measuring abduction with direction -1."""
    names = _MEASURE_NAME if stretch.direction > 0 else _OPPOSITE_NAME
    return names.get(stretch.measure, stretch.measure)


def _nan(v: float | None) -> float:
    return np.nan if v is None else float(v)


def series_from_results(results: Sequence[FrameResult]
                        ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(t, rotation per side, measured per side) as float arrays, NaN = not measured.

    Rotation is the neutral-corrected ``FrameResult.rotation_deg`` (IR positive); measured is
    the stretch's value in its direction.
    """
    t = np.array([r.t for r in results], dtype=float)
    rotation = {s: np.array([_nan(r.rotation_deg.get(s)) for r in results]) for s in SIDES}
    measured = {s: np.array([_nan(r.measured.get(s)) for r in results]) for s in SIDES}
    return t, rotation, measured


def threshold_level(stretch: Stretch | None, threshold_deg: float | None) -> float | None:
    """Where the entry threshold is drawn, degrees on the plotted axis (None: not drawn).

    Rotation stretches are drawn on the rotation axis (IR positive), so the threshold, which
    is in the stretch's direction, becomes ``direction * threshold``: +20 for an IR stretch,
    -20 for an ER stretch. Other measures are drawn in their stretch direction: +threshold.
    """
    if stretch is None or threshold_deg is None:
        return None
    if stretch.measure == "rotation_deg":
        return stretch.direction * threshold_deg
    return threshold_deg


def _hold_span(h: Hold | Mapping[str, Any]) -> tuple[float, float]:
    if isinstance(h, Hold):
        return h.start_s, h.end_s
    return float(h["start_s"]), float(h["end_s"])


def plot_angles(
    path: str | os.PathLike[str],
    t: Sequence[float] | np.ndarray,
    rotation: Mapping[str, Sequence[float] | np.ndarray],
    *,
    measured: Mapping[str, Sequence[float] | np.ndarray] | None = None,
    holds_by_side: Mapping[str, Sequence[Hold | Mapping[str, Any]]] | None = None,
    threshold_deg: float | None = None,
    stretch: Stretch | None = None,
    title: str = "",
    targets: Sequence[tuple[float, str]] | None = None,
    neutral_deg: Mapping[str, float] | None = None,
) -> Path:
    """Draw the angles over time, one panel per side, and save a PNG atomically.

    ``t``: (N,) seconds. ``rotation``: side -> (N,) hip rotation, degrees, IR positive,
    NaN where not measured. ``measured``: side -> (N,) the stretch's measured angle in its
    direction; drawn only when the stretch measures something other than rotation.
    ``holds_by_side``: side -> holds (:class:`Hold` or summary dicts with start_s/end_s),
    shaded. ``threshold_deg`` (default: the stretch's) is drawn as a dashed line when a
    stretch is given; ``targets`` instead draws these ``(level on the plotted axis, label)``
    lines (e.g. the IR and the ER targets of a run without a stretch). ``neutral_deg``:
    side -> the neutral offset already subtracted from ``rotation`` (the plot then says
    "neutral-corrected" and names the offset); None: the values are uncorrected. Returns
    ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t_arr = np.asarray(t, dtype=float)
    for side, series in rotation.items():
        if np.shape(series) != t_arr.shape:
            raise ValueError(f"rotation[{side!r}] has shape {np.shape(series)}, "
                             f"expected {t_arr.shape} like t")
    thr = threshold_deg if threshold_deg is not None else (
        stretch.threshold_deg if stretch is not None else None)
    level = threshold_level(stretch, thr)
    if targets is None:
        targets = [] if level is None or thr is None else [(level, f"target {thr:.0f}\u00b0")]
    # fixed margins: a layout engine costs ~0.1 s a plot, as much as drawing it
    fig = Figure(figsize=(10, 6.5), dpi=100)
    fig.subplots_adjust(left=0.075, right=0.94, bottom=0.08, top=0.86, hspace=0.22)
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 1, sharex=True)
    for ax, side in zip(axes, SIDES, strict=True):
        _side_panel(ax, side, t_arr, rotation.get(side),
                    None if measured is None else measured.get(side),
                    (holds_by_side or {}).get(side, ()), targets, stretch,
                    None if neutral_deg is None else neutral_deg.get(side, 0.0))
    axes[-1].set_xlabel("time (s)")
    _figure_legend(fig, axes)
    fig.suptitle(title or (stretch.name if stretch is not None else "Hip rotation"),
                 fontsize=13, x=0.01, ha="left")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return atomic_write_bytes(path, buf.getvalue())


def _side_panel(ax: Any, side: str, t: np.ndarray, rotation: Any, measured: Any,
                holds: Sequence[Hold | Mapping[str, Any]],
                targets: Sequence[tuple[float, str]], stretch: Stretch | None,
                neutral: float | None = None) -> None:
    """One side's panel: rotation (and measured) lines, holds, threshold, IR/ER labels;
    ``neutral``: the offset subtracted (None: uncorrected values)."""
    for i, h in enumerate(holds):
        a, b = _hold_span(h)
        ax.axvspan(a, b, color="tab:green", alpha=0.15, label="hold" if i == 0 else None)
    ax.axhline(0.0, color="0.4", lw=0.8)
    if rotation is not None:
        what = "neutral-corrected" if neutral is not None else "uncorrected"
        _line(ax, t, rotation, "tab:blue", f"hip rotation, {what} (IR +, ER \u2212)")
    other = stretch is not None and stretch.measure != "rotation_deg"
    if other and measured is not None:
        _line(ax, t, measured, "tab:orange", f"{measured_label(stretch)} (deeper +)"
              + (", neutral-corrected" if neutral is not None else ""))
    for (level, label), colour in zip(targets, ("tab:red", "tab:purple"), strict=False):
        ax.axhline(level, color=colour, ls="--", lw=1.2, label=label)
    # label the zero line: internal rotation above it, external below
    tr = ax.get_yaxis_transform()
    ax.text(1.005, 0.0, "IR \u2191", transform=tr, va="bottom", fontsize=9, color="0.25")
    ax.text(1.005, 0.0, "ER \u2193", transform=tr, va="top", fontsize=9, color="0.25")
    note = (f"  (neutral reference {neutral:+.1f}\u00b0 subtracted)"
            if neutral is not None and neutral != 0.0 else "")
    ax.set_title(f"{side.capitalize()} hip{note}", loc="left", fontsize=11)
    ax.set_ylabel("angle (deg)" if other else "hip rotation (deg)")
    ax.grid(True, alpha=0.3)


def _line(ax: Any, t: np.ndarray, values: Any, colour: str, label: str) -> None:
    """A series as a line, NaN = gap; a value with gaps on both sides (a line cannot
    show it) as a dot, so every measured value is visible."""
    y = np.asarray(values, float)
    ax.plot(t, y, color=colour, lw=1.6, label=label)
    ok = np.isfinite(y)
    before = np.concatenate([[False], ok[:-1]])
    after = np.concatenate([ok[1:], [False]])
    alone = ok & ~before & ~after
    if alone.any():
        ax.plot(t[alone], y[alone], "o", color=colour, ms=3.5)


def _figure_legend(fig: Any, axes: Sequence[Any]) -> None:
    """One legend above the panels (so it never hides a curve), each label once."""
    seen: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    if seen:
        fig.legend(list(seen.values()), list(seen.keys()), loc="upper right",
                   bbox_to_anchor=(0.995, 0.995), ncols=min(len(seen), 3), fontsize=10,
                   frameon=False)


def plot_results(path: str | os.PathLike[str], results: Sequence[FrameResult], *,
                 holds_by_side: Mapping[str, Sequence[Hold | Mapping[str, Any]]] | None = None,
                 threshold_deg: float | None = None, stretch: Stretch | None = None,
                 title: str = "") -> Path:
    """:func:`plot_angles` of a list of :class:`FrameResult`."""
    t, rotation, measured = series_from_results(results)
    return plot_angles(path, t, rotation, measured=measured, holds_by_side=holds_by_side,
                       threshold_deg=threshold_deg, stretch=stretch, title=title)
