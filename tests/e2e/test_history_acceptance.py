"""Issue 6 acceptance: two analysed videos and one headless live run -> three sessions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.model, pytest.mark.slow]


def posecheck(*args: str, db: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "posecheck", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "POSECHECK_DB": str(db)})
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc


def test_two_videos_and_a_live_run_make_three_sessions(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    posecheck("analyse", "samples/pose2sim_cam01.mp4", "samples/tfjs_pose_squats.mp4",
              "--no-video", "--out", str(tmp_path / "out"), db=db)
    posecheck("live", "--source", "samples/tfjs_pose_squats.mp4", "--headless",
              "--stretch", "internal-rotation", "--max-seconds", "4",
              "--out", str(tmp_path / "live"), db=db)
    # analysing the same video again is not a new session
    posecheck("analyse", "samples/tfjs_pose_squats.mp4", "--no-video",
              "--out", str(tmp_path / "again"), db=db)
    sessions = json.loads(posecheck("history", "--json", db=db).stdout)
    assert len(sessions) == 3
    assert sorted(s["kind"] for s in sessions) == ["live", "video", "video"]
    table = posecheck("history", db=db).stdout
    assert "tfjs_pose_squats" in table and "pose2sim_cam01" in table
    html = tmp_path / "report.html"
    posecheck("report", "--out", str(html), "--png", str(tmp_path / "png"), db=db)
    assert "<img" in html.read_text() and list((tmp_path / "png").glob("*.png"))
