"""Progress over time: trends, changes beyond measurement noise, left-right asymmetry.

``build_series(sessions)`` turns stored sessions into per stretch x side series;
``series_stats`` says how a series changed and whether the change exceeds the minimal
detectable change (:mod:`posecheck.mdc`); ``render_html`` writes a self-contained page
(plots embedded as base64 PNG) and ``write_pngs`` the trend plots alone.

Conventions: angles in degrees; the trend follows ``peak_measured_deg``, the peak of the
stretch's measured angle in its own direction (deeper = larger, so up is better for both
internal- and external-rotation stretches); IR/ER magnitudes are >= 0; hold times in seconds.

Every piece of user-provided text (source names, stretch ids from user TOMLs) goes through
:func:`html.escape`. matplotlib (Agg backend) is imported only inside the plotting
functions; must not import mediapipe or cv2.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from posecheck.mdc import DEFAULT_MDC_DEG, DEFAULT_MDC_SOURCE, Mdc, choose_mdc, is_real_change
from posecheck.outputs import atomic_write_bytes
from posecheck.store import SIDES, SessionRecord

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ASYMMETRY_ATTENTION_DEG = 10.0  # research notes §1.3: side differences above ~10° deserve a look
SIDE_COLOURS = {"left": "#1f77b4", "right": "#d95f02"}
SIDE_MARKERS = {"left": "o", "right": "s"}


@dataclass(frozen=True, slots=True)
class Point:
    """One session's result for one stretch and side (degrees, seconds)."""

    when: datetime
    session_id: int
    peak_deg: float | None  # peak_measured_deg: deeper into the stretch = larger
    hold_s: float | None
    interrupted: bool


@dataclass(frozen=True, slots=True)
class SeriesStats:
    """How one stretch x side changed (degrees; change = later − earlier, + = deeper)."""

    n: int
    first: Point
    previous: Point | None
    latest: Point
    best_deg: float
    change_since_first_deg: float
    change_since_previous_deg: float | None
    mdc: Mdc
    real_since_first: bool
    real_since_previous: bool


Series = dict[str, dict[str, list[Point]]]  # stretch -> side -> points, oldest first


def build_series(sessions: Sequence[SessionRecord]) -> Series:
    """Group stored results by stretch and side, oldest first."""
    series: Series = {}
    for session in sorted(sessions, key=lambda s: (s.started_at, s.id)):
        for r in session.results:
            point = Point(session.started, session.id, r.peak_measured_deg, r.total_hold_s,
                          session.interrupted)  # fmt: skip
            series.setdefault(r.stretch, {}).setdefault(r.side, []).append(point)
    return series


def _days(points: Sequence[Point]) -> list[float]:
    origin = points[0].when
    return [(p.when - origin).total_seconds() / 86400.0 for p in points]


def series_stats(points: Sequence[Point]) -> SeriesStats | None:
    """Change since the first and the previous session, judged against the MDC; None when
    the angle was never measured. Interrupted sessions count like any other."""
    measured = [p for p in points if p.peak_deg is not None]
    if not measured:
        return None
    values = [float(p.peak_deg) for p in measured if p.peak_deg is not None]
    mdc = choose_mdc(_days(measured), values)
    first, latest = measured[0], measured[-1]
    previous = measured[-2] if len(measured) > 1 else None
    since_first = values[-1] - values[0]
    since_prev = None if previous is None else values[-1] - values[-2]
    return SeriesStats(
        n=len(measured), first=first, previous=previous, latest=latest, best_deg=max(values),
        change_since_first_deg=since_first, change_since_previous_deg=since_prev, mdc=mdc,
        real_since_first=len(measured) > 1 and is_real_change(since_first, mdc.value_deg),
        real_since_previous=since_prev is not None and is_real_change(since_prev, mdc.value_deg),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Arc:
    """Largest IR and ER (degrees, >= 0) of one side on its latest day with results."""

    side: str
    day: str  # YYYY-MM-DD, UTC
    internal_deg: float | None
    external_deg: float | None

    @property
    def total_deg(self) -> float | None:
        """Total rotation arc IR + ER, degrees."""
        if self.internal_deg is None or self.external_deg is None:
            return None
        return self.internal_deg + self.external_deg

    @property
    def ratio(self) -> float | None:
        """IR / ER (dimensionless); None when ER is 0 or unknown."""
        if not self.internal_deg or not self.external_deg:
            return None
        return self.internal_deg / self.external_deg


def arc_summary(sessions: Sequence[SessionRecord]) -> list[Arc]:
    """Per side, the largest IR and ER measured on the latest day that side has results
    (over all stretches that day, so do both rotation stretches on the same day)."""
    out = []
    for side in SIDES:
        by_day: dict[str, list[tuple[float | None, float | None]]] = {}
        for s in sessions:
            for r in s.results:
                if r.side == side:
                    day = s.started.strftime("%Y-%m-%d")
                    by_day.setdefault(day, []).append((r.peak_internal_deg, r.peak_external_deg))
        if by_day:
            day = max(by_day)
            ir = [v[0] for v in by_day[day] if v[0] is not None]
            er = [v[1] for v in by_day[day] if v[1] is not None]
            out.append(Arc(side, day, max(ir, default=None), max(er, default=None)))
    return out


# --- plots --------------------------------------------------------------------------------


def trend_figure(series: Series, stretches: Sequence[str]) -> Figure:
    """Peak angle and total hold over time for the given stretches (two rows each)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9.0, 5.6 * len(stretches)), layout="constrained")
    axes = fig.subplots(2 * len(stretches), 1, squeeze=False)[:, 0]
    for i, stretch in enumerate(stretches):
        angle_ax, hold_ax = axes[2 * i], axes[2 * i + 1]
        for side, points in sorted(series[stretch].items()):
            _plot_side(angle_ax, hold_ax, side, points)
        angle_ax.set_title(f"{stretch}: deepest angle per session", loc="left", fontsize=12)
        angle_ax.set_ylabel("peak angle (degrees)")
        hold_ax.set_title(f"{stretch}: total time held in the stretch", loc="left", fontsize=12)
        hold_ax.set_ylabel("total hold (seconds)")
        holds = [p.hold_s for pts in series[stretch].values() for p in pts if p.hold_s is not None]
        hold_ax.set_ylim(0, max([10.0, *holds]) * 1.15)
        angle_ax.margins(y=0.15)
        times = [p.when for points in series[stretch].values() for p in points]
        if max(times) - min(times) < timedelta(days=2):  # one day: give the axis some width
            for ax in (angle_ax, hold_ax):
                ax.set_xlim(min(times) - timedelta(days=3), max(times) + timedelta(days=3))
        for ax in (angle_ax, hold_ax):
            locator = mdates.AutoDateLocator(maxticks=8)
            ax.xaxis.set_major_locator(locator)
            ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
            ax.grid(alpha=0.3)
    fig.legend(handles=_legend_handles(), loc="outside upper center", ncols=4, fontsize=9,
               frameon=False)  # fmt: skip
    return fig


def _legend_handles() -> list[object]:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[object] = [
        Line2D([], [], color=SIDE_COLOURS[side], marker=SIDE_MARKERS[side], label=f"{side} hip")
        for side in SIDES
    ]
    handles.append(Line2D([], [], color="grey", marker="o", markerfacecolor="white", ls="",
                          label="interrupted session"))  # fmt: skip
    handles.append(Patch(color="grey", alpha=0.15, label="first session ± noise (MDC95)"))
    return handles


def _plot_side(angle_ax: object, hold_ax: object, side: str, points: Sequence[Point]) -> None:
    colour, marker = SIDE_COLOURS.get(side, "grey"), SIDE_MARKERS.get(side, "^")
    measured = [p for p in points if p.peak_deg is not None]
    if measured:
        stats = series_stats(points)
        mdc = stats.mdc.value_deg if stats else DEFAULT_MDC_DEG
        base = measured[0].peak_deg or 0.0
        times = [p.when for p in measured]
        angle_ax.axhspan(base - mdc, base + mdc, color=colour, alpha=0.08, lw=0)  # type: ignore[attr-defined]
        angle_ax.plot(times, [p.peak_deg for p in measured], "-", color=colour, lw=1.5)  # type: ignore[attr-defined]
        _markers(angle_ax, measured, [p.peak_deg for p in measured], colour, marker)
    held = [p for p in points if p.hold_s is not None]
    if held:
        hold_ax.plot([p.when for p in held], [p.hold_s for p in held], "-", color=colour, lw=1.5)  # type: ignore[attr-defined]
        _markers(hold_ax, held, [p.hold_s for p in held], colour, marker)


def _markers(ax: object, points: Sequence[Point], values: Sequence[float | None], colour: str,
             marker: str) -> None:  # fmt: skip
    """Filled markers for complete sessions, hollow for interrupted ones."""
    for done in (True, False):
        chosen = [(p.when, v) for p, v in zip(points, values, strict=True)
                  if p.interrupted != done]  # fmt: skip
        if chosen:
            ax.scatter(*zip(*chosen, strict=True), marker=marker, s=36, zorder=3,  # type: ignore[attr-defined]
                       color=colour if done else "white", edgecolors=colour)  # fmt: skip


def figure_png(fig: Figure, dpi: int = 110) -> bytes:
    """A matplotlib figure as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def slug(text: str) -> str:
    """A file-name-safe version of a stretch id."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "stretch"


def write_pngs(sessions: Sequence[SessionRecord], target: Path) -> list[Path]:
    """Write the trend plots: one ``trend_<stretch>.png`` per stretch into a directory, or
    all stretches in one figure when ``target`` ends in ``.png``. Returns the files."""
    series = build_series(sessions)
    if not series:
        return []
    stretches = sorted(series)
    if target.suffix.lower() == ".png":
        atomic_write_bytes(target, figure_png(trend_figure(series, stretches)))
        return [target]
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for stretch in stretches:
        path = target / f"trend_{slug(stretch)}.png"
        atomic_write_bytes(path, figure_png(trend_figure(series, [stretch])))
        written.append(path)
    return written


# --- HTML -----------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:980px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em} h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.8em 0;font-size:.95em}
th,td{border:1px solid #ddd;padding:.35em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4} td.num{text-align:right;font-variant-numeric:tabular-nums}
.real{color:#1a7f37;font-weight:600} .noise{color:#777} .flag{color:#b35900;font-weight:600}
.note{color:#555;font-size:.9em} td .note{white-space:nowrap}
img{max-width:100%;height:auto;border:1px solid #eee}
.box{background:#f7f9fc;border:1px solid #dde5f0;padding:.6em 1em;border-radius:6px}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _deg(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.1f}°" if signed else f"{value:.1f}°"


def _verdict(change: float | None, real: bool, mdc: float) -> str:
    if change is None:
        return "–"
    if real:
        word = "real improvement" if change > 0 else "real decrease"
        return f'{_deg(change, True)} <span class="real">{word}</span>'
    return f'{_deg(change, True)} <span class="noise">within noise (±{mdc:.1f}°)</span>'


def _stats_row(side: str, points: Sequence[Point]) -> str:
    stats = series_stats(points)
    if stats is None:
        return f"<tr><td>{_e(side)}</td><td colspan='8'>never measured</td></tr>"
    mdc = stats.mdc
    if mdc.value_deg != DEFAULT_MDC_DEG:
        which = f"your own noise, above the {DEFAULT_MDC_DEG:.0f}° default"
    elif mdc.personal_deg is None:
        which = "literature; too few sessions for your own"
    else:
        which = f"literature; your own estimate {mdc.personal_deg:.1f}° is smaller"
    since_first = stats.change_since_first_deg if stats.n > 1 else None
    hold = points[-1].hold_s
    cells = [
        _e(side),
        str(stats.n),
        f"{_deg(stats.first.peak_deg)} <span class='note'>{stats.first.when:%Y-%m-%d}</span>",
        f"{_deg(stats.latest.peak_deg)} <span class='note'>{stats.latest.when:%Y-%m-%d}</span>",
        _deg(stats.best_deg),
        _verdict(since_first, stats.real_since_first, mdc.value_deg),
        _verdict(stats.change_since_previous_deg, stats.real_since_previous, mdc.value_deg),
        "–" if hold is None else f"{hold:.0f} s",
        f"{mdc.value_deg:.1f}° <span class='note'>({which})</span>",
    ]
    return "<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>"


def _stats_table(stretch_series: dict[str, list[Point]]) -> str:
    head = ("side", "sessions", "first", "latest", "best", "change since first",
            "change since last", "latest hold", "noise used (MDC95)")  # fmt: skip
    rows = "".join(_stats_row(side, stretch_series[side]) for side in sorted(stretch_series))
    header = "".join(f"<th>{h}</th>" for h in head)
    return f"<table><tr>{header}</tr>{rows}</table>"


def _asymmetry(stretch_series: dict[str, list[Point]]) -> str:
    stats = {side: series_stats(points) for side, points in stretch_series.items()}
    left, right = stats.get("left"), stats.get("right")
    if left is None or right is None:
        return "<p class='note'>Left–right asymmetry needs both sides measured.</p>"
    lv, rv = left.latest.peak_deg or 0.0, right.latest.peak_deg or 0.0
    diff = rv - lv
    lagging = "left" if diff > 0 else "right"
    mdc = max(left.mdc.value_deg, right.mdc.value_deg)
    if abs(diff) > ASYMMETRY_ATTENTION_DEG:
        verdict = (
            f"<span class='flag'>the {lagging} side lags by {abs(diff):.1f}°, more than "
            f"the {ASYMMETRY_ATTENTION_DEG:.0f}° that deserves attention</span>"
        )
    elif is_real_change(diff, mdc):
        verdict = f"the {lagging} side lags by {abs(diff):.1f}° (beyond the ±{mdc:.1f}° noise)"
    else:
        verdict = f"<span class='noise'>no difference beyond the ±{mdc:.1f}° noise</span>"
    return (f"<p><b>Left vs right (latest sessions):</b> left {_deg(lv)}, right {_deg(rv)}, "
            f"right − left {_deg(diff, True)}: {verdict}.</p>")  # fmt: skip


def _arc_table(sessions: Sequence[SessionRecord]) -> str:
    arcs = arc_summary(sessions)
    if not arcs:
        return ""
    rows = "".join(
        f"<tr><td>{_e(a.side)}</td><td>{a.day}</td><td class='num'>{_deg(a.internal_deg)}</td>"
        f"<td class='num'>{_deg(a.external_deg)}</td><td class='num'>{_deg(a.total_deg)}</td>"
        f"<td class='num'>{'–' if a.ratio is None else f'{a.ratio:.2f}'}</td></tr>"
        for a in arcs
    )
    return (
        "<h2>Rotation arc</h2><p>Largest internal (IR) and external (ER) rotation on each side's "
        "latest day of measurements. Typical seated adults: IR about 30–40°, ER about 35–45°, "
        "total arc about 70–95° (reference ranges, not a diagnosis; research notes §1.3). "
        "Both rotation stretches are needed on the same day for the arc to mean something.</p>"
        "<table><tr><th>side</th><th>day (UTC)</th><th>IR</th><th>ER</th><th>total arc</th>"
        f"<th>IR : ER</th></tr>{rows}</table>"
    )


def _sessions_table(sessions: Sequence[SessionRecord]) -> str:
    rows = "".join(
        f"<tr><td class='num'>{s.id}</td><td>{s.started:%Y-%m-%d %H:%M}</td><td>{_e(s.kind)}"
        f"{' (interrupted)' if s.interrupted else ''}</td><td>{_e(s.stretch or 'both rotations')}"
        f"</td><td>{_e(s.input or '–')}</td></tr>"
        for s in sorted(sessions, key=lambda s: (s.started_at, s.id), reverse=True)
    )
    return ("<h2>Sessions</h2><table><tr><th>id</th><th>date (UTC)</th><th>kind</th>"
            f"<th>stretch</th><th>source</th></tr>{rows}</table>")  # fmt: skip


NOISE_TEXT = (
    "<div class='box'><b>When is a change real?</b> Measuring the same hip twice never gives "
    "the same number. A change counts as real only when it is larger than the <i>minimal "
    "detectable change</i> (MDC95, the difference that repeated measurements of an unchanged "
    f"hip exceed only 5% of the time). We use {_e(DEFAULT_MDC_SOURCE)}. When a side has at "
    "least 3 sessions we also estimate your own noise from how much your sessions scatter "
    "around your trend line (MDC95 = 1.96·√2·SEM) and use it instead when it is larger; the "
    "table says which was used. The shaded band in the plots is the first session ± that "
    "noise: points above it are real progress.</div>"
)


def render_html(sessions: Sequence[SessionRecord], *, source: str = "",
                now: datetime | None = None) -> str:  # fmt: skip
    """The whole report as one self-contained HTML page (plots as base64 PNG)."""
    now = now or datetime.now(UTC)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
             f"<title>posecheck progress report</title><style>{CSS}</style></head><body>",
             "<h1>Hip rotation progress</h1>",
             f"<p class='note'>Generated {now:%Y-%m-%d %H:%M} UTC by posecheck from "
             f"{_e(source or 'the history')}.</p>"]  # fmt: skip
    series = build_series(sessions)
    if not sessions:
        parts.append("<p><b>No sessions in the history yet.</b> Record one with "
                     "<code>posecheck live</code> or <code>posecheck analyse VIDEO</code>, "
                     "then run <code>posecheck report</code> again.</p>")  # fmt: skip
    else:
        first, last = min(s.started for s in sessions), max(s.started for s in sessions)
        parts.append(f"<p>{len(sessions)} session(s) from {first:%Y-%m-%d} to {last:%Y-%m-%d}. "
                     "Angles in degrees: the peak of each stretch measured in its own direction "
                     "(higher = deeper). Hold = total seconds held beyond the stretch's "
                     "threshold.</p>" + NOISE_TEXT)  # fmt: skip
    for stretch in sorted(series):
        png = base64.b64encode(figure_png(trend_figure(series, [stretch]))).decode("ascii")
        img = f"<img alt='trend of {_e(stretch)}' src='data:image/png;base64,{png}'>"
        parts += [f"<h2>{_e(stretch)}</h2>", _stats_table(series[stretch]),
                  _asymmetry(series[stretch]), img]  # fmt: skip
    if sessions:
        parts += [_arc_table(sessions), _sessions_table(sessions)]
    parts.append("<p class='note'>posecheck measures the shank angle like a goniometer does; "
                 "it is a training aid, not a medical device.</p></body></html>")  # fmt: skip
    return "\n".join(parts)
