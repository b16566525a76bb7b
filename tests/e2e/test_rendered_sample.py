"""The README's first command on the rendered sample (samples/rendered_seated_irer_right.mp4):
a seated person, right leg, IR 35 then ER 40, front camera; the true angles of every frame
are in its truth file. This checks what a new user is promised (real holds of both
rotation stretches at the right times, peaks of the right sign and size, a still left leg),
with loose bounds (right direction, at least half the true angle); the accuracy targets
are measured by benchmarks/bench_rendered.py."""

from __future__ import annotations

import csv
import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "rendered_seated_irer_right.mp4"
TRUTH = ROOT / "samples" / "rendered_seated_irer_right.truth.json.gz"

pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, list[dict], dict]:
    out = tmp_path_factory.mktemp("rendered")
    r = subprocess.run([sys.executable, "-m", "posecheck", "analyse", str(SAMPLE), "--no-video",
                        "--no-store", "--out", str(out)], capture_output=True, text=True,
                       cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    d = out / SAMPLE.stem
    summary = json.loads((d / "summary.json").read_text())
    with open(d / "frames.csv", newline="") as fh:
        frames = list(csv.DictReader(fh))
    with gzip.open(TRUTH, "rt") as fh:
        truth = json.load(fh)
    return summary, frames, truth


def _plateau(truth: dict, sign: float) -> tuple[float, float, float]:
    """(start, end, angle) of the held true right-hip rotation in the direction ``sign``."""
    rot = [(f["t"], f["truth"]["right"]["rotation_deg"]) for f in truth["frames"]]
    peak = max(sign * v for _, v in rot)
    ts = [t for t, v in rot if abs(sign * v - peak) < 0.01]
    return ts[0], ts[-1], sign * peak


def test_truth_is_the_documented_routine(run) -> None:
    _, _, truth = run
    assert truth["working_leg"] == "right" and truth["sequence"] == "ir_er"
    assert _plateau(truth, 1.0)[2] == pytest.approx(35.0)
    assert _plateau(truth, -1.0)[2] == pytest.approx(-40.0)


def test_both_rotation_holds_are_found_on_the_working_leg(run) -> None:
    summary, _, truth = run
    holds = summary["sides"]["right"]["holds"]
    for stretch, sign in (("internal-rotation", 1.0), ("external-rotation", -1.0)):
        t0, t1, _ = _plateau(truth, sign)
        mine = [h for h in holds if h["stretch"] == stretch]
        assert len(mine) == 1, holds
        h = mine[0]
        assert h["start_s"] < t1 and h["end_s"] > t0  # overlaps the true held position
        assert h["duration_s"] >= 0.5 * (t1 - t0)
    assert summary["sides"]["left"]["holds"] == []  # the still leg holds nothing


def test_peaks_have_the_right_sign_and_size(run) -> None:
    summary, _, _ = run
    right, left = summary["sides"]["right"], summary["sides"]["left"]
    assert 17.5 <= right["peak_internal_deg"] <= 52.5  # true 35
    assert 20.0 <= right["peak_external_deg"] <= 60.0  # true 40
    assert max(left["peak_internal_deg"], left["peak_external_deg"]) < 10.0  # true 0


def test_held_positions_read_in_the_right_direction(run) -> None:
    _, frames, truth = run
    for sign in (1.0, -1.0):
        t0, t1, angle = _plateau(truth, sign)
        vals = [float(f["right_rotation_deg"]) for f in frames
                if f["right_rotation_deg"] and t0 <= float(f["t"]) <= t1]
        assert len(vals) >= 0.5 * (t1 - t0) * truth["fps"]  # mostly shown, not `--`
        assert sign * sum(vals) / len(vals) > 0.5 * abs(angle)
