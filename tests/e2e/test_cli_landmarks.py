"""``posecheck landmarks`` end to end, run as a user would (subprocess, real model)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import ROOT, SAMPLES

from posecheck.landmark_io import read_landmarks


def posecheck(*args: str | Path, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "posecheck", *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def short_clip(tmp: Path, n: int = 12) -> Path:
    """The first ``n`` frames of the Pose2Sim clip, re-encoded at its 60 fps."""
    src = cv2.VideoCapture(str(SAMPLES / "pose2sim_cam01.mp4"))
    path = tmp / "short.mp4"
    out = None
    for _ in range(n):
        ok, frame = src.read()
        assert ok
        if out is None:
            h, w = frame.shape[:2]
            out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 60.0, (w, h))
        out.write(frame)
    assert out is not None
    out.release()
    src.release()
    return path


@pytest.mark.model
def test_landmarks_command_writes_one_line_per_frame(tmp_path: Path) -> None:
    out = tmp_path / "short.jsonl"
    result = posecheck("landmarks", short_clip(tmp_path), "-o", out)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    frames = list(read_landmarks(out))
    assert len(frames) == 12 == len(out.read_text().splitlines())
    assert [f.t for f in frames] == pytest.approx([i / 60 for i in range(12)], abs=1e-6)
    assert all(f.has_pose for f in frames)
    summary = result.stdout.strip().splitlines()
    assert len(summary) == 1
    assert "12 frames" in summary[0] and "person found in 12" in summary[0]


def _empty(tmp: Path) -> Path:
    (tmp / "empty.mp4").write_bytes(b"")
    return tmp / "empty.mp4"


def _text(tmp: Path) -> Path:
    (tmp / "notes.mp4").write_text("not a video\n" * 20)
    return tmp / "notes.mp4"


def _still(tmp: Path) -> Path:
    cv2.imwrite(str(tmp / "photo.jpg"), np.full((120, 160, 3), 128, np.uint8))
    return tmp / "photo.jpg"


def _still_named_mp4(tmp: Path) -> Path:
    shutil.copy(_still(tmp), tmp / "photo.mp4")
    return tmp / "photo.mp4"


@pytest.mark.parametrize("make, reason", [
    (lambda tmp: tmp / "missing.mp4", "not found"),
    (_empty, "is empty"),
    (_text, "cannot be opened as a video"),
    (lambda tmp: tmp, "is a directory"),
    (_still, "is an image, not a video"),
    (_still_named_mp4, "is an image, not a video"),
])
def test_bad_input_gives_one_line_error(tmp_path: Path, make: Callable[[Path], Path],
                                        reason: str) -> None:
    out = tmp_path / "out.jsonl"
    result = posecheck("landmarks", make(tmp_path), "-o", out)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ") and reason in lines[0]
    assert not out.exists()


def test_corrupt_model_gives_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "model.task"
    bad.write_bytes(b"PK\x03\x04 truncated")
    result = posecheck("landmarks", SAMPLES / "pose2sim_cam01.mp4", "-o",
                       tmp_path / "o.jsonl", "--model", bad)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "model" in lines[0]


def test_missing_default_model_names_the_rebuild_command(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str],
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    import posecheck.model
    from posecheck.cli import main

    monkeypatch.setattr(posecheck.model, "DEFAULT_MODEL", tmp_path / "gone.task")
    monkeypatch.delenv("POSECHECK_MODEL", raising=False)
    status = main(["landmarks", str(SAMPLES / "pose2sim_cam01.mp4"), "-o",
                   str(tmp_path / "o.jsonl")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert len(err) == 1 and "python models/build_model.py" in err[0]


def test_help() -> None:
    result = posecheck("landmarks", "--help")
    assert result.returncode == 0 and "JSON line per frame" in result.stdout
