"""The landmark JSONL format: exact round trip, atomic writing, line-numbered errors."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import SAMPLES

from posecheck.errors import LandmarkFileError
from posecheck.landmark_io import LandmarkWriter, read_landmarks, write_landmarks
from posecheck.types import PoseFrame


def random_frames(n: int, seed: int = 0) -> list[PoseFrame]:
    """Frames with float32-derived values (as the model gives) and some "no person" frames."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n):
        if i % 4 == 3:
            frames.append(PoseFrame(t=i / 30, image_size=(640, 480)))
            continue
        lm = rng.random((33, 4)).astype(np.float32).astype(np.float64)
        world = (rng.standard_normal((33, 4)) * 0.3).astype(np.float32).astype(np.float64)
        frames.append(PoseFrame(t=i / 30, image_size=(640, 480), landmarks=lm,
                                world_landmarks=world))
    return frames


def assert_same(a: PoseFrame, b: PoseFrame) -> None:
    assert a.t == b.t and a.image_size == b.image_size
    for x, y in ((a.landmarks, b.landmarks), (a.world_landmarks, b.world_landmarks)):
        if x is None:
            assert y is None
        else:
            assert y is not None and y.dtype == np.float64
            np.testing.assert_array_equal(x, y)  # bit-identical, not approximately equal


def test_round_trip_is_exact(tmp_path: Path) -> None:
    frames = random_frames(12)
    # Also values that a %g-style writer would round: full float64 precision.
    frames.append(PoseFrame(t=0.1 + 0.2 + 1, image_size=(3, 2),
                            landmarks=np.full((33, 4), 1 / 3), world_landmarks=None))
    path = tmp_path / "out.jsonl"
    assert write_landmarks(path, frames) == len(frames)
    back = list(read_landmarks(path))
    assert len(back) == len(frames)
    for a, b in zip(frames, back, strict=True):
        assert_same(a, b)


def test_file_is_one_json_object_per_line_with_the_documented_keys(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    write_landmarks(path, random_frames(4))
    lines = path.read_text().splitlines()
    assert len(lines) == 4
    first = json.loads(lines[0])
    assert list(first) == ["t", "image_size", "landmarks", "world_landmarks"]
    assert first["image_size"] == [640, 480]
    assert len(first["landmarks"]) == 33 and all(len(r) == 4 for r in first["landmarks"])
    assert json.loads(lines[3])["landmarks"] is None


def test_nan_is_written_as_null_and_read_back_as_nan(tmp_path: Path) -> None:
    lm = np.zeros((33, 4))
    lm[5, 3] = np.nan
    path = tmp_path / "nan.jsonl"
    write_landmarks(path, [PoseFrame(t=0.0, image_size=(10, 10), landmarks=lm)])
    assert "NaN" not in path.read_text()
    (back,) = read_landmarks(path)
    assert back.landmarks is not None and np.isnan(back.landmarks[5, 3])


def test_writer_is_atomic_and_keeps_what_was_written_on_error(tmp_path: Path) -> None:
    path = tmp_path / "stream.jsonl"
    path.write_text("old content\n")
    frames = random_frames(3)
    with pytest.raises(RuntimeError), LandmarkWriter(path) as writer:
        writer.write(frames[0])
        writer.write(frames[1])
        assert path.read_text() == "old content\n"  # not replaced while writing
        raise RuntimeError("capture failed")
    back = list(read_landmarks(path))
    assert len(back) == 2
    assert_same(back[1], frames[1])
    assert [p.name for p in tmp_path.iterdir()] == ["stream.jsonl"]  # no temp file left
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o644)


def test_writer_refuses_time_going_backwards(tmp_path: Path) -> None:
    with LandmarkWriter(tmp_path / "x.jsonl") as writer:
        writer.write(PoseFrame(t=1.0, image_size=(4, 4)))
        with pytest.raises(ValueError, match="backwards"):
            writer.write(PoseFrame(t=0.5, image_size=(4, 4)))


GOOD = json.dumps({"t": 0.0, "image_size": [4, 4], "landmarks": None, "world_landmarks": None})
ROWS = [[0.1, 0.2, 0.3, 0.9]] * 33


def _line(**changes: object) -> str:
    obj = {"t": 0.5, "image_size": [4, 4], "landmarks": ROWS, "world_landmarks": None}
    obj.update(changes)
    return json.dumps(obj)


@pytest.mark.parametrize("bad, reason", [
    ('{"t": 0.5, "image_size": [4, 4], "landmarks": null', "invalid JSON"),
    ("[1, 2, 3]", "expected a JSON object"),
    (json.dumps({"t": 0.5, "image_size": [4, 4], "landmarks": None}), "missing key"),
    (_line(t="soon"), '"t" must be a number'),
    (_line(t=True), '"t" must be a number'),
    (_line(image_size=[4]), "image_size"),
    (_line(image_size=[0, 4]), "image_size"),
    (_line(image_size=[4.5, 4]), "image_size"),
    (_line(landmarks=ROWS[:32]), r"shape \(33, 4\), got \(32, 4\)"),
    (_line(landmarks=[[0.1, 0.2, 0.3]] * 33), r"shape \(33, 4\)"),
    (_line(world_landmarks=[["a", 1, 2, 3]] * 33), '"world_landmarks" must be'),
    (_line(landmarks=[[0.1, 0.2], [0.1, 0.2, 0.3, 0.4]] * 16 + [[1, 2, 3, 4]]),
     '"landmarks" must be'),
    (_line(t=-1.0), "time goes backwards"),
    # numbers only: a string or a boolean is not silently read as a number
    (_line(landmarks=[["0.1", 0.2, 0.3, 0.9], *ROWS[1:]]), r"\[0\] holds '0.1'"),
    (_line(landmarks=[*ROWS[:5], [0.1, 0.2, 0.3, True], *ROWS[6:]]), r"\[5\] holds True"),
    (_line(landmarks={"x": 1}), '"landmarks" must be a list'),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("x" * 1_000_001, "longer than 1000000 characters"),
])
def test_malformed_lines_name_the_line_number(tmp_path: Path, bad: str, reason: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(GOOD + "\n\n" + bad + "\n" + GOOD + "\n")  # bad line is line 3
    with pytest.raises(LandmarkFileError, match=f"line 3: .*{reason}") as info:
        list(read_landmarks(path))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_equal_times_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "same.jsonl"
    path.write_text(GOOD + "\n" + GOOD + "\n")
    assert len(list(read_landmarks(path))) == 2


@pytest.mark.parametrize("make, reason", [
    (lambda tmp: tmp / "nope.jsonl", "not found"),
    (lambda tmp: tmp, "Cannot read"),
])
def test_unreadable_files(tmp_path: Path, make: Callable[[Path], Path], reason: str) -> None:
    with pytest.raises(LandmarkFileError, match=reason):
        list(read_landmarks(make(tmp_path)))


def test_binary_file_is_reported_not_crashing(tmp_path: Path) -> None:
    path = tmp_path / "video.jsonl"
    path.write_bytes((SAMPLES / "pose2sim_cam01.mp4").read_bytes()[:4096])
    with pytest.raises(LandmarkFileError, match="line"):
        list(read_landmarks(path))


def test_sample_landmark_file_is_valid() -> None:
    frames = list(read_landmarks(SAMPLES / "pose2sim_cam01.landmarks.jsonl"))
    assert len(frames) == 100
    assert all(f.image_size == (1080, 1920) for f in frames)
    assert sum(f.has_pose for f in frames) >= 98
    assert frames[1].t == pytest.approx(1 / 60)
