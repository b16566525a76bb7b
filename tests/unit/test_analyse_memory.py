"""analyse's memory (issue 14): the offline pass reads the poses back from a file instead of
keeping them, so the memory of a long input grows by a few hundred bytes a frame."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from test_analyse_input import FakeEstimator, opts, small_video, stretch_frames  # noqa: F401

from posecheck import landmark_io
from posecheck.analyse_input import analyse_file
from posecheck.landmark_io import write_landmarks
from posecheck.types import PoseFrame


def _spy_reader(monkeypatch: pytest.MonkeyPatch, tamper=None) -> list[float]:
    """Record the times of the frames the offline pass reads back (``tamper(tmp_path)`` is
    called on the file first)."""
    read: list[float] = []
    original = landmark_io.LandmarkWriter.reader

    def reader(self):
        if tamper is not None:
            tamper(self._file.tmp_path)
        r = original(self)
        frames = r.frames

        def spied():
            for f in frames():
                read.append(f.t)
                yield f
        r.frames = spied
        return r

    monkeypatch.setattr(landmark_io.LandmarkWriter, "reader", reader)
    return read


def test_the_offline_pass_of_a_video_reads_its_poses_back_from_landmarks_jsonl(
        tmp_path: Path, small_video: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    read = _spy_reader(monkeypatch)
    out = tmp_path / "clip"
    result = analyse_file(small_video, out, opts(tmp_path, video=False), FakeEstimator())
    assert result.ok, result.error
    assert len(read) == 20 == result.summary["frames"]
    rows = (out / "frames.csv").read_text().splitlines()[1:]
    assert read == pytest.approx([float(row.split(",")[0]) for row in rows], abs=1e-4)


def test_landmarks_that_differ_when_read_back_fail_and_the_landmarks_are_kept(
        tmp_path: Path, small_video: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    def drop_last_line(path: Path) -> None:
        lines = path.read_text().splitlines(keepends=True)
        with path.open("r+") as fh:
            fh.truncate(sum(len(x) for x in lines[:-1]))

    _spy_reader(monkeypatch, drop_last_line)
    out = tmp_path / "clip"
    result = analyse_file(small_video, out, opts(tmp_path, video=False), FakeEstimator())
    assert not result.ok and "differ" in result.error
    assert len((out / "landmarks.jsonl").read_text().splitlines()) == 19  # kept, not lost
    assert not (out / "frames.csv").exists()


def _peak_bytes(path: Path, out: Path) -> int:
    tracemalloc.start()
    try:
        result = analyse_file(path, out, opts(out))
        assert result.ok, result.error
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_a_long_landmark_replay_grows_by_less_than_a_kilobyte_a_frame(tmp_path: Path) -> None:
    """Before issue 14 the offline pass kept every pose: ~11.6 KB a frame in all (this test
    measured 11 574 bytes a frame on that code); now ~0.25 KB."""
    base = stretch_frames(10.0)  # 300 frames
    lengths = (1, 3)
    for k in lengths:
        write_landmarks(tmp_path / f"x{k}.jsonl",
                        (PoseFrame(f.t + i * 10.0, f.image_size, f.landmarks, f.world_landmarks)
                         for i in range(k) for f in base))
    analyse_file(tmp_path / "x1.jsonl", tmp_path / "warm", opts(tmp_path / "warm"))  # imports
    short, long_ = (_peak_bytes(tmp_path / f"x{k}.jsonl", tmp_path / f"o{k}") for k in lengths)
    per_frame = (long_ - short) / (len(base) * (lengths[1] - lengths[0]))
    assert per_frame < 1024, f"{per_frame:.0f} bytes a frame"
