"""The progress report of one person as one self-contained HTML page.

Everything a reader needs is on the page: what each number is, which sessions it comes
from, why a change counts as real, and the literature behind each reference value (cited
in full at the end). No machine paths (a source is named by its file name only), no
scripts, no network: plots are embedded as base64 PNG. ``@media print`` rules keep tables,
rows and plots whole on A4 pages.

The comparisons follow the rules of :mod:`posecheck.report`. Every piece of user-provided
text (names, file names, stretch ids) goes through :func:`html.escape`.
Conventions: degrees in the stretch's direction (deeper = larger), seconds, local times.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from datetime import datetime
from pathlib import PureWindowsPath

from posecheck import __version__
from posecheck.mdc import DEFAULT_MDC_DEG, MIN_SESSIONS_FOR_PERSONAL, is_real_change
from posecheck.report import (
    ASYMMETRY_ATTENTION_DEG,
    IR_STRETCH,
    RESTING_DEG,
    VIEW_CHANGE_DEG,
    Point,
    SeriesStats,
    SetupChange,
    SidePair,
    Trend,
    arcs,
    build_series,
    check_one_person,
    setup_segments,
    side_pairs,
    stretched,
    trend,
)
from posecheck.store_records import SessionRecord, local_time, zone_label
from posecheck.summary import END_RANGE_DEG

MAX_PAIRS_SHOWN = 6

REFERENCES = {
    "krause": "Krause DA, et al. Reliability of hip internal rotation range of motion "
    "measurement using a digital inclinometer. <i>Knee Surg Sports Traumatol Arthrosc</i> "
    "2015;23(9):2562–2567. MDC95 5.4° for active seated internal rotation.",
    "gradoz": "Gradoz MC, et al. Reliability of hip rotation range of motion in supine and "
    "seated positions. <i>J Sport Rehabil</i> 2018. Goniometer, three testers: MDC95 "
    "6.1–8.6°.",
    "kouyoumdjian": "Kouyoumdjian P, et al. Clinical evaluation of hip joint rotation range "
    "of motion in adults. <i>Orthop Traumatol Surg Res</i> 2012;98(1):17–23. 120 adults, "
    "seated: internal rotation 37.9°, total arc 78.5° on average; 61% symmetric side to side.",
    "roach": "Roach KE, Miles TP. Normal hip and knee active range of motion: the "
    "relationship to age. <i>Phys Ther</i> 1991;71(9):656–665. Ages 25–74: internal rotation "
    "about 32 ± 8°, external rotation about 32–34 ± 8°.",
}
REF_NUMBER = {key: i + 1 for i, key in enumerate(REFERENCES)}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:940px;
margin:1.5em auto;padding:0 1em;color:#222;line-height:1.4}
h1{font-size:1.6em;margin:.2em 0 .1em} h2{margin:1.6em 0 .4em;border-bottom:1px solid #ccc;
padding-bottom:.15em;font-size:1.3em} h3{font-size:1.05em;margin:1.1em 0 .3em}
table{border-collapse:collapse;margin:.4em 0 .8em;font-size:.86em;max-width:100%}
th,td{border:1px solid #ccc;padding:.25em .4em;text-align:left;vertical-align:top}
th{background:#f2f2f2;font-weight:600} td.num{text-align:right;font-variant-numeric:tabular-nums}
.real{color:#1a7f37;font-weight:600} .noise{color:#666} .flag{color:#a04a00;font-weight:600}
.warn{border-left:4px solid #c77700;background:#fff7e6;padding:.4em .8em;margin:.6em 0}
.note{color:#555;font-size:.88em} .src{word-break:break-all} .d{white-space:nowrap}
figure{margin:.6em 0 1em} figure img{width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.85em}
.box{background:#f5f8fc;border:1px solid #d8e2ef;padding:.5em .9em;border-radius:4px}
ol.refs li{margin-bottom:.3em;font-size:.9em}
@page{size:A4;margin:14mm}
@media print{body{max-width:none;margin:0;padding:0;font-size:9.5pt}
h2,h3{break-after:avoid;page-break-after:avoid}
table,tr,figure,img,.box,.warn{break-inside:avoid;page-break-inside:avoid}
thead{display:table-header-group}
section.stretch:not(:first-of-type){break-before:page;page-break-before:always}}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _deg(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.1f}°" if signed else f"{value:.1f}°"


def _secs(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} s"


def _when(value: datetime, with_time: bool = True) -> str:
    return local_time(value).strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def _ref(key: str) -> str:
    return f"[{REF_NUMBER[key]}]"


def _file_name(source: str | None) -> str:
    """A source as its file name only (no folders of this computer); camera specs as is."""
    if not source:
        return "–"
    return PureWindowsPath(source).name or source  # splits on / and \\ alike


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], num: set[int] = frozenset()
           ) -> str:  # fmt: skip
    header = "".join(f"<th>{h}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td class='num'>{c}</td>" if i in num else f"<td>{c}</td>"
                         for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )  # fmt: skip
    return f"<table><thead><tr>{header}</tr></thead><tbody>{body}</tbody></table>"


# --- one stretch --------------------------------------------------------------------------


def _verdict(change: float | None, real: bool, mdc: float) -> str:
    if change is None:
        return "–"
    if real:
        word = "real improvement" if change > 0 else "real decrease"
        return f'{_deg(change, True)} <span class="real">{word}</span>'
    return f'{_deg(change, True)} <span class="noise">within noise (±{mdc:.1f}°)</span>'


def _noise_used(stats: SeriesStats) -> str:
    mdc = stats.mdc
    if mdc.value_deg != DEFAULT_MDC_DEG:
        return f"{mdc.value_deg:.1f}° <span class='note'>own scatter</span>"
    if mdc.personal_deg is None:
        return f"{mdc.value_deg:.0f}° <span class='note'>literature</span>"
    return (f"{mdc.value_deg:.0f}° <span class='note'>literature (own scatter "
            f"{mdc.personal_deg:.1f}°)</span>")  # fmt: skip


def _dated(value: float | None, when: datetime, with_time: bool = False) -> str:
    return f"{_deg(value)}<br><span class='note d'>{_when(when, with_time)}</span>"


def _progress_row(side: str, t: Trend) -> list[str]:
    stats = t.stats
    if stats is None:
        return [_e(side), "0", "never measured", "–", "–", "–", "–", "–"]
    one_day = _when(stats.first.when, False) == _when(stats.latest.when, False)
    best = ("none (never reached the stretch's direction)" if stats.best is None
            else _dated(stats.best_deg, stats.best.when, one_day))  # fmt: skip
    since_first = stats.change_since_first_deg if stats.n > 1 else None
    return [
        _e(side), str(stats.n),
        _dated(stats.first.peak_deg, stats.first.when, one_day),
        _dated(stats.latest.peak_deg, stats.latest.when, one_day),
        best,
        _verdict(since_first, stats.real_since_first, stats.mdc.value_deg),
        _verdict(stats.change_since_previous_deg, stats.real_since_previous, stats.mdc.value_deg),
        _noise_used(stats),
    ]  # fmt: skip


def _setup_warnings(trends: dict[str, Trend], changes: Sequence[SetupChange]) -> str:
    out = [
        f"<p class='warn'><b>Camera set-up changed</b> between session {c.before_id} "
        f"({_when(c.before)}) and session {c.after_id} ({_when(c.after)}): {_e(c.reason)}. "
        "A different view changes the measured angle by itself, so sessions before the change "
        "are listed (grey points in the plot) but not compared with later ones: the progress "
        "below starts again after it.</p>"
        for c in changes
    ]
    unknown = max((t.unknown_setup for t in trends.values()), default=0)
    if unknown:
        out.append(f"<p class='note'>{unknown} compared session(s) were stored by an older "
                   "posecheck that did not record the camera set-up; the comparison assumes "
                   "the camera was not moved.</p>")  # fmt: skip
    return "".join(out)


def _pair_text(p: SidePair) -> str:
    if p.same_session:
        return f"session {p.left_session}"
    return (f"same day, two sessions: left from {p.left_session}, right from "
            f"{p.right_session}")  # fmt: skip


def _asymmetry(stretch_series: dict[str, list[Point]], trends: dict[str, Trend]) -> str:
    pairs = side_pairs(stretch_series)
    head = "<h3>Left and right</h3>"
    last = {side: max((p for p in pts if stretched(p)),
                      key=lambda p: (p.when, p.session_id), default=None)
            for side, pts in stretch_series.items()}  # fmt: skip
    lp, rp = last.get("left"), last.get("right")
    apart = ""
    if lp and rp and (not pairs or {lp.session_id, rp.session_id}
                      != {pairs[-1].left_session, pairs[-1].right_session}):  # fmt: skip
        apart = (f"<p class='note'>The latest left (session {lp.session_id}, "
                 f"{_when(lp.when, False)}) and the latest right (session {rp.session_id}, "
                 f"{_when(rp.when, False)}) were measured on different occasions, so they are "
                 "not compared with each other.</p>")  # fmt: skip
    if not pairs:
        return (head + "<p class='note'>No session (and no day) has both sides doing this "
                "stretch, so left and right are not compared: sides measured on different days "
                "would mix day-to-day change into the difference, and a side that rested while "
                "the other stretched says nothing about its range.</p>" + apart)  # fmt: skip
    latest = pairs[-1]
    mdcs = [t.stats.mdc.value_deg for t in trends.values() if t.stats is not None]
    mdc = max(mdcs, default=DEFAULT_MDC_DEG)
    diff = latest.diff_deg
    lagging = "left" if diff > 0 else "right"
    if abs(diff) > ASYMMETRY_ATTENTION_DEG:
        verdict = (f"<span class='flag'>the {lagging} side lags by {abs(diff):.1f}°, more than "
                   f"the {ASYMMETRY_ATTENTION_DEG:.0f}° worth a closer look</span>")  # fmt: skip
    elif is_real_change(diff, mdc):
        verdict = f"the {lagging} side lags by {abs(diff):.1f}° (beyond the ±{mdc:.1f}° noise)"
    else:
        verdict = f"<span class='noise'>no difference beyond the ±{mdc:.1f}° noise</span>"
    text = (f"<p><b>Latest comparison</b> ({_when(latest.when, False)}, {_pair_text(latest)}): "
            f"left {_deg(latest.left)}, right {_deg(latest.right)}, right − left "
            f"{_deg(diff, True)}: {verdict}.</p>")  # fmt: skip
    text += apart
    rows = [[_when(p.when, False), _pair_text(p), _deg(p.left), _deg(p.right),
             _deg(p.diff_deg, True)] for p in pairs[-MAX_PAIRS_SHOWN:]]  # fmt: skip
    return head + text + _table(("date", "from", "left", "right", "right − left"), rows,
                                {2, 3, 4})  # fmt: skip


def _session_rows(stretch_series: dict[str, list[Point]]) -> str:
    points = sorted(((side, p) for side, pts in stretch_series.items() for p in pts),
                    key=lambda sp: (sp[1].when, sp[1].session_id, sp[0]), reverse=True)  # fmt: skip
    rows = [[_when(p.when), str(p.session_id) + (" (interrupted)" if p.interrupted else ""),
             _e(side), _deg(p.peak_deg), _secs(p.hold_s), _secs(p.end_range_s),
             str(p.holds), _deg(p.range_gained_deg, True)] for side, p in points]  # fmt: skip
    head = ("date", "session", "side", "peak", "held", f"within {END_RANGE_DEG:.0f}° of peak",
            "holds", "gained over holds")  # fmt: skip
    note = ""
    if any(p.end_range_s is None and p.peak_deg is not None for _, p in points):
        note = ("<p class='note'>– in “within 5° of peak”: not recorded (the session was stored "
                "by an older posecheck, before that time was measured).</p>")
    return "<h3>Each session</h3>" + _table(head, rows, {3, 4, 5, 6, 7}) + note


def _stretch_section(stretch: str, name: str, stretch_series: dict[str, list[Point]],
                     all_changes: Sequence[SetupChange]) -> str:  # fmt: skip
    from posecheck.report_plots import changes_within, figure_png, trend_figure

    trends = {side: trend(points) for side, points in stretch_series.items()}
    changes = changes_within({stretch: stretch_series}, stretch, all_changes)
    rows = [_progress_row(side, trends[side]) for side in sorted(trends)]
    head = ("side", "sessions", "first", "latest", "best", "change since first",
            "change since previous", "noise (MDC95)")  # fmt: skip
    fig = trend_figure({stretch: stretch_series}, stretch, name, changes)
    png = base64.b64encode(figure_png(fig)).decode("ascii")
    title = _e(name) + (f" <span class='note'>({_e(stretch)})</span>" if name != stretch else "")
    return (
        f"<section class='stretch'><h2>{title}</h2>" + _setup_warnings(trends, changes)
        + "<h3>Progress</h3>" + _table(head, rows, {1})
        + "<p class='note'>Sessions: how many are compared (same camera set-up). Changes count "
        "as real only beyond the noise level (MDC95, explained at the end); the noise comes "
        "from the literature unless this person's own session-to-session scatter is larger."
        "</p>" + _asymmetry(stretch_series, trends)
        + f"<figure><img alt='trend of {_e(name)}' src='data:image/png;base64,{png}'>"
        "<figcaption>Top: the deepest angle of each session (filled = complete, hollow = "
        "interrupted); the shaded band is the first compared session ± the noise level, so "
        "points outside it are real changes. Bottom: total time held.</figcaption></figure>"
        + _session_rows(stretch_series) + "</section>"
    )  # fmt: skip


# --- whole page ----------------------------------------------------------------------------


def _arc_section(series: dict[str, dict[str, list[Point]]]) -> str:
    days = arcs(series)
    head = "<h2>Rotation arc (internal + external rotation)</h2>"
    explain = (
        "<p>The total arc adds the deepest internal rotation of the internal-rotation stretch "
        "and the deepest external rotation of the external-rotation stretch <b>measured on the "
        "same day</b>; values from different days are never added. For seated adults, "
        f"internal rotation of about 30–40° and a total arc of about 70–95° are typical "
        f"{_ref('kouyoumdjian')} {_ref('roach')}; these are reference values, not a diagnosis, "
        "and a camera reads a few degrees differently from a goniometer.</p>"
    )
    if not days:
        return (head + explain + "<p class='note'>No day has both rotation stretches for the "
                "same side, so no arc is given.</p>")  # fmt: skip
    rows = [[_e(a.side), a.day.isoformat(), _deg(a.internal_deg), _deg(a.external_deg),
             _deg(a.total_deg), f"IR: {', '.join(map(str, a.ir_sessions))}; "
             f"ER: {', '.join(map(str, a.er_sessions))}"]
            for a in sorted(days, key=lambda a: (a.day, a.side), reverse=True)[:12]]  # fmt: skip
    return head + explain + _table(("side", "day", "IR", "ER", "total arc", "sessions"), rows,
                                   {2, 3, 4})  # fmt: skip


def _sessions_section(sessions: Sequence[SessionRecord]) -> str:
    rows = []
    for s in sorted(sessions, key=lambda s: (s.started_at, s.id), reverse=True):
        stretches = ", ".join(sorted({r.stretch for r in s.results})) or "–"
        camera = "not recorded"
        if s.image_width:
            camera = f"{s.image_width}×{s.image_height}"
        if s.view_yaw_deg is not None:
            camera += f", facing {s.view_yaw_deg:+.0f}°"
        kind = s.kind + (" (interrupted)" if s.interrupted else "")
        source = f"<span class='src'>{_e(_file_name(s.input))}</span>"
        rows.append([str(s.id), _when(s.started), _e(kind), _e(stretches), source, camera])
    return ("<h2>Sessions</h2>"
            + _table(("id", "date", "kind", "stretches", "source", "camera"), rows, {0}))


def _definitions() -> str:
    return f"""<h2>How the numbers are made</h2><div class='box'>
<p><b>Peak.</b> The deepest angle of a session in the stretch's own direction, in degrees, after
subtracting the neutral position taken at the start (shin vertical). Higher is deeper, for
internal and external rotation alike. <b>Held</b> is the total time spent beyond the stretch's
threshold in holds of at least half a second. <b>Within {END_RANGE_DEG:.0f}° of peak</b> is the time
spent near the session's deepest angle (end range). <b>Gained over holds</b> is the peak of the
last hold of a session minus the peak of its first: whether repeated holds went deeper.</p>
<p><b>When is a change real?</b> Two measurements of an unchanged hip differ. A change counts as
real only when it is larger than the <i>minimal detectable change</i> (MDC95): the difference
that repeated measurements of an unchanged hip exceed only 5% of the time. For seated hip
rotation measured by hand it is 5.4° with an inclinometer {_ref('krause')} and 6.1–8.6° with a
goniometer {_ref('gradoz')}; this page uses {DEFAULT_MDC_DEG:.0f}°. A camera is not assumed to be
more precise than that: with at least {MIN_SESSIONS_FOR_PERSONAL} sessions, the person's own
scatter around their trend line gives a second estimate (MDC95 = 1.96 × √2 × SEM, with the
standard error of measurement SEM = the residual standard deviation), used when it is larger.</p>
<p><b>What is compared.</b> Only sessions of this person. A trend only follows sessions of the
same stretch and side with a similar camera set-up: the same image size and the person facing
the camera within {VIEW_CHANGE_DEG:.0f}° of the same direction (estimated from the shoulder line
of the body landmarks in each session; on rendered test videos it noticed a camera moved by 20°,
with little margin, and it misses smaller moves). Left and right are compared within one
session, or else from two sessions of the same day (named), and only when both sides were
stretched (held it, or went beyond {RESTING_DEG:.0f}°: a resting side reads a few degrees).
A left–right difference above {ASYMMETRY_ATTENTION_DEG:.0f}° is flagged for a closer look: a rule
of thumb, not a published cut-off, chosen well above the noise; most
healthy adults are symmetric {_ref('kouyoumdjian')}.</p>
<p><b>Not a medical device.</b> posecheck measures the angle of the shin like a goniometer does;
it is a training aid. Its numbers support, and do not replace, a clinical examination.</p>
</div>"""


def render_html(sessions: Sequence[SessionRecord], *, now: datetime | None = None,
                person: str | None = None, stretch_names: dict[str, str] | None = None
                ) -> str:  # fmt: skip
    """The report of one person as one self-contained HTML page (plots as base64 PNG).
    ValueError when the sessions belong to several people."""
    who = check_one_person(sessions) or person
    now = now or datetime.now().astimezone()
    names = stretch_names or {}
    times = [s.started for s in sessions]
    zone = zone_label([*times, now])
    title = "Hip rotation progress" + (f": {who}" if who else "")
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
        f"content='width=device-width, initial-scale=1'><title>{_e(title)}</title>"
        f"<style>{CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1>",
    ]
    if not sessions:
        parts.append("<p><b>No sessions yet.</b> Record one with <code>posecheck live</code> or "
                     "<code>posecheck analyse VIDEO</code>, then make this report again.</p>")
    else:
        parts.append(
            f"<p>{len(sessions)} session(s) from {_when(min(times), False)} to "
            f"{_when(max(times), False)}. All dates and times are local time ({_e(zone)}). "
            f"Generated {_when(now)} by posecheck {__version__}.</p>"
        )
    parts.append("</header>")
    series = build_series(sessions)
    _, changes = setup_segments(sessions)
    if sessions:
        parts.append("<p class='note'>Each stretch has its own page: progress per side, left "
                     "against right, the trend plot and every session. The last part explains "
                     "how each number is made and cites the sources.</p>")  # fmt: skip
    order = sorted(series, key=lambda s: (s != IR_STRETCH, s))
    for stretch in order:
        parts.append(_stretch_section(stretch, names.get(stretch, stretch), series[stretch],
                                      changes))  # fmt: skip
    if sessions:
        parts += [_arc_section(series), _sessions_section(sessions), _definitions(),
                  "<h2>References</h2><ol class='refs'>"
                  + "".join(f"<li>{text}</li>" for text in REFERENCES.values()) + "</ol>"]
    parts.append("</body></html>")
    return "\n".join(parts)
