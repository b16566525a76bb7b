"""``posecheck analyse`` end to end: the sample video, its landmarks (replay = video), bad
inputs in one batch, the history store and the CLI's errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from mp4box import CHROMIUM_PLAYS, mp4_video_codec

from posecheck.cli import main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "pose2sim_cam01.mp4"  # portrait 1080x1920, 100 frames, 60 fps
SAMPLE_LANDMARKS = ROOT / "samples" / "pose2sim_cam01.landmarks.jsonl"
OUTPUTS = ("summary.json", "frames.csv", "landmarks.jsonl", "annotated.mp4", "angles.png")
# everything the session measured (the metadata differs between a video and its landmarks)
MEASURED = ("frames", "frames_with_pose", "duration_s", "stretch", "threshold_deg", "sides",
            "by_stretch", "neutral")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "posecheck", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=300)


def write_video(path: Path, frames: list[np.ndarray], fps: float = 15.0) -> None:
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("analyse")
    assert main(["analyse", str(SAMPLE), "--out", str(out), "--no-store", "--mot"]) == 0
    return out / SAMPLE.stem


@pytest.mark.model
def test_sample_video_writes_every_output(sample_run: Path):
    for name in (*OUTPUTS, "angles.mot"):
        assert (sample_run / name).stat().st_size > 0, name
    assert not list(sample_run.glob(".*"))  # no temporary files left behind
    s = json.loads((sample_run / "summary.json").read_text())
    assert s["kind"] == "video" and s["input"] == str(SAMPLE)
    assert s["model"]["name"].endswith(".task") and len(s["model"]["sha256"]) == 64
    assert s["fps"] == pytest.approx(60.0) and s["frames"] == 100
    assert s["frames_with_pose"] > 90
    lines = (sample_run / "frames.csv").read_text().splitlines()
    assert len(lines) == 1 + s["frames"]
    # portrait phone video: landmarks are for the upright 1080x1920 frame
    first = json.loads((sample_run / "landmarks.jsonl").open().readline())
    assert first["image_size"] == [1080, 1920]
    cap = cv2.VideoCapture(str(sample_run / "annotated.mp4"))
    w, h = cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)
    n, fps = cap.get(cv2.CAP_PROP_FRAME_COUNT), cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    # the 60 fps clip's 1.67 s shown at 30 fps (VIDEO_MAX_FPS): every other frame
    assert h > w and h == 960 and fps == pytest.approx(30.0) and n == pytest.approx(50, abs=1)
    assert mp4_video_codec(sample_run / "annotated.mp4") == "avc1"  # H.264: browsers play it
    assert "avc1" in CHROMIUM_PLAYS


@pytest.mark.model
def test_replaying_the_landmarks_gives_the_same_summary(sample_run: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]):
    video = json.loads((sample_run / "summary.json").read_text())
    assert main(["analyse", str(sample_run / "landmarks.jsonl"), "--out", str(tmp_path),
                 "--no-store"]) == 0
    replay = json.loads((tmp_path / "landmarks" / "summary.json").read_text())
    assert replay["kind"] == "landmarks" and replay["model"] is None
    assert {k: replay[k] for k in MEASURED} == {k: video[k] for k in MEASURED}
    assert (tmp_path / "landmarks" / "frames.csv").read_text() == \
        (sample_run / "frames.csv").read_text()
    assert not (tmp_path / "landmarks" / "annotated.mp4").exists()
    out = capsys.readouterr().out
    assert out.startswith("landmarks.jsonl: 100 frames, person in ")


def sample_frames(n: int, size: tuple[int, int] = (270, 480)) -> list[np.ndarray]:
    """The first ``n`` frames of the sample, shrunk to ``size`` (w, h), BGR."""
    cap = cv2.VideoCapture(str(SAMPLE))
    frames = []
    while len(frames) < n:
        ok, bgr = cap.read()
        assert ok
        frames.append(cv2.resize(bgr, size))
    cap.release()
    return frames


@pytest.mark.model
def test_bad_inputs_fail_one_by_one_without_traceback(tmp_path: Path):
    cut_mp4 = tmp_path / "cut.mp4"  # index at the end: cannot be opened at all
    data = SAMPLE.read_bytes()
    cut_mp4.write_bytes(data[: len(data) // 2])
    whole_avi = tmp_path / "whole.avi"  # MJPEG: decodable up to the cut
    h, w = 480, 270
    writer = cv2.VideoWriter(str(whole_avi), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (w, h))
    for f in sample_frames(40):
        writer.write(f)
    writer.release()
    cut_avi = tmp_path / "cut_avi.avi"
    cut_avi.write_bytes(whole_avi.read_bytes()[: whole_avi.stat().st_size // 2])
    rng = np.random.default_rng(0)
    noise = tmp_path / "noise.mp4"  # nobody in view
    write_video(noise, [rng.integers(0, 255, (240, 320, 3), dtype=np.uint8) for _ in range(12)])
    text = tmp_path / "readme.mp4"
    text.write_text("not a video\n")
    empty = tmp_path / "empty.mov"
    empty.write_bytes(b"")
    good = tmp_path / "good.jsonl"
    good.write_bytes(SAMPLE_LANDMARKS.read_bytes())
    out = tmp_path / "out"
    proc = run_cli("analyse", str(cut_mp4), str(cut_avi), str(noise), str(text), str(empty),
                   str(good), "--out", str(out), "--no-store", "--jobs", "1")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = {line.split(":", 1)[0]: line for line in proc.stdout.splitlines()}
    assert set(lines) == {"cut.mp4", "cut_avi.avi", "noise.mp4", "readme.mp4", "empty.mov",
                          "good.jsonl"}
    assert lines["cut.mp4"].startswith("cut.mp4: error: ") and "truncated" in lines["cut.mp4"]
    # analysed up to the cut, outputs written, and reported as an error
    m = lines["cut_avi.avi"]
    assert "ended early after" in m and "of 40 frames" in m and "(error: " in m
    partial = json.loads((out / "cut_avi" / "summary.json").read_text())
    assert 0 < partial["frames"] < 40 and f"{partial['frames']} frames" in m
    assert "no person" in lines["noise.mp4"] and "person in 0" in lines["noise.mp4"]
    assert "cannot be opened" in lines["readme.mp4"].split("error: ", 1)[1]
    assert "empty" in lines["empty.mov"].split("error: ", 1)[1]
    assert "2 of 6 inputs analysed; 4 failed." in proc.stderr
    assert (out / "good" / "summary.json").exists() and (out / "noise" / "summary.json").exists()
    assert not (out / "readme").exists() and not (out / "cut").exists()


def test_results_are_recorded_once_in_the_history(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]):
    db = tmp_path / "history.sqlite3"
    args = ["analyse", str(SAMPLE_LANDMARKS), "--out", str(tmp_path / "o"), "--db", str(db)]
    assert main(args) == 0
    assert "already in history" not in capsys.readouterr().out
    assert main(args) == 0  # a duplicate is reported, not an error
    assert "already in history as session 1 of me; --force" in capsys.readouterr().out
    assert main([*args, "--force", "--person", "Anna"]) == 0  # asked for: recorded again
    assert "already in history" not in capsys.readouterr().out
    assert main([*args, "--person", "Ben"]) == 0  # the same input is not Ben's as well
    assert "already in history as session 1 of me" in capsys.readouterr().out
    from posecheck.store import Store

    with Store.open(db) as store:
        assert len(store.sessions()) == 2  # once, and once more with --force
        assert [(p.name, p.sessions) for p in store.people()] == [("Anna", 1), ("me", 1)]


def test_analyse_help_and_bad_arguments(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exc:
        main(["analyse", "--help"])
    assert exc.value.code == 0 and "--no-video" in capsys.readouterr().out
    assert main(["analyse", str(SAMPLE_LANDMARKS), "--stretch", "splits", "--no-store"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("Error: Unknown stretch 'splits'")
    assert main(["analyse", str(SAMPLE_LANDMARKS), "--threshold", "400", "--no-store"]) == 1
    assert capsys.readouterr().err.startswith("Error: --threshold")
    assert main(["analyse", "/nonexistent/folder/*.mp4", "--no-store"]) == 1


def test_bad_model_is_one_error_before_any_work(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]):
    bogus = tmp_path / "model.task"
    bogus.write_text("no model")
    assert main(["analyse", str(SAMPLE), "--model", str(bogus), "--out", str(tmp_path / "o"),
                 "--no-store"]) == 1
    assert capsys.readouterr().err.startswith("Error: Pose model")
    assert not (tmp_path / "o").exists()


def test_the_command_module_imports_no_heavy_library():
    code = ("import sys, posecheck.cli.cmd_analyse, posecheck.batch; "
            "print(sorted(m for m in ('cv2', 'mediapipe', 'matplotlib') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=60)
    assert proc.stdout.strip() == "[]"


def test_videos_analysed_in_parallel_processes_give_the_sequential_results(tmp_path):
    """--jobs 2: each file in a process of its own, with its own pose model."""
    import shutil

    from posecheck.analyse_input import AnalyseOptions
    from posecheck.batch import analyse_many

    src = ROOT / "samples" / "tfjs_pose_squats.mp4"
    videos = [shutil.copy(src, tmp_path / f"{name}.mp4") for name in ("a", "b")]
    got = {}
    for jobs in (1, 2):
        opts = AnalyseOptions(out_dir=tmp_path / f"out{jobs}", video=False, progress=False)
        results = analyse_many([Path(v) for v in videos], opts, jobs=jobs)
        assert all(r.ok for r in results), [r.error for r in results]
        got[jobs] = [{k: r.summary[k] for k in MEASURED} for r in results]
    assert got[1] == got[2]
    assert got[1][0] == got[1][1]  # the same video gives the same numbers, in any process


def test_ctrl_c_stops_a_run_at_once_and_cleanly(tmp_path):
    import signal
    import time

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_analyse import make_long_video

    video = tmp_path / "long.mp4"
    make_long_video(SAMPLE, 10, video)  # 1000 frames, ~20 s of work
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "posecheck", "analyse", str(video), "--no-video", "--out",
         str(out), "--no-store"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not any(any(d.iterdir()) for d in out.glob(".long.*.building")):  # built aside
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    time.sleep(1.5)
    children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                              text=True).stdout.split()  # none expected; none may be left
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and time.monotonic() - t0 < 10
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1] == (f"Interrupted: no result in {out / 'long'}; what "
                                            f"was done is in {out / 'long.incomplete'}.")
    # never a mix: no result folder, the part done marked incomplete, nothing else left
    assert sorted(p.name for p in out.iterdir()) == ["long.incomplete"]
    assert sorted(p.name for p in (out / "long.incomplete").iterdir()) == ["landmarks.jsonl"]
    # ... holding the poses found before the interruption (analyse's offline pass keeps them
    # in memory too, but writes them as they come)
    assert (out / "long.incomplete" / "landmarks.jsonl").read_text().count("\n") > 10
    def running(pid: str) -> bool:  # a zombie waiting for init has finished
        try:
            return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
        except (OSError, IndexError):
            return False

    deadline = time.monotonic() + 10
    while any(running(c) for c in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [c for c in children if running(c)]  # none left behind
