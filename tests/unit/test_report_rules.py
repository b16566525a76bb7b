"""The report does not mislead: one person per report, left against right only within a
session (or a named same-day pair), the arc only from one day, trends only over a comparable
camera set-up, "best" never negative, the time axis spans the data, local dates with the
zone named, no machine paths, per-session end range and range gained over holds."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from clinic import MONDAY, make_clinic, side, summary

from posecheck.report import arcs, build_series, side_pairs, trend
from posecheck.report_html import render_html
from posecheck.report_plots import time_limits
from posecheck.store import SessionRecord, Store

pytestmark = pytest.mark.usefixtures("berlin_time")


def stored(tmp_path: Path, summaries: list[dict], person: str = "Anna") -> list[SessionRecord]:
    with Store.open(tmp_path / "h.sqlite3") as store:
        for s in summaries:
            store.add_session(s, force=True, person=person)
        return store.sessions(person=person)


IR = "internal-rotation"


def test_left_right_only_from_the_same_session(tmp_path: Path) -> None:
    week = timedelta(days=7)
    sessions = stored(tmp_path, [
        summary(MONDAY, {IR: {"left": side(20.0, 30), "right": side(22.5, 30)}}, name="both"),
        summary(MONDAY + week, {IR: {"left": side(30.0, 30)}}, name="left_only"),
        summary(MONDAY + 2 * week, {IR: {"right": side(45.0, 30)}}, name="right_only"),
    ])  # fmt: skip
    pairs = side_pairs(build_series(sessions)[IR])
    assert [(p.left_session, p.right_session, p.diff_deg) for p in pairs] == [(1, 1, 2.5)]
    page = render_html(sessions)
    # the latest left (30) and right (45) would give a 15° "asymmetry": never reported
    assert "+15.0°" not in page and "lags by 15" not in page
    assert "right − left +2.5°" in page and "no difference beyond" in page
    assert re.search(r"latest left \(session 2, 2026-10-12\) and the latest right \(session 3, "
                     r"2026-10-19\) were measured on different occasions", page)  # fmt: skip


def test_same_day_sessions_pair_up_and_say_so(tmp_path: Path) -> None:
    sessions = stored(tmp_path, [
        summary(MONDAY, {IR: {"left": side(20.0, 30)}}, name="am"),
        summary(MONDAY + timedelta(hours=3), {IR: {"right": side(33.0, 30)}}, name="pm"),
    ])  # fmt: skip
    [pair] = side_pairs(build_series(sessions)[IR])
    assert (pair.left_session, pair.right_session, pair.same_session) == (1, 2, False)
    page = render_html(sessions)
    assert "same day, two sessions: left from 1, right from 2" in page
    assert "the left side lags by 13.0°" in page


def test_arc_only_from_one_day(tmp_path: Path) -> None:
    er = "external-rotation"
    sessions = stored(tmp_path, [
        summary(MONDAY, {IR: {"left": side(30.0, 30), "right": side(31.0, 30)}}, name="ir"),
        summary(MONDAY + timedelta(days=1), {er: {"left": side(40.0, 30, direction=-1),
                                                  "right": side(41.0, 30, direction=-1)}},
                name="er"),
    ])  # fmt: skip
    assert arcs(build_series(sessions)) == []
    page = render_html(sessions)
    assert "No day has both rotation stretches" in page and "70.0°" not in page


def test_best_is_never_negative(tmp_path: Path) -> None:
    never = side(-6.5, 0)  # the hip never turned in the stretch's direction
    sessions = stored(tmp_path, [summary(MONDAY, {IR: {"left": never}}, name="x")])
    stats = trend(build_series(sessions)[IR]["left"]).stats
    assert stats is not None and stats.best_deg is None
    assert "none (never reached the stretch&#x27;s direction)" in render_html(sessions) or (
        "none (never reached the stretch's direction)" in render_html(sessions))


def test_camera_moved_restarts_the_trend_and_warns(tmp_path: Path) -> None:
    week = timedelta(days=7)
    values = [(20.0, 2.0), (21.0, 3.0), (35.0, 26.0), (36.0, 25.0)]  # the view turned 23°
    sessions = stored(tmp_path, [
        summary(MONDAY + i * week, {IR: {"left": side(v, 30), "right": side(v + 1, 30)}},
                name=f"s{i}", yaw=yaw) for i, (v, yaw) in enumerate(values)])  # fmt: skip
    t = trend(build_series(sessions)[IR]["left"])
    assert [p.session_id for p in t.points] == [3, 4] and len(t.earlier) == 2
    assert t.stats is not None and t.stats.change_since_first_deg == pytest.approx(1.0)
    page = render_html(sessions)
    assert "Camera set-up changed</b> between session 2" in page and "about 23°" in page
    assert "+16.0°" not in page and "real improvement" not in page  # 20 -> 36 is not compared


def test_image_size_change_is_another_setup(tmp_path: Path) -> None:
    sessions = stored(tmp_path, [
        summary(MONDAY, {IR: {"left": side(20.0, 30)}}, name="a", size=(640, 480)),
        summary(MONDAY + timedelta(days=7), {IR: {"left": side(30.0, 30)}}, name="b"),
    ])  # fmt: skip
    assert "from 640×480 to 1280×720 pixels" in render_html(sessions)


def test_time_axis_spans_a_same_day_history() -> None:
    times = [MONDAY, MONDAY + timedelta(hours=2)]
    lo, hi = time_limits(times)
    assert hi - lo == timedelta(hours=2, minutes=40)  # 20 min either side, not a week


def test_local_dates_zone_named_no_paths_and_per_session_numbers(tmp_path: Path) -> None:
    sessions = stored(tmp_path, [summary(MONDAY, {IR: {"left": side(25.0, 40, gain=3.5,
                                                                     end_range_s=12.0)}},
                                         name="anna_1")])  # fmt: skip
    page = render_html(sessions)
    assert "local time (CEST, UTC+02:00" in page or "local time (CEST" in page
    assert "2026-10-05 18:00" in page  # 16:00 UTC
    assert "anna_1.mp4" in page and "/home/physio" not in page and "clips/" not in page
    assert "h.sqlite3" not in page and str(tmp_path) not in page
    assert "research notes" not in page and "§" not in page
    row = re.search(r"<tr><td>2026-10-05 18:00</td><td>1</td>.*?</tr>", page)
    assert row is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0))
    # peak, held, within 5° of peak, holds, gained over holds
    assert cells[3:8] == ["25.0°", "40 s", "12 s", "2", "+3.5°"]


def test_sessions_of_two_people_are_refused(tmp_path: Path) -> None:
    with Store.open(tmp_path / "h.sqlite3") as store:
        store.add_session(summary(MONDAY, {IR: {"left": side(20.0, 30)}}, name="a"), person="A")
        store.add_session(summary(MONDAY, {IR: {"left": side(40.0, 30)}}, name="b"), person="B")
        mixed = store.sessions()
    with pytest.raises(ValueError, match="several people"):
        render_html(mixed)


def test_clinic_reports_keep_clients_apart(tmp_path: Path) -> None:
    made = make_clinic(tmp_path / "clinic.sqlite3")
    with Store.open(tmp_path / "clinic.sqlite3") as store:
        pages = {p: render_html(store.sessions(person=p)) for p in made}
    for person, page in pages.items():
        assert person in page
        for other in made:
            if other != person:
                first_name = other.split()[0].lower()
                assert other not in page and f"{first_name}_" not in page
    assert "lags by 16.0°" in pages["Anna Berg"]
    assert "Camera set-up changed" in pages["Ben Okafor"]
    assert "No session (and no day) has both sides doing" in pages["Ben Okafor"]


def test_a_side_that_did_not_hold_the_stretch_is_not_compared(tmp_path: Path) -> None:
    resting = {**side(1.5, 0), "holds": [], "total_hold_s": 0.0}  # sat still: 1.5° peak
    sessions = stored(tmp_path, [
        summary(MONDAY, {IR: {"left": resting, "right": side(30.0, 30)}}, name="right_only"),
    ])  # fmt: skip
    assert side_pairs(build_series(sessions)[IR]) == []
    page = render_html(sessions)
    assert "lags by" not in page and "has both sides doing" in page


def test_a_stiff_side_without_a_hold_is_still_compared(tmp_path: Path) -> None:
    stiff = {**side(12.0, 0), "holds": [], "total_hold_s": 0.0}  # tried, never reached 20°
    sessions = stored(tmp_path, [
        summary(MONDAY, {IR: {"left": stiff, "right": side(30.0, 30)}}, name="stiff_left"),
    ])  # fmt: skip
    assert "the left side lags by 18.0°" in render_html(sessions)
