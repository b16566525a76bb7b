"""``posecheck live`` end to end on a bundled video played as a camera would deliver it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from posecheck.landmark_io import read_landmarks
from posecheck.routine import Routine, make_steps
from posecheck.session import Session
from posecheck.stretches import load_catalogue

ROOT = Path(__file__).resolve().parents[2]
VIDEO = ROOT / "samples" / "tfjs_pose_squats.mp4"
RENDERED = ROOT / "samples" / "rendered_seated_irer_right.mp4"  # 640x480, right hip IR/ER

pytestmark = [pytest.mark.model, pytest.mark.slow]


def live(*args: str, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "posecheck", "live", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_headless_run_saves_a_summary_that_replays_exactly(tmp_path: Path) -> None:
    out = tmp_path / "session"
    proc = live("--source", str(RENDERED), "--headless", "--stretch", "internal-rotation",
                "--countdown", "0", "--no-store", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["kind"] == "live" and summary["interrupted"] is False
    assert summary["frames"] > 20 and summary["frames_with_pose"] > 0.9 * summary["frames"]
    assert summary["live"]["stop_reason"] == "source ended"
    # the live run measured something once the setup and neutral phases were over
    assert any(s["frames_measured"] > 0 for s in summary["sides"].values())
    # replay: the same routine over the landmark file gives exactly the same numbers
    stretch = load_catalogue()["internal-rotation"]
    session = Session([stretch])
    routine = Routine(session, make_steps([stretch], ["left", "right"]), countdown_s=0.0)
    for frame in read_landmarks(out / "landmarks.jsonl"):
        routine.update(frame)
    session.finish()
    replay = session.summary()
    for key in ("frames", "frames_with_pose", "sides", "by_stretch"):
        assert replay[key] == summary[key], key


def test_ctrl_c_still_saves_what_was_measured(tmp_path: Path) -> None:
    out = tmp_path / "session"
    proc = subprocess.Popen(
        [sys.executable, "-m", "posecheck", "live", "--source", str(VIDEO), "--headless",
         "--no-store", "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        # a shell's background job ignores SIGINT, and a child would inherit that
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not (out / "landmarks.jsonl").exists() and not list(out.glob(".landmarks*")):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    time.sleep(3.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] is True
    assert summary["frames"] > 0
    assert sum(1 for _ in read_landmarks(out / "landmarks.jsonl")) == summary["frames"]


def test_rendered_stretch_reaches_the_stretch_and_a_hold_headless(tmp_path: Path) -> None:
    out = tmp_path / "session"
    proc = live("--source", str(RENDERED), "--headless", "--stretch", "external-rotation",
                "--side", "right", "--no-store", "--no-sound", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "keys:" not in proc.stdout  # no key help where no keys work
    assert "go: Seated hip external rotation" in proc.stdout
    assert "right: hold started at" in proc.stdout, proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    right = summary["by_stretch"]["external-rotation"]["sides"]["right"]
    assert len(right["holds"]) >= 1 and right["peak_measured_deg"] >= 25.0
    assert summary["live"]["ended_in_phase"] in ("measure", "done")


def test_a_file_that_ends_before_measuring_says_so(tmp_path: Path) -> None:
    # 13 s of squats and a 30 s countdown: the file ends before measuring can begin
    proc = live("--source", str(VIDEO), "--headless", "--stretch", "internal-rotation",
                "--countdown", "30", "--no-store", "--no-sound", "--out", str(tmp_path / "s"))
    assert proc.returncode == 0, proc.stderr
    assert "session ended: source ended during the " in proc.stdout, proc.stdout
    assert "nothing measured: the session ended in the " in proc.stdout
    assert "before measuring began" in proc.stdout
    assert "no suitable view of the legs" not in proc.stdout


@pytest.fixture(params=["1280x800"])
def xvfb_display(request: pytest.FixtureRequest):
    """A private X server of a laptop's screen size for the window tests (CI installs
    Xvfb)."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (CI installs it; apt-get install xvfb)")
    display = f":{90 + os.getpid() % 500}"
    server = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{request.param}x24"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    yield display
    server.terminate()
    server.wait(timeout=10)


def test_window_mode_runs_and_records(tmp_path: Path, xvfb_display: str) -> None:
    out = tmp_path / "session"
    video = tmp_path / "rec.mp4"
    proc = live("--source", str(VIDEO), "--stretch", "external-rotation", "--countdown", "0",
                "--max-seconds", "4", "--no-store", "--out", str(out), "--record", str(video),
                env={"DISPLAY": xvfb_display, "QT_QPA_PLATFORM": "xcb"})
    assert proc.returncode == 0, proc.stderr
    import cv2

    cap = cv2.VideoCapture(str(video))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cap.release()
    assert n >= 10


def _window_width(display: str) -> int | None:
    """The posecheck window's width from xwininfo (None while there is no such window)."""
    proc = subprocess.run(["xwininfo", "-name", "posecheck"], capture_output=True, text=True,
                          env={**os.environ, "DISPLAY": display}, timeout=10)
    for line in proc.stdout.splitlines():
        if line.strip().startswith("Width:"):
            return int(line.split(":")[1])
    return None


def test_window_opens_as_large_as_the_screen_allows(tmp_path: Path, xvfb_display: str) -> None:
    """Under a 1280x800 screen a 640x480 camera gets a window at least 960 px wide (it was
    400x300), seen from outside (xwininfo) and by the app itself (summary)."""
    out = tmp_path / "session"
    proc = subprocess.Popen(
        [sys.executable, "-m", "posecheck", "live", "--source", str(RENDERED), "--stretch",
         "internal-rotation", "--side", "right", "--max-seconds", "6", "--no-store",
         "--no-sound", "--out", str(out)], cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
        env={**os.environ, "DISPLAY": xvfb_display, "QT_QPA_PLATFORM": "xcb"})
    widths = []
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if shutil.which("xwininfo"):
            width = _window_width(xvfb_display)
            if width:
                widths.append(width)
        time.sleep(0.5)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    summary = json.loads((out / "summary.json").read_text())
    shown_w, shown_h = summary["live"]["window_px"]
    assert shown_w >= 960 and shown_w / shown_h == pytest.approx(640 / 480, rel=0.02)
    if shutil.which("xwininfo"):
        assert widths and max(widths) >= 960, widths


@pytest.mark.parametrize("source, message", [
    ("no/such/video.mp4", "not found"),
    ("7", "Cannot open camera 7"),
])
def test_bad_sources_give_one_line(source: str, message: str, tmp_path: Path) -> None:
    proc = live("--source", source, "--headless", "--no-store", "--out", str(tmp_path / "s"))
    assert proc.returncode == 1
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("env_change", [
    {"DISPLAY": None, "WAYLAND_DISPLAY": None, "QT_QPA_PLATFORM": None},
    {"DISPLAY": ":0", "QT_QPA_PLATFORM": "nosuchplatform"},
])
def test_no_usable_display_is_a_clear_error(env_change: dict) -> None:
    env = {k: v for k, v in os.environ.items() if k not in env_change}
    env.update({k: v for k, v in env_change.items() if v is not None})
    proc = subprocess.run([sys.executable, "-m", "posecheck", "live", "--source", str(VIDEO),
                           "--no-store"], cwd=ROOT, capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 1 and "--headless" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
