"""Video sources on synthetic videos written here with cv2.VideoWriter (no pose model).

The MP4 files written by OpenCV's FFmpeg muxer keep ``moov`` after ``mdat``, so their
metadata boxes can be rewritten in place here without touching chunk offsets: that gives
a variable-frame-rate file (to prove container timestamps are used) and a file with phone
rotation metadata.
"""

from __future__ import annotations

import math
import shutil
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import SAMPLES

from posecheck.errors import SourceError
from posecheck.sources import (
    CameraSource,
    FileSource,
    LatestFrameReader,
    PacedFileSource,
    open_source,
)

W, H, FPS, N = 64, 48, 10.0, 7
CONTAINERS = ("moov", "trak", "mdia", "minf", "stbl")


def write_video(path: Path, n: int = N, fps: float = FPS, fourcc: str = "mp4v") -> Path:
    """Frames i = 0..n-1 of uniform grey 30*i, with a white 8x8 block at the top-left."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (W, H))
    assert writer.isOpened()
    for i in range(n):
        frame = np.full((H, W, 3), 30 * i, np.uint8)
        frame[:8, :8] = 255
        writer.write(frame)
    writer.release()
    return path


def rewrite_box(data: bytes, path: tuple[str, ...], edit: Callable[[bytes], bytes],
                start: int = 0, end: int | None = None) -> bytes:
    """Replace the payload of the box at ``path`` by ``edit(payload)``, fixing parent sizes."""
    end = len(data) if end is None else end
    off = start
    while off < end:
        size, kind = struct.unpack(">I4s", data[off:off + 8])
        if kind.decode() == path[0]:
            if len(path) == 1:
                payload = edit(data[off + 8:off + size])
            else:
                payload = rewrite_box(data[off + 8:off + size], path[1:], edit)
            box = struct.pack(">I4s", 8 + len(payload), kind) + payload
            return data[:off] + box + data[off + size:]
        off += size
    raise AssertionError(f"box {path[0]} not found")


def stbl_path(box: str) -> tuple[str, ...]:
    return (*CONTAINERS, box)


def make_vfr(path: Path) -> list[float]:
    """Rewrite stts into uneven frame durations (same total); returns the true frame times.

    The total must not change: the edit list still ends the track at N / FPS.
    """
    data = path.read_bytes()
    header: dict[str, int] = {}

    def edit(payload: bytes) -> bytes:
        count, delta = struct.unpack(">II", payload[8:16])
        assert count == N
        header["delta"] = delta
        entries = [(3, delta), (1, 2 * delta), (1, delta), (2, delta // 2)]
        body = b"".join(struct.pack(">II", c, d) for c, d in entries)
        return payload[:4] + struct.pack(">I", len(entries)) + body

    path.write_bytes(rewrite_box(data, stbl_path("stts"), edit))
    step = 1.0 / FPS
    return [0.0, step, 2 * step, 3 * step, 5 * step, 6 * step, 6.5 * step]


def rotate_90(path: Path) -> None:
    """Give the video track the display matrix phones write for a 90° rotation."""
    one = 0x10000
    matrix = struct.pack(">9i", 0, one, 0, -one, 0, 0, 0, 0, 0x40000000)
    data = rewrite_box(path.read_bytes(), ("moov", "trak", "tkhd"),
                       lambda p: p[:40] + matrix + p[76:])
    path.write_bytes(data)


# ------------------------------------------------------------------------ files

@pytest.mark.parametrize("fourcc, suffix", [("mp4v", "mp4"), ("MJPG", "avi")])
def test_synthetic_video_reads_back_frames_and_times(tmp_path: Path, fourcc: str,
                                                     suffix: str) -> None:
    path = write_video(tmp_path / f"v.{suffix}", fourcc=fourcc)
    with open_source(str(path)) as src:
        assert isinstance(src, FileSource)
        assert not src.is_live
        assert src.fps == pytest.approx(FPS)
        assert src.frame_count == N
        assert src.size == (W, H)
        frames = list(src)
    assert [f.index for f in frames] == list(range(N))
    assert [f.t for f in frames] == pytest.approx([i / FPS for i in range(N)], abs=1e-6)
    assert src.error is None
    for i, f in enumerate(frames):
        assert f.image.shape == (H, W, 3) and f.image.dtype == np.uint8
        assert f.image[24:, 16:].mean() == pytest.approx(30 * i, abs=4)  # grey level = order


def test_container_timestamps_are_used_not_a_frame_counter(tmp_path: Path) -> None:
    path = write_video(tmp_path / "vfr.mp4")
    truth = make_vfr(path)
    with open_source(path) as src:
        times = [f.t for f in src]
    assert len(times) == N
    # A counter would give 0.4 s for frame 4; the container says 0.5 s.
    assert times == pytest.approx(truth, abs=1e-6)


def test_time_falls_back_to_fps_steps_when_container_time_is_unusable(tmp_path: Path) -> None:
    src = FileSource(write_video(tmp_path / "v.mp4"))
    with src:
        assert src._time(0.0) == 0.0
        src._last_t, src._index = 0.3, 4
        assert src._time(0.0) == pytest.approx(0.4)  # 0 after the first frame: invalid
        assert src._time(250.0) == pytest.approx(0.4)  # goes backwards: previous + 1/fps
        assert src._time(math.nan) == pytest.approx(0.4)
        assert src._time(500.0) == pytest.approx(0.5)  # valid again


def test_rotation_metadata_is_applied(tmp_path: Path) -> None:
    path = write_video(tmp_path / "phone.mp4")
    rotate_90(path)
    with open_source(path) as src:
        frame = next(iter(src))
        assert src.rotation_deg in (90, 270)
        assert src.size == (H, W)  # portrait now
    assert frame.image.shape == (W, H, 3)
    # The white block of the stored top-left corner moves to the top-right (90° clockwise).
    corners = {"top_left": frame.image[:6, :6], "top_right": frame.image[:6, -6:],
               "bottom_left": frame.image[-6:, :6], "bottom_right": frame.image[-6:, -6:]}
    white = [name for name, patch in corners.items() if patch.mean() > 200]
    assert white == (["top_right"] if src.rotation_deg == 90 else ["bottom_left"])


def test_corrupt_file_mid_way_ends_with_recorded_error(tmp_path: Path) -> None:
    data = bytearray((SAMPLES / "pose2sim_cam01.mp4").read_bytes())
    data[150_000:250_000] = bytes(100_000)  # wipe part of the compressed frames
    path = tmp_path / "damaged.mp4"
    path.write_bytes(bytes(data))
    with open_source(path) as src:
        frames = list(src)
    assert 0 < len(frames) < 100
    assert src.error is not None and "ended early" in src.error


def _text_mp4(tmp: Path) -> Path:
    path = tmp / "notes.mp4"
    path.write_text("these are not frames\n")
    return path


def _empty(tmp: Path) -> Path:
    path = tmp / "empty.mp4"
    path.write_bytes(b"")
    return path


def _image_named_video(tmp: Path) -> Path:
    path = tmp / "photo.png"
    cv2.imwrite(str(path), np.zeros((H, W, 3), np.uint8))
    renamed = tmp / "photo.mp4"
    shutil.copy(path, renamed)
    return renamed


def _still_jpg(tmp: Path) -> Path:
    path = tmp / "photo.jpg"
    cv2.imwrite(str(path), np.zeros((H, W, 3), np.uint8))
    return path


def _truncated(tmp: Path) -> Path:
    path = tmp / "cut.mp4"
    path.write_bytes((SAMPLES / "pose2sim_cam01.mp4").read_bytes()[:100_000])
    return path


@pytest.mark.parametrize("make, message", [
    (lambda tmp: tmp / "missing.mp4", "not found"),
    (lambda tmp: tmp, "is a directory"),
    (_empty, "is empty"),
    (_text_mp4, "cannot be opened as a video"),
    (_still_jpg, "is an image, not a video"),
    (_image_named_video, "is an image, not a video"),
    (_truncated, "cannot be opened as a video"),
])
def test_bad_files_are_refused_up_front(tmp_path: Path, make: Callable[[Path], Path],
                                        message: str) -> None:
    with pytest.raises(SourceError, match=message) as info:
        open_source(str(make(tmp_path)))
    assert "\n" not in str(info.value)


def test_a_video_without_decodable_frames_is_refused(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4")
    data = path.read_bytes()
    start = data.index(b"mdat") + 4
    data = data[:start] + bytes(len(data) - start - 900) + data[-900:]  # wipe the frames
    path.write_bytes(data)
    with pytest.raises(SourceError, match="contains no decodable video frames"):
        open_source(path)


# ------------------------------------------------------------- live machinery

class FakeCapture:
    """Stands in for cv2.VideoCapture: delivers ``n`` frames, then fails forever."""

    def __init__(self, n: int, gate: threading.Event | None = None) -> None:
        self.n = n
        self.i = 0
        self.gate = gate
        self.all_read = threading.Event()
        self.released = False

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.i >= self.n:
            self.all_read.set()
            if self.gate is not None:
                self.gate.wait(5.0)
            return False, None
        frame = np.full((H, W, 3), self.i, np.uint8)
        self.i += 1
        return True, frame

    def get(self, prop: int) -> float:
        return {cv2.CAP_PROP_FPS: 30.0, cv2.CAP_PROP_FRAME_WIDTH: W,
                cv2.CAP_PROP_FRAME_HEIGHT: H}.get(prop, 0.0)

    def release(self) -> None:
        self.released = True


def test_camera_keeps_only_the_newest_frame() -> None:
    gate = threading.Event()
    cap = FakeCapture(5, gate)
    ticks = iter(range(100))
    cam = CameraSource(cap, "fake camera", stall_timeout=2.0, clock=lambda: float(next(ticks)))
    try:
        assert cap.all_read.wait(5.0)
        frame = next(iter(cam))
        assert frame.index == 0
        assert int(frame.image[0, 0, 0]) == 4  # frames 0..3 were replaced, never queued
        assert frame.t == 4.0  # capture clock relative to the first frame (tick 0)
        assert cam.dropped == 4
        assert cam.is_live and cam.size == (W, H) and cam.fps == 30.0
    finally:
        gate.set()
        cam.close()
    assert cap.released


def test_camera_that_stops_delivering_ends_iteration_with_error() -> None:
    cam = CameraSource(FakeCapture(2), "fake camera", stall_timeout=0.2)
    with cam:
        frames = list(cam)  # must return, not hang
    assert 1 <= len(frames) <= 2
    assert cam.error is not None and "camera stopped delivering frames" in cam.error


def test_reader_rejects_bad_timeout() -> None:
    with pytest.raises(ValueError, match="stall_timeout"):
        LatestFrameReader(lambda: (False, None, math.inf), stall_timeout=0)


def test_paced_file_delivers_file_times_in_order(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4")
    with open_source(str(path), paced=True) as src:
        assert isinstance(src, PacedFileSource) and src.is_live
        frames = list(src)
    assert src.error is None
    assert [f.index for f in frames] == list(range(len(frames)))
    times = [f.t for f in frames]
    assert times == sorted(times) and times[-1] == pytest.approx((N - 1) / FPS, abs=1e-6)
    assert all(any(t == pytest.approx(i / FPS, abs=1e-6) for i in range(N)) for t in times)


@pytest.mark.parametrize("spec, message", [
    ("7", "Cannot open camera 7"),
    (7, "Cannot open camera 7"),
    ("rtsp://127.0.0.1:9/none", "Cannot open stream"),
])
def test_unopenable_cameras_and_streams(spec: str | int, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        open_source(spec)


def test_paced_file_starts_when_first_asked_for_not_when_opened(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4")
    with open_source(str(path), paced=True) as src:
        time.sleep(1.5 * N / FPS)  # longer than the whole file: e.g. the model loading
        frames = list(src)
    # nothing was played (and dropped) before the consumer was ready
    assert frames and frames[0].t == pytest.approx(0.0, abs=1e-6)
    assert len(frames) >= N - 2 and src.dropped <= 2


def test_paced_file_loop_replays_with_times_going_on(tmp_path: Path) -> None:
    path = write_video(tmp_path / "v.mp4")
    with open_source(str(path), paced=True, loop=True) as src:
        frames = []
        for frame in src:
            frames.append(frame)
            if frame.t >= 2.5 * N / FPS:
                break
        assert src.passes >= 3
    times = [f.t for f in frames]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert times[-1] >= 2.5 * N / FPS
