"""benchmarks/bench_rendered.py: the table and target logic on a small fake scorer output
(no rendering, no posecheck run)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from bench_module import load_benchmark

bench = load_benchmark("bench_rendered")


def _side(role: str, mae: float, n: int = 100, bias: float = 0.0, gain: float | None = 1.0,
          cov: float = 1.0, ir: tuple[float, float] = (35.0, 35.0),
          er: tuple[float, float] = (40.0, 40.0), max_err: float = 1.0,
          hold: tuple[float, float] | None = None) -> dict:
    s = {"role": role, "coverage": cov, "n": n, "mae_deg": mae, "bias_deg": bias, "gain": gain,
         "peak_ir": {"measured_deg": ir[0], "truth_deg": ir[1], "error_deg": ir[0] - ir[1]},
         "peak_er": {"measured_deg": er[0], "truth_deg": er[1], "error_deg": er[0] - er[1]},
         "max_abs_error_deg": max_err, "crosstalk_max_abs_deg": max_err, "holds": {}}
    if hold is not None:
        s["holds"] = {"internal-rotation": {"measured_hold_s": hold[0], "truth_hold_s": hold[1]}}
    return s


def _case(name: str, working: dict, still: dict, leg: str = "right", glute: dict | None = None
          ) -> dict:
    other = "left" if leg == "right" else "right"
    c = {"case": name, "working_leg": leg, "still_leg": other,
         "posecheck_stretch": "deep-glute" if glute else None,
         "sides": {leg: working, other: still}}
    if glute:
        c["deep_glute"] = glute
    return c


STILL = _side("still", 1.0, gain=None, ir=(1.0, 0.0), er=(1.0, 0.0), max_err=3.0)


def _by(tg: list, group: str, metric: str):
    got = [t for t in tg if t.group == group and t.metric.startswith(metric)]
    assert len(got) == 1, (group, metric, tg)
    return got[0]


def test_view_groups_follow_the_targets_table() -> None:
    assert bench.view_group(0) == bench.view_group(-10) == bench.FRONT
    assert bench.view_group(20) == bench.view_group(-30) == bench.view_group(25) == bench.SIDE
    assert bench.view_group(40) == bench.view_group(-35) == bench.WIDE


def test_targets_pass_and_fail_per_view() -> None:
    cases = [
        # front: MAE 2.0 and 3.0 on 100 and 300 frames -> pooled 2.75 > 2.5 (FAIL); peaks ok
        _case("f1", _side("working", 2.0, n=100, ir=(36.0, 35.0), hold=(3.0, 3.2)), STILL),
        _case("f2", _side("working", 3.0, n=300, gain=0.95, er=(38.0, 40.0)), STILL, "left"),
        # side: good MAE, slope 0.8 out of 0.85-1.15, still leg reads 7 deg
        _case("s1", _side("working", 3.5, gain=0.8, ir=(31.0, 35.0)),
              _side("still", 2.0, gain=None, max_err=7.0)),
        # deep glute (front): adduction MAE 3.5 -> PASS; not counted in rotation MAE
        _case("g1", _side("working", 30.0, gain=None, ir=(0.0, 0.0), er=(0.0, 0.0)), STILL,
              glute={"side": "right", "all_frames": {"mae_deg": 3.5}}),
    ]
    yaws = {"f1": 0.0, "f2": -10.0, "s1": 25.0, "g1": 0.0}
    tg = bench.targets(cases, yaws)
    mae = _by(tg, bench.FRONT, "per-frame MAE")
    assert mae.value == pytest.approx(2.75) and mae.ok is False
    assert _by(tg, bench.FRONT, "peak").value == pytest.approx(2.0)
    assert _by(tg, bench.FRONT, "peak").ok is True
    assert _by(tg, bench.FRONT, "slope").ok is True
    assert _by(tg, bench.FRONT, "deep-glute").value == pytest.approx(3.5)
    assert _by(tg, bench.FRONT, "deep-glute").ok is True
    hold = _by(tg, bench.FRONT, "hold")
    assert hold.value == pytest.approx(0.2) and hold.ok is True
    assert _by(tg, bench.SIDE, "per-frame MAE").ok is True
    assert _by(tg, bench.SIDE, "peak").value == pytest.approx(4.0)
    slope = _by(tg, bench.SIDE, "slope")
    assert slope.ok is False and slope.value == pytest.approx(0.8)
    still = _by(tg, bench.SIDE, "still")
    assert still.ok is False and still.value == pytest.approx(7.0) and still.note == "s1"
    assert not [t for t in tg if t.group == bench.WIDE]


def test_wide_view_needs_values_or_a_camera_message() -> None:
    blank = _side("working", float("nan"), n=0, gain=None, cov=0.0)
    blank["mae_deg"] = None
    cases = [_case("w1", blank, STILL)]
    tg = bench.targets(cases, {"w1": 40.0}, {"w1": {"sides": {"right": {"peak": None}}}})
    assert _by(tg, bench.WIDE, "per-frame MAE").ok is False
    msg = {"setup": ["Camera is 40° to the side: move it in front of the knees"]}
    tg = bench.targets(cases, {"w1": 40.0}, {"w1": msg})
    assert _by(tg, bench.WIDE, "per-frame MAE").ok is True
    shown = [_case("w2", _side("working", 6.5), STILL)]
    assert _by(bench.targets(shown, {"w2": -40.0}), bench.WIDE, "per-frame MAE").ok is False


def test_report_prints_rows_per_side_and_counts(tmp_path: Path, capsys) -> None:
    scores = {"cases": [_case("f1", _side("working", 2.0, hold=(3.0, 3.2)), STILL)],
              "overall": {}}
    (tmp_path / "scores.json").write_text(json.dumps(scores))
    with gzip.open(tmp_path / "f1.truth.json.gz", "wt") as fh:
        json.dump({"case": "f1", "camera": {"yaw_deg": -10}}, fh)
    rc = bench.main(["--scores", str(tmp_path / "scores.json"), "--set", str(tmp_path),
                     "--strict"])
    out = capsys.readouterr().out
    assert rc == 0
    rows = [ln for ln in out.splitlines() if ln.startswith("f1 ")]
    assert len(rows) == 2 and "-10" in rows[0]
    assert "targets met: 6 of 6" in out


def test_missing_kit_says_so_and_exits_0(tmp_path: Path, capsys) -> None:
    assert bench.main(["--kit", str(tmp_path / "nokit")]) == 0
    assert "render kit not found" in capsys.readouterr().out


def _truth_ramp(fps: float = 30.0) -> dict:
    """A right leg at 0 deg, 30 deg IR from 2 to 6 s (instant steps), 0 after, to 9 s."""
    frames = []
    for i in range(int(9 * fps)):
        t = i / fps
        rot = 30.0 if 2.0 <= t < 6.0 else 0.0
        frames.append({"t": t, "truth": {"right": {"rotation_deg": rot, "hip_abduction_deg": 0.0},
                                         "left": {"rotation_deg": 0.0,
                                                  "hip_abduction_deg": 0.0}}})
    return {"case": "c", "working_leg": "right", "frames": frames}


def _summary(holds: list[tuple[float, float]]) -> dict:
    return {"by_stretch": {"internal-rotation": {"threshold_deg": 20.0, "sides": {
        "right": {"holds": [{"start_s": a, "end_s": b} for a, b in holds]}}}}}


def test_true_holds_use_posecheck_hold_rule() -> None:
    tr = _truth_ramp()
    t = [f["t"] for f in tr["frames"]]
    v = [f["truth"]["right"]["rotation_deg"] for f in tr["frames"]]
    (a, b), = bench.true_holds(t, v, 20.0, 3.0)
    assert a == pytest.approx(2.0, abs=0.04) and b == pytest.approx(6.0, abs=0.04)


def test_hold_timing_pairs_measured_with_true_holds() -> None:
    tr = _truth_ramp()
    (lab, e0, e1), = bench.hold_timing(tr, _summary([(2.3, 5.8)]))
    assert "internal-rotation" in lab
    assert e0 == pytest.approx(0.3, abs=0.05) and e1 == pytest.approx(-0.2, abs=0.05)
    # a split hold: the larger piece is paired, the smaller one is an extra hold
    got = bench.hold_timing(tr, _summary([(2.0, 2.6), (3.5, 6.0)]))
    assert [g[0].split()[1] for g in got] == ["2.0-6.0", "extra"]
    assert got[0][1] == pytest.approx(1.5, abs=0.05)
    assert got[1][1] == pytest.approx(0.6, abs=0.01)
    # a missed hold is an error of its whole duration
    (lab, e0, e1), = bench.hold_timing(tr, _summary([]))
    assert "missed" in lab and e0 == pytest.approx(-4.0, abs=0.05)


def test_hold_start_end_target_fails_beyond_half_a_second() -> None:
    tr = _truth_ramp()
    case = _case("c", _side("W", 1.0, hold=(3.5, 4.0)), STILL)
    good = bench.targets([case], {"c": 0.0}, {"c": _summary([(2.2, 6.1)])}, {"c": tr})
    bad = bench.targets([case], {"c": 0.0}, {"c": _summary([(2.8, 6.1)])}, {"c": tr})
    assert _by(good, bench.FRONT, "hold start/end").ok is True
    t = _by(bad, bench.FRONT, "hold start/end")
    assert t.ok is False and t.value == pytest.approx(0.8, abs=0.05) and "start" in t.note
    # without truth files the row is not printed
    assert not [x for x in bench.targets([case], {"c": 0.0}) if "start/end" in x.metric]
