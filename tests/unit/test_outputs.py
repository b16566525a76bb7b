"""Output writers: atomic files, summary.json, frames.csv, OpenSim .mot, mp4 video."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from mp4box import CHROMIUM_PLAYS, mp4_video_codec

from posecheck.errors import PosecheckError
from posecheck.frames_csv import FRAME_COLUMNS, FramesCsvWriter, write_frames_csv
from posecheck.mot import MOT_COLUMNS, read_mot, write_mot
from posecheck.outputs import (
    AtomicFile,
    VideoSink,
    atomic_write_bytes,
    atomic_write_text,
    write_summary,
)
from posecheck.types import FrameAngles, FrameResult, PoseFrame, SideAngles


def result(t: float, *, left_rot: float | None = 12.5, right_rot: float | None = None,
           holding: bool = False) -> FrameResult:
    """A frame: left side fully measured, right side partly (no rotation)."""
    raw = FrameAngles(
        t=t,
        left=SideAngles(rotation_deg=14.0, knee_flexion_deg=88.0, hip_flexion_deg=91.0,
                        hip_abduction_deg=4.0, confidence=0.8),
        right=SideAngles(rotation_deg=None, knee_flexion_deg=85.0, hip_flexion_deg=89.0,
                         hip_abduction_deg=-3.0, confidence=0.1),
    )
    smoothed = FrameAngles(
        t=t,
        left=SideAngles(rotation_deg=13.0, knee_flexion_deg=87.5, hip_flexion_deg=90.5,
                        hip_abduction_deg=4.25, confidence=0.75),
        right=SideAngles(rotation_deg=None, knee_flexion_deg=86.0, hip_flexion_deg=88.0,
                         hip_abduction_deg=-2.5, confidence=0.125),
    )
    return FrameResult(
        t=t, pose=PoseFrame(t=t, image_size=(640, 480)), raw=raw, smoothed=smoothed,
        measured={"left": left_rot, "right": right_rot},
        rotation_deg={"left": left_rot, "right": right_rot},
        holding={"left": holding, "right": False},
        hold_elapsed={"left": 2.5 if holding else 0.0, "right": 0.0},
    )


def leftovers(folder: Path) -> list[str]:
    """Temporary files left in ``folder``."""
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


# ---------------------------------------------------------------------- atomic
def test_atomic_write_text_and_bytes(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "a.txt"
    atomic_write_text(target, "héllo\n")
    assert target.read_text(encoding="utf-8") == "héllo\n"
    atomic_write_bytes(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert (target.stat().st_mode & 0o777) == 0o644  # not mkstemp's private 0600
    assert leftovers(target.parent) == []


def test_atomic_file_keeps_old_content_on_exception(tmp_path: Path) -> None:
    target = tmp_path / "summary.json"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError, match="boom"), AtomicFile(target) as f:
        f.write("new and half-written")
        raise RuntimeError("boom")
    assert target.read_text(encoding="utf-8") == "old"
    assert leftovers(tmp_path) == []


def test_atomic_file_reports_unwritable_place(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(PosecheckError, match="Cannot write"):
        atomic_write_text(blocker / "inside.txt", "x")  # parent is a file


# ---------------------------------------------------------------------- summary
def test_summary_json_round_trip(tmp_path: Path) -> None:
    summary = {
        "schema": 1, "stretch": "internal-rotation", "threshold_deg": np.float64(20.0),
        "frames": np.int64(300), "interrupted": np.bool_(False), "input": tmp_path / "v.mp4",
        "sides": {"left": {"peak_rotation_deg": 31.2, "mean_confidence": math.nan,
                           "holds": [{"start_s": 3.2, "end_s": 35.0}]}},
    }
    path = write_summary(tmp_path / "out" / "summary.json", summary)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("{\n  \"schema\": 1,") and text.endswith("}\n")
    back = json.loads(text)
    assert back["threshold_deg"] == 20.0 and back["frames"] == 300
    assert back["interrupted"] is False
    assert back["input"] == str(tmp_path / "v.mp4")
    assert back["sides"]["left"]["mean_confidence"] is None  # NaN is not JSON
    assert back["sides"]["left"]["holds"] == [{"start_s": 3.2, "end_s": 35.0}]


# ---------------------------------------------------------------------- frames.csv
def test_frames_csv_columns_and_values(tmp_path: Path) -> None:
    path = write_frames_csv(tmp_path / "frames.csv",
                            [result(0.0), result(1 / 30, left_rot=None, holding=True)])
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0].keys()) == FRAME_COLUMNS
    assert FRAME_COLUMNS[:6] == ("t", "left_rotation_deg", "left_rotation_uncorrected_deg",
                                 "left_rotation_raw_deg", "left_neutral_offset_deg",
                                 "left_knee_flexion_deg")
    first, second = rows
    assert float(first["t"]) == 0.0 and float(second["t"]) == pytest.approx(1 / 30, abs=1e-4)
    assert float(first["left_rotation_deg"]) == 12.5        # neutral-corrected, IR +
    assert float(first["left_rotation_raw_deg"]) == 14.0    # raw geometry
    assert float(first["left_knee_flexion_deg"]) == 87.5    # smoothed
    assert float(first["left_hip_abduction_deg"]) == 4.25
    assert float(first["left_confidence"]) == 0.75
    assert float(first["left_measured_deg"]) == 12.5
    assert first["left_holding"] == "0" and second["left_holding"] == "1"
    assert float(second["left_hold_elapsed_s"]) == 2.5
    # not measured -> empty cell, never a number
    assert first["right_rotation_deg"] == "" and first["right_rotation_raw_deg"] == ""
    assert second["left_rotation_deg"] == "" and second["left_measured_deg"] == ""
    assert float(first["right_hip_abduction_deg"]) == -2.5


def test_frames_csv_corrects_every_row_with_the_final_offsets(tmp_path: Path) -> None:
    # frame 0 was seen before the neutral reference (offset 0), frame 1 after it (4.5)
    early = result(0.0, left_rot=12.5)
    late = replace(result(0.1, left_rot=8.0), neutral_offset_deg={"left": 4.5, "right": 0.0})
    offsets = {("rotation_deg", "left"): 4.5, ("rotation_deg", "right"): 0.0}
    path = write_frames_csv(tmp_path / "frames.csv", [early, late], offsets)
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["left_rotation_uncorrected_deg"]) for r in rows] == [12.5, 12.5]
    assert [float(r["left_rotation_deg"]) for r in rows] == [8.0, 8.0]  # both corrected
    assert [float(r["left_measured_deg"]) for r in rows] == [13.0 - 4.5] * 2  # smoothed - offset
    assert [float(r["left_neutral_offset_deg"]) for r in rows] == [4.5, 4.5]
    assert all(float(r["left_rotation_raw_deg"]) == 14.0 for r in rows)


def test_frames_csv_appears_only_when_complete(tmp_path: Path) -> None:
    path = tmp_path / "frames.csv"
    writer = FramesCsvWriter(path)
    writer.write(result(0.0))
    assert not path.exists()
    writer.close()
    assert path.exists() and writer.rows == 1
    with pytest.raises(ValueError, match="bad frame"), FramesCsvWriter(path) as w:
        w.write(result(0.0))
        w.write(result(0.1))
        raise ValueError("bad frame")
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2  # header + the old row
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------------- .mot
def test_mot_parses_back_with_opensim_signs(tmp_path: Path) -> None:
    results = [result(i / 30) for i in range(5)] + [result(5 / 30, left_rot=None)]
    path = write_mot(tmp_path / "angles.mot", results)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[:5] == ["angles", "version=1", "nRows=6", "nColumns=9", "inDegrees=yes"]
    header, columns, data = read_mot(path)
    assert int(header["nRows"]) == data.shape[0] == 6
    assert int(header["nColumns"]) == data.shape[1] == len(columns) == 9
    assert columns == ["time", *MOT_COLUMNS]
    col = {name: data[:, i] for i, name in enumerate(columns)}
    np.testing.assert_allclose(col["time"], np.arange(6) / 30, atol=1e-6)
    np.testing.assert_allclose(col["hip_rotation_l"][:5], 12.5)  # IR positive in both
    assert np.isnan(col["hip_rotation_l"][5]) and np.isnan(col["hip_rotation_r"]).all()
    np.testing.assert_allclose(col["hip_flexion_l"], 90.5)
    np.testing.assert_allclose(col["hip_adduction_l"], -4.25)  # abduction 4.25 -> add -4.25
    np.testing.assert_allclose(col["hip_adduction_r"], 2.5)    # adduction 2.5 stays +
    np.testing.assert_allclose(col["knee_angle_r"], 86.0)      # flexion positive


def test_read_mot_rejects_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "x.mot"
    bad.write_text("time\t1\n", encoding="utf-8")
    with pytest.raises(PosecheckError, match="endheader"):
        read_mot(bad)


# ---------------------------------------------------------------------- video
def frame(value: int, size: tuple[int, int] = (96, 64)) -> np.ndarray:
    return np.full((size[1], size[0], 3), value, np.uint8)


def frame_count(path: Path) -> int:
    cap = cv2.VideoCapture(str(path))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


def test_mp4_codec_reader_tells_mp4v_from_h264(tmp_path: Path) -> None:
    path = tmp_path / "old.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (96, 64))
    for i in range(3):
        writer.write(cv2.cvtColor(frame(i * 40), cv2.COLOR_RGB2BGR))
    writer.release()
    assert mp4_video_codec(path) == "mp4v" and "mp4v" not in CHROMIUM_PLAYS


def test_video_sink_writes_readable_mp4(tmp_path: Path) -> None:
    path = tmp_path / "annotated.mp4"
    with VideoSink(path, 30.0, (96, 64)) as sink:
        assert not path.exists()  # written under a temporary name
        for i in range(12):
            sink.write(frame(i * 20))
    assert sink.fourcc == "avc1"
    assert mp4_video_codec(path) == "avc1"  # H.264, read from the container itself
    assert frame_count(path) == sink.frames_written == 12
    cap = cv2.VideoCapture(str(path))
    assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(30.0)
    ok, first = cap.read()
    cap.release()
    assert ok and first.shape == (64, 96, 3)
    assert leftovers(tmp_path) == []
    assert mp4_video_codec(path) in CHROMIUM_PLAYS
    data = path.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # index first: a browser plays at once


def test_video_sink_odd_size_is_padded_to_even(tmp_path: Path) -> None:
    path = tmp_path / "odd.mp4"
    with VideoSink(path, 10.0, (97, 63)) as sink:
        for i in range(3):
            sink.write(frame(i * 40, (97, 63)))
    cap = cv2.VideoCapture(str(path))
    ok, first = cap.read()
    cap.release()
    assert ok and first.shape == (64, 98, 3) and mp4_video_codec(path) == "avc1"


def test_video_sink_constant_rate_from_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "vfr.mp4"
    # 10 fps output; input: on time, early (dropped), a 0.4 s gap (filled), on time
    with VideoSink(path, 10.0, (96, 64)) as sink:
        assert [sink.write(frame(v), t=t) for v, t in
                [(0, 0.0), (50, 0.1), (60, 0.12), (100, 0.5), (150, 0.6)]] == [1, 1, 0, 4, 1]
    assert frame_count(path) == 7  # slots 0.0 .. 0.6 s
    cap = cv2.VideoCapture(str(path))
    means = [float(cap.read()[1].mean()) for _ in range(7)]
    cap.release()
    # slots 0.2-0.4 s repeat the latest frame before them (value 60), 0.5 s shows 100
    expected = [0, 50, 60, 60, 60, 100, 150]
    np.testing.assert_allclose(means, expected, atol=8)


def test_video_sink_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "v.mp4"
    with pytest.raises(ValueError, match="does not match"), VideoSink(path, 30, (96, 64)) as s:
        s.write(frame(0, (64, 48)))
    assert not path.exists() and leftovers(tmp_path) == []
    with pytest.raises(ValueError, match="fps"):
        VideoSink(path, 0.0, (96, 64))
    # a 1x1 video (padded to 2x2) is refused or written, never a traceback; the next works
    try:
        VideoSink(path, 30.0, (1, 1)).abort()
    except PosecheckError as exc:
        assert "1x1 frames" in str(exc) and "--no-video" in str(exc)
    VideoSink(path, 30.0, (96, 64)).close()
    assert path.exists()
    monkeypatch.setattr(VideoSink, "CODEC", "no-such-encoder")
    with pytest.raises(PosecheckError, match="does not accept 96x64 frames"):
        VideoSink(tmp_path / "w.mp4", 30.0, (96, 64))
    assert leftovers(tmp_path) == []


def test_outputs_import_no_cv2_or_mediapipe() -> None:
    code = ("import sys, posecheck.outputs, posecheck.plots; "
            "print(sorted(m for m in ('cv2', 'mediapipe', 'matplotlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


_PLAYER = """<!doctype html><html><body><video id="v" src="{src}" muted></video>
<pre id="out">pending</pre><script>
const v = document.getElementById('v'), out = document.getElementById('out');
v.addEventListener('loadeddata', () => {{ out.textContent = 'PLAYS ' + v.videoWidth; }});
v.addEventListener('error', () => {{ out.textContent = 'ERROR ' + v.error.code; }});
</script></body></html>"""


def _chromium_says(page: Path) -> str:
    import re
    import shutil

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("Chromium is not installed (CI installs it for the report test)")
    proc = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu",
                           "--allow-file-access-from-files", "--virtual-time-budget=5000",
                           "--dump-dom", page.as_uri()], capture_output=True, text=True,
                          timeout=120)
    found = re.search(r'<pre id="out">([^<]*)', proc.stdout)
    return found.group(1) if found else proc.stdout[-300:]


@pytest.mark.slow
def test_chromium_plays_the_annotated_video_and_not_the_old_mp4v(tmp_path: Path) -> None:
    with VideoSink(tmp_path / "new.mp4", 10.0, (96, 64)) as sink:
        for i in range(10):
            sink.write(frame(i * 20))
    writer = cv2.VideoWriter(str(tmp_path / "old.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0,
                             (96, 64))
    for i in range(10):
        writer.write(frame(i * 20))
    writer.release()
    for name, src in (("new.html", "new.mp4"), ("old.html", "old.mp4")):
        (tmp_path / name).write_text(_PLAYER.format(src=src))
    assert _chromium_says(tmp_path / "new.html") == "PLAYS 96"
    assert _chromium_says(tmp_path / "old.html").startswith("ERROR")  # the test can fail
