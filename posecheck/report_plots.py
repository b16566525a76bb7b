"""Trend plots of one person's progress: peak angle and total hold per session over time.

Per side, points of the compared stretch of sessions (:func:`posecheck.report.trend`) are
joined by a line, with the first session ± the minimal detectable change shaded; sessions of
an earlier camera set-up are drawn as grey points without a line, and a dashed vertical line
marks where the set-up changed. The time axis spans the data, in local time.

Conventions: degrees in the stretch's direction (up = deeper); seconds. matplotlib (Agg) is
imported inside the functions; must not import mediapipe or cv2.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from posecheck.mdc import DEFAULT_MDC_DEG
from posecheck.outputs import atomic_write_bytes
from posecheck.report import Point, Series, SetupChange, build_series, setup_segments, trend
from posecheck.store_records import SIDES, SessionRecord, local_time, zone_label

if TYPE_CHECKING:
    from matplotlib.figure import Figure

SIDE_COLOURS = {"left": "#1f77b4", "right": "#d95f02"}
SIDE_MARKERS = {"left": "o", "right": "s"}
MIN_PAD = timedelta(minutes=20)


def _x(when: datetime) -> datetime:
    """Plot coordinate: local wall-clock time (naive), so the axis reads in local time."""
    return local_time(when).replace(tzinfo=None)


def time_limits(times: Sequence[datetime]) -> tuple[datetime, datetime]:
    """The x-axis range: the data's span plus 5 % each side (at least 20 minutes)."""
    lo, hi = min(times), max(times)
    pad = max((hi - lo) * 0.05, MIN_PAD)
    return _x(lo - pad), _x(hi + pad)


def changes_within(series: Series, stretch: str, changes: Sequence[SetupChange]
                   ) -> list[SetupChange]:  # fmt: skip
    """The set-up changes that fall inside one stretch's sessions."""
    segs = [p.segment for pts in series[stretch].values() for p in pts]
    return [c for c in changes if segs and min(segs) < c.segment <= max(segs)]


def trend_figure(series: Series, stretch: str, label: str | None = None,
                 changes: Sequence[SetupChange] = ()) -> Figure:  # fmt: skip
    """Peak angle and total hold over time for one stretch (two panels); a dashed line
    halfway between the two sessions around each camera set-up change."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8.4, 5.2), layout="constrained")
    angle_ax, hold_ax = fig.subplots(2, 1, sharex=True)
    name = label or stretch
    for side, points in sorted(series[stretch].items()):
        t = trend(points)
        _plot_side(angle_ax, hold_ax, side, t.points, t.earlier,
                   t.stats.mdc.value_deg if t.stats else DEFAULT_MDC_DEG)  # fmt: skip
    for change in changes_within(series, stretch, changes):
        when = change.before + (change.after - change.before) / 2
        for ax in (angle_ax, hold_ax):
            ax.axvline(_x(when), color="#555", ls="--", lw=1)
        angle_ax.annotate("camera set-up changed", (_x(when), 1.0),
                          xycoords=("data", "axes fraction"), xytext=(3, -12),
                          textcoords="offset points", fontsize=8, color="#555")
    angle_ax.set_title(f"{name}: deepest angle per session", loc="left", fontsize=11)
    angle_ax.set_ylabel("peak (degrees)")
    hold_ax.set_title(f"{name}: total time held in the stretch", loc="left", fontsize=11)
    hold_ax.set_ylabel("held (seconds)")
    holds = [p.hold_s for pts in series[stretch].values() for p in pts if p.hold_s is not None]
    hold_ax.set_ylim(0, max([10.0, *holds]) * 1.15)
    angle_ax.margins(y=0.2)
    times = [p.when for pts in series[stretch].values() for p in pts]
    hold_ax.set_xlim(*time_limits(times))
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    hold_ax.xaxis.set_major_locator(locator)
    hold_ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    hold_ax.set_xlabel(f"date (local time, {zone_label(times)})")
    for ax in (angle_ax, hold_ax):
        ax.grid(alpha=0.3)
    fig.legend(handles=_legend_handles(), loc="outside upper center", ncols=4, fontsize=8,
               frameon=False)  # fmt: skip
    return fig


def _legend_handles() -> list[Any]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [
        Line2D([], [], color=SIDE_COLOURS[side], marker=SIDE_MARKERS[side], label=f"{side} hip")
        for side in SIDES
    ]
    handles.append(Line2D([], [], color="grey", marker="o", markerfacecolor="white", ls="",
                          label="interrupted session"))  # fmt: skip
    handles.append(Patch(color="grey", alpha=0.15, label="first compared session ± MDC95"))
    return handles


def _plot_side(angle_ax: Any, hold_ax: Any, side: str, points: Sequence[Point],
               earlier: Sequence[Point], mdc: float) -> None:  # fmt: skip
    colour, marker = SIDE_COLOURS.get(side, "grey"), SIDE_MARKERS.get(side, "^")
    old = [p for p in earlier if p.peak_deg is not None]
    if old:
        angle_ax.scatter([_x(p.when) for p in old], [p.peak_deg for p in old], marker=marker,
                         s=28, color="#bbb", zorder=2)  # fmt: skip
    measured = [p for p in points if p.peak_deg is not None]
    if measured:
        base = float(measured[0].peak_deg or 0.0)
        xs = [_x(p.when) for p in measured]
        if len(xs) > 1:  # the band spans the compared sessions only
            angle_ax.fill_between([xs[0], xs[-1]], base - mdc, base + mdc, color=colour,
                                  alpha=0.10, lw=0)  # fmt: skip
        else:
            angle_ax.axhspan(base - mdc, base + mdc, color=colour, alpha=0.08, lw=0)
        angle_ax.plot(xs, [p.peak_deg for p in measured], "-", color=colour, lw=1.5)
        _markers(angle_ax, measured, [p.peak_deg for p in measured], colour, marker)
    held = [p for p in (*earlier, *points) if p.hold_s is not None]
    if held:
        hold_ax.plot([_x(p.when) for p in held], [p.hold_s for p in held], "-", color=colour,
                     lw=1.2)  # fmt: skip
        _markers(hold_ax, held, [p.hold_s for p in held], colour, marker)


def _markers(ax: Any, points: Sequence[Point], values: Sequence[float | None], colour: str,
             marker: str) -> None:  # fmt: skip
    """Filled markers for complete sessions, hollow for interrupted ones."""
    for done in (True, False):
        chosen = [(_x(p.when), v) for p, v in zip(points, values, strict=True)
                  if p.interrupted != done]  # fmt: skip
        if chosen:
            ax.scatter(*zip(*chosen, strict=True), marker=marker, s=36, zorder=3,
                       color=colour if done else "white", edgecolors=colour)  # fmt: skip


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """A matplotlib figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def slug(text: str) -> str:
    """A file-name-safe version of a stretch id or name."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "stretch"


def write_pngs(sessions: Sequence[SessionRecord], target: Path) -> list[Path]:
    """Write one person's trend plots: ``trend_<stretch>.png`` per stretch into a directory,
    or, when ``target`` ends in ``.png``, the stretches one below the other in that file."""
    series = build_series(sessions)
    if not series:
        return []
    _, changes = setup_segments(sessions)
    stretches = sorted(series)
    if target.suffix.lower() == ".png":
        target.parent.mkdir(parents=True, exist_ok=True)
        figures = [trend_figure(series, s, changes=changes) for s in stretches]
        atomic_write_bytes(target, _stacked_png(figures))
        return [target]
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for stretch in stretches:
        path = target / f"trend_{slug(stretch)}.png"
        atomic_write_bytes(path, figure_png(trend_figure(series, stretch, changes=changes)))
        written.append(path)
    return written


def _stacked_png(figures: list[Figure]) -> bytes:
    """Several figures one below the other in one PNG."""
    import matplotlib.image as mpimg
    import numpy as np

    images = [mpimg.imread(io.BytesIO(figure_png(f)), format="png") for f in figures]
    width = max(i.shape[1] for i in images)
    padded = [np.pad(i, ((0, 0), (0, width - i.shape[1]), (0, 0)), constant_values=1.0)
              for i in images]  # fmt: skip
    buf = io.BytesIO()
    mpimg.imsave(buf, np.vstack(padded), format="png")
    return buf.getvalue()
