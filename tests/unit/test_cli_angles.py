"""``posecheck angles``: JSONL and CSV output, nulls, smoothing switch, bad input."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from skeleton import LegPose, Noise, make_sequence

from posecheck.cli import main
from posecheck.landmark_io import write_landmarks
from posecheck.types import PoseFrame


@pytest.fixture
def landmark_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    frames = make_sequence(10, LegPose(90, 0, 25, 90), LegPose(90, 0, -15, 90), rng=rng,
                           noise=Noise())
    frames.insert(5, PoseFrame(t=frames[4].t + 0.01, image_size=frames[4].image_size))
    path = tmp_path / "poses.jsonl"
    write_landmarks(path, frames)
    return path


def test_jsonl_to_stdout(landmark_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["angles", str(landmark_file)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 11
    assert set(records[0]) == {"t", "left", "right"}
    assert set(records[0]["left"]) == {"rotation_deg", "knee_flexion_deg", "hip_flexion_deg",
                                       "hip_abduction_deg", "confidence"}
    assert records[5]["left"]["rotation_deg"] is None  # the frame without a person
    assert records[-1]["left"]["rotation_deg"] == pytest.approx(25.0, abs=3.0)
    assert records[-1]["right"]["rotation_deg"] == pytest.approx(-15.0, abs=3.0)


def test_raw_differs_from_smoothed(landmark_file: Path, tmp_path: Path) -> None:
    raw, smooth = tmp_path / "raw.jsonl", tmp_path / "smooth.jsonl"
    assert main(["angles", str(landmark_file), "--raw", "-o", str(raw)]) == 0
    assert main(["angles", str(landmark_file), "-o", str(smooth)]) == 0
    r = [json.loads(x)["left"]["rotation_deg"] for x in raw.read_text().splitlines()]
    s = [json.loads(x)["left"]["rotation_deg"] for x in smooth.read_text().splitlines()]
    assert r[0] == s[0] and r[-1] != s[-1]
    assert np.std([v for v in s if v is not None]) < np.std([v for v in r if v is not None])


def test_csv_flat_columns(landmark_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["angles", str(landmark_file), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 11
    assert "right_hip_abduction_deg" in rows[0] and "left_confidence" in rows[0]
    assert rows[5]["left_rotation_deg"] == ""
    assert float(rows[0]["left_knee_flexion_deg"]) == pytest.approx(90.0, abs=10.0)


def test_missing_file_is_one_line_error(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["angles", str(tmp_path / "nope.jsonl")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and err.count("\n") == 1


def test_malformed_file_is_one_line_error(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    assert main(["angles", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and "Traceback" not in err


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["angles", "--help"])
    assert exc.value.code == 0
    assert "internal rotation" in capsys.readouterr().out
