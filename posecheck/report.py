"""Progress of one person over time: what may be compared with what, and what changed.

The rules, each a guard against a misleading number:

* One person only: :func:`check_one_person` refuses sessions of several people.
* A trend (:func:`trend`) follows one stretch and side over sessions with a comparable
  camera set-up: when the image size changed or the person faced the camera more than
  :data:`VIEW_CHANGE_DEG` differently, the trend starts again there and the earlier sessions
  are not compared with the later ones (the change is reported). Sessions stored before the
  set-up was recorded are assumed comparable, and the page says so.
* Changes are judged against the minimal detectable change (:mod:`posecheck.mdc`).
* "Best" is the largest peak in the stretch's own direction, never negative.
* Left against right (:func:`side_pairs`) only within one session, or else from two sessions
  of the same local day (and then it says which), and only sides that held the stretch.
* The rotation arc (:func:`arcs`) adds internal and external rotation measured on the same
  local day by the two rotation stretches.

Conventions: angles in degrees; a stretch's peak (``peak_measured_deg``) is measured in the
stretch's direction (deeper = larger, for internal- and external-rotation stretches alike);
hold times in seconds; times are aware datetimes, days are local calendar days. HTML and
plots live in :mod:`posecheck.report_html` and :mod:`posecheck.report_plots`. Standard
library only; must not import matplotlib, mediapipe or cv2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from posecheck.mdc import Mdc, choose_mdc, is_real_change
from posecheck.store_records import SessionRecord, local_time

VIEW_CHANGE_DEG = 10.0  # facing the camera this much differently = another set-up
ASYMMETRY_ATTENTION_DEG = 10.0  # left-right difference worth a closer look (see report_html)
IR_STRETCH, ER_STRETCH = "internal-rotation", "external-rotation"
RESTING_DEG = 8.0  # below this peak and without a hold, a side was resting, not stretched


def check_one_person(sessions: Sequence[SessionRecord]) -> str | None:
    """The one person these sessions belong to (None when empty); ValueError when several."""
    people = sorted({s.person for s in sessions})
    if len(people) > 1:
        raise ValueError(f"sessions of several people ({', '.join(people)}): one report "
                         "covers one person")  # fmt: skip
    return people[0] if people else None


@dataclass(frozen=True, slots=True)
class Setup:
    """The camera set-up of a session (None = not recorded: stored before schema 3)."""

    image_width: int | None
    image_height: int | None
    view_yaw_deg: float | None

    def change_from(self, other: Setup) -> str | None:
        """Why this set-up is not comparable with ``other`` (None when it is, or unknown)."""
        if None not in (self.image_width, other.image_width) and (
            (self.image_width, self.image_height) != (other.image_width, other.image_height)
        ):
            return (f"the camera image changed from {other.image_width}×{other.image_height} "
                    f"to {self.image_width}×{self.image_height} pixels")  # fmt: skip
        if self.view_yaw_deg is not None and other.view_yaw_deg is not None:
            turn = self.view_yaw_deg - other.view_yaw_deg
            if abs(turn) > VIEW_CHANGE_DEG:
                return (f"the view changed: the person faced the camera about {abs(turn):.0f}° "
                        "differently (for example front-on one time, turned the other)")
        return None


def setup_of(session: SessionRecord) -> Setup:
    """A session's camera set-up."""
    return Setup(session.image_width, session.image_height, session.view_yaw_deg)


@dataclass(frozen=True, slots=True)
class Point:
    """One session's result for one stretch and side (degrees, seconds)."""

    when: datetime
    session_id: int
    peak_deg: float | None  # peak_measured_deg: deeper into the stretch = larger
    hold_s: float | None
    interrupted: bool
    end_range_s: float | None = None
    range_gained_deg: float | None = None
    holds: int = 0
    setup: Setup = Setup(None, None, None)
    segment: int = 0  # which stretch of comparable camera set-ups (see setup_segments)


Series = dict[str, dict[str, list[Point]]]  # stretch -> side -> points, oldest first


@dataclass(frozen=True, slots=True)
class SetupChange:
    """The camera set-up changed between two consecutive sessions of a person."""

    before_id: int
    before: datetime
    after_id: int
    after: datetime
    reason: str
    segment: int  # the segment that starts with ``after_id``


def setup_segments(sessions: Sequence[SessionRecord]) -> tuple[dict[int, int], list[SetupChange]]:
    """Number a person's sessions, in time order, by stretch of comparable camera set-up:
    a new segment starts when a session's set-up differs from the last recorded one
    (sessions without a recorded set-up join the current segment). Returns session id ->
    segment and the changes."""
    segment_of: dict[int, int] = {}
    changes: list[SetupChange] = []
    known: Setup | None = None
    previous: SessionRecord | None = None
    for session in sorted(sessions, key=lambda s: (s.started_at, s.id)):
        setup = setup_of(session)
        reason = setup.change_from(known) if known is not None else None
        if reason is not None and previous is not None:
            changes.append(SetupChange(previous.id, previous.started, session.id,
                                       session.started, reason, len(changes) + 1))  # fmt: skip
        segment_of[session.id] = len(changes)
        if setup.image_width is not None or setup.view_yaw_deg is not None:
            known = setup
        previous = session
    return segment_of, changes


def build_series(sessions: Sequence[SessionRecord]) -> Series:
    """Group one person's stored results by stretch and side, oldest first."""
    check_one_person(sessions)
    segment_of, _ = setup_segments(sessions)
    series: Series = {}
    for session in sorted(sessions, key=lambda s: (s.started_at, s.id)):
        for r in session.results:
            point = Point(session.started, session.id, r.peak_measured_deg, r.total_hold_s,
                          session.interrupted, r.end_range_s, r.range_gained_deg,
                          len(r.holds), setup_of(session), segment_of[session.id])  # fmt: skip
            series.setdefault(r.stretch, {}).setdefault(r.side, []).append(point)
    return series


@dataclass(frozen=True, slots=True)
class SeriesStats:
    """How one stretch x side changed (degrees; change = later − earlier, + = deeper)."""

    n: int
    first: Point
    previous: Point | None
    latest: Point
    best_deg: float | None  # largest peak in the stretch's direction; None if never >= 0
    best: Point | None
    change_since_first_deg: float
    change_since_previous_deg: float | None
    mdc: Mdc
    real_since_first: bool
    real_since_previous: bool


def _days(points: Sequence[Point]) -> list[float]:
    origin = points[0].when
    return [(p.when - origin).total_seconds() / 86400.0 for p in points]


def series_stats(points: Sequence[Point]) -> SeriesStats | None:
    """Change since the first and the previous session, judged against the MDC; None when
    the angle was never measured. Interrupted sessions count like any other. The caller
    passes comparable points (see :func:`trend`)."""
    measured = [p for p in points if p.peak_deg is not None]
    if not measured:
        return None
    values = [float(p.peak_deg) for p in measured if p.peak_deg is not None]
    mdc = choose_mdc(_days(measured), values)
    first, latest = measured[0], measured[-1]
    previous = measured[-2] if len(measured) > 1 else None
    since_first = values[-1] - values[0]
    since_prev = None if previous is None else values[-1] - values[-2]
    best = max(measured, key=lambda p: float(p.peak_deg or 0.0))
    best_ok = best.peak_deg is not None and best.peak_deg >= 0
    return SeriesStats(
        n=len(measured), first=first, previous=previous, latest=latest,
        best_deg=best.peak_deg if best_ok else None, best=best if best_ok else None,
        change_since_first_deg=since_first, change_since_previous_deg=since_prev, mdc=mdc,
        real_since_first=len(measured) > 1 and is_real_change(since_first, mdc.value_deg),
        real_since_previous=since_prev is not None and is_real_change(since_prev, mdc.value_deg),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Trend:
    """A series' trend over its latest stretch of comparable sessions."""

    points: list[Point]  # compared: the segment of the series' latest session
    earlier: list[Point]  # other set-ups: shown, never compared with the above
    stats: SeriesStats | None
    unknown_setup: int  # compared sessions whose set-up was not recorded


def trend(points: Sequence[Point]) -> Trend:
    """The trend of one stretch x side (see the module docstring)."""
    if not points:
        return Trend([], [], None, 0)
    latest = points[-1].segment
    compared = [p for p in points if p.segment == latest]
    earlier = [p for p in points if p.segment != latest]
    unknown = sum(1 for p in compared if p.setup.image_width is None
                  and p.setup.view_yaw_deg is None)  # fmt: skip
    return Trend(compared, earlier, series_stats(compared), unknown)


@dataclass(frozen=True, slots=True)
class SidePair:
    """Left and right peaks of one stretch compared (degrees; diff = right − left)."""

    when: datetime
    left: float
    right: float
    left_session: int
    right_session: int

    @property
    def same_session(self) -> bool:
        """True when both sides come from one session."""
        return self.left_session == self.right_session

    @property
    def diff_deg(self) -> float:
        """Right minus left, degrees (+ = the right goes deeper)."""
        return self.right - self.left


def _day(when: datetime) -> date:
    return local_time(when).date()


def stretched(p: Point) -> bool:
    """True when the side was stretched in that session: it held the stretch at least once,
    or its peak reached :data:`RESTING_DEG` (a hip too stiff to reach the threshold still
    counts). A side that sat still while the other stretched reads a few degrees (1-3° on
    the rendered dev set), which says nothing about its range."""
    return p.peak_deg is not None and (p.holds > 0 or p.peak_deg >= RESTING_DEG)


def side_pairs(stretch_series: dict[str, list[Point]]) -> list[SidePair]:
    """Left-right pairs of one stretch, oldest first: every session in which both sides
    were stretched (:func:`stretched`); on a local day where no session did, the day's
    latest stretched left and latest stretched right."""
    left = {p.session_id: p for p in stretch_series.get("left", []) if stretched(p)}
    right = {p.session_id: p for p in stretch_series.get("right", []) if stretched(p)}
    pairs = [SidePair(left[i].when, float(left[i].peak_deg or 0.0),
                      float(right[i].peak_deg or 0.0), i, i)
             for i in left.keys() & right.keys()]  # fmt: skip
    paired_days = {_day(p.when) for p in pairs}
    by_day: dict[date, dict[str, Point]] = {}
    for side, points in (("left", left), ("right", right)):
        for p in points.values():
            day = _day(p.when)
            if day in paired_days:
                continue
            best = by_day.setdefault(day, {}).get(side)
            if best is None or (p.when, p.session_id) > (best.when, best.session_id):
                by_day[day][side] = p
    for sides in by_day.values():
        if "left" in sides and "right" in sides:
            lp, rp = sides["left"], sides["right"]
            when = max(lp.when, rp.when)
            left_deg, right_deg = float(lp.peak_deg or 0.0), float(rp.peak_deg or 0.0)
            pairs.append(SidePair(when, left_deg, right_deg, lp.session_id, rp.session_id))
    return sorted(pairs, key=lambda p: (p.when, p.left_session, p.right_session))


@dataclass(frozen=True, slots=True)
class Arc:
    """Total rotation arc of one side on one local day: the largest internal rotation of
    the internal-rotation stretch plus the largest external rotation of the
    external-rotation stretch that day (degrees, each >= 0)."""

    side: str
    day: date
    internal_deg: float
    external_deg: float
    ir_sessions: tuple[int, ...]
    er_sessions: tuple[int, ...]

    @property
    def total_deg(self) -> float:
        """IR + ER, degrees."""
        return self.internal_deg + self.external_deg


def arcs(series: Series) -> list[Arc]:
    """Per side, the arc of every local day with both rotation stretches measured, oldest
    first."""
    out = []
    for side in ("left", "right"):
        days: dict[date, dict[str, list[Point]]] = {}
        for stretch in (IR_STRETCH, ER_STRETCH):
            for p in series.get(stretch, {}).get(side, []):
                if p.peak_deg is not None:
                    days.setdefault(_day(p.when), {}).setdefault(stretch, []).append(p)
        for day in sorted(days):
            ir, er = days[day].get(IR_STRETCH), days[day].get(ER_STRETCH)
            if not ir or not er:
                continue
            best_ir = max(max(float(p.peak_deg or 0.0) for p in ir), 0.0)
            best_er = max(max(float(p.peak_deg or 0.0) for p in er), 0.0)
            out.append(Arc(side, day, best_ir, best_er,
                           tuple(sorted({p.session_id for p in ir})),
                           tuple(sorted({p.session_id for p in er}))))  # fmt: skip
    return out
