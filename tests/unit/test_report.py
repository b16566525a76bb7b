"""Tests of the measurement-noise rule (posecheck.mdc) and the progress report."""

from __future__ import annotations

import math
import re
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from test_store import START, make_history, make_summary

from posecheck.mdc import (
    DEFAULT_MDC_DEG,
    choose_mdc,
    is_real_change,
    mdc_from_sem,
    personal_mdc,
)
from posecheck.report import arcs, build_series, series_stats
from posecheck.report_html import render_html
from posecheck.report_plots import write_pngs
from posecheck.store import SessionRecord, Store, local_time

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def stored(tmp_path: Path, summaries: list[dict]) -> list[SessionRecord]:
    with Store.open(tmp_path / "h.sqlite3") as store:
        for summary in summaries:
            store.add_session(summary, force=True)
        return store.sessions()


# --- MDC ------------------------------------------------------------------------------------


def test_convention_mdc_from_sem() -> None:
    # MDC95 = 1.96 * sqrt(2) * SEM (research notes §1.4): SEM 2.0° -> 5.544°.
    assert mdc_from_sem(2.0) == pytest.approx(5.5437, abs=1e-4)
    with pytest.raises(ValueError, match="sem_deg"):
        mdc_from_sem(-1.0)


def test_personal_mdc_needs_three_sessions() -> None:
    assert personal_mdc([0.0, 7.0], [20.0, 25.0]) is None
    assert personal_mdc([0, 7, 14], [20.0, 22.0, 24.0]) == pytest.approx(0.0, abs=1e-9)


def test_personal_mdc_ignores_steady_progress_and_measures_scatter() -> None:
    days = [0.0, 3.0, 7.0, 10.0, 14.0, 21.0]
    wobble = [2.5, -1.0, -2.0, 3.0, -0.5, -2.0]
    values = [20.0 + 0.4 * d + w for d, w in zip(days, wobble, strict=True)]
    # independent derivation: numpy least-squares line, residual SD with n - 2 dof
    residuals = np.asarray(values) - np.polyval(np.polyfit(days, values, 1), days)
    sem = math.sqrt(float(np.sum(residuals**2)) / (len(values) - 2))
    assert personal_mdc(days, values) == pytest.approx(1.96 * math.sqrt(2) * sem)


def test_choose_mdc_only_raises_the_default() -> None:
    calm = choose_mdc([0, 7, 14, 21], [20.0, 20.5, 21.0, 21.5])
    assert calm.value_deg == DEFAULT_MDC_DEG and "literature" in calm.source
    noisy = choose_mdc([0, 7, 14, 21], [20.0, 32.0, 18.0, 30.0])
    assert noisy.value_deg > DEFAULT_MDC_DEG and noisy.personal_deg == noisy.value_deg
    assert "your own" in noisy.source
    assert is_real_change(-6.5, 6.0) and not is_real_change(6.0, 6.0)


# --- series and statistics ---------------------------------------------------------------


def test_series_stats_on_six_weeks(tmp_path: Path) -> None:
    series = build_series(stored(tmp_path, make_history(weeks=6)))
    assert sorted(series) == ["external-rotation", "internal-rotation"]
    right_ir = series_stats(series["internal-rotation"]["right"])
    assert right_ir is not None and right_ir.n == 6
    # make_history: right IR goes from 22.0 to 22.0 + 9.0, 1.8 per week
    assert right_ir.change_since_first_deg == pytest.approx(9.0)
    assert right_ir.change_since_previous_deg == pytest.approx(1.8)
    assert right_ir.real_since_first and not right_ir.real_since_previous
    left_ir = series_stats(series["internal-rotation"]["left"])
    assert left_ir is not None and left_ir.change_since_first_deg == pytest.approx(1.8)
    assert not left_ir.real_since_first


def test_series_single_session_has_no_change(tmp_path: Path) -> None:
    series = build_series(stored(tmp_path, [make_summary()]))
    stats = series_stats(series["internal-rotation"]["left"])
    assert stats is not None and stats.previous is None and not stats.real_since_first


def test_never_measured_side_has_no_stats(tmp_path: Path) -> None:
    summary = make_summary()
    side = summary["by_stretch"]["internal-rotation"]["sides"]["left"]
    side.update(peak_measured_deg=None, peak_rotation_deg=None, peak_internal_deg=None)
    series = build_series(stored(tmp_path, [summary]))
    assert series_stats(series["internal-rotation"]["left"]) is None
    assert "never measured" in render_html(stored(tmp_path / "b", [summary]))


def test_arc_of_each_day_with_both_rotation_stretches(tmp_path: Path) -> None:
    days = arcs(build_series(stored(tmp_path, make_history(weeks=3))))
    assert len(days) == 6  # 3 days x 2 sides
    right = [a for a in days if a.side == "right"][-1]
    # last week: IR stretch right 22 + 9 = 31.0, ER stretch right 33 + 9*0.4 = 36.6
    assert right.day == local_time(START + timedelta(days=14)).date()
    assert right.internal_deg == pytest.approx(31.0)
    assert right.external_deg == pytest.approx(36.6)
    assert right.total_deg == pytest.approx(67.6)
    assert right.ir_sessions == (5,) and right.er_sessions == (6,)


# --- HTML and PNG --------------------------------------------------------------------------


def test_report_contains_trends_changes_and_noise_rule(tmp_path: Path) -> None:
    page = render_html(stored(tmp_path, make_history(weeks=6)))
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("data:image/png;base64,") == 2  # one plot per stretch
    assert "+9.0°" in page and "real improvement" in page
    assert "left side lags by 15.2°" in page  # latest: right 31.0, left 14 + 1.8 = 15.8
    assert "Krause" in page and "Gradoz" in page and "6°" in page
    assert "Rotation arc" in page
    assert "<script" not in page.lower()  # self-contained, nothing to run


def test_report_escapes_user_text(tmp_path: Path) -> None:
    evil = make_summary(input_name="<img src=x onerror='alert(1)'>.mp4",
                        stretch="<b>my stretch</b>")
    with Store.open(tmp_path / "h.sqlite3") as store:
        store.add_session(evil, person="<i>Eve</i>")
        page = render_html(store.sessions())
    assert "<img src=x" not in page and "<b>my stretch</b>" not in page and "<i>Eve" not in page
    assert "&lt;img src=x onerror=&#x27;alert(1)&#x27;&gt;.mp4" in page
    assert "&lt;b&gt;my stretch&lt;/b&gt;" in page and "&lt;i&gt;Eve&lt;/i&gt;" in page


def test_empty_history_report_says_so(tmp_path: Path) -> None:
    page = render_html([])
    assert "No sessions yet" in page and "<img" not in page
    assert write_pngs([], tmp_path / "plots") == []


def test_interrupted_sessions_are_listed_as_such(tmp_path: Path) -> None:
    page = render_html(stored(tmp_path, [make_summary(kind="live", interrupted=True)]))
    assert "live (interrupted)" in page


def test_pngs_per_stretch_into_directory_or_one_file(tmp_path: Path) -> None:
    sessions = stored(tmp_path, make_history(weeks=3))
    files = write_pngs(sessions, tmp_path / "plots")
    assert [f.name for f in files] == ["trend_external-rotation.png", "trend_internal-rotation.png"]
    single = write_pngs(sessions, tmp_path / "out" / "all.png")
    assert single == [tmp_path / "out" / "all.png"]
    for path in [*files, *single]:
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    width, height = (int.from_bytes(single[0].read_bytes()[o : o + 4], "big") for o in (16, 20))
    assert height > width  # two stretches stacked: four panels


def test_report_png_slug_is_file_safe(tmp_path: Path) -> None:
    files = write_pngs(stored(tmp_path, [make_summary(stretch="../../etc/x y")]), tmp_path / "p")
    assert len(files) == 1 and files[0].parent == tmp_path / "p"
    assert re.fullmatch(r"trend_[A-Za-z0-9_.-]+\.png", files[0].name)
