"""Cutting a video into parts inferred side by side (posecheck.segments)."""

from __future__ import annotations

import itertools
import math
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from posecheck.segments import Part, PartInference, plan_parts
from posecheck.types import PoseFrame


# ---------------------------------------------------------------------------- planning
@pytest.mark.parametrize("n", [208, 250, 1001, 36000])
@pytest.mark.parametrize("parts", [2, 3, 4])
@pytest.mark.parametrize("fps", [10.0, 29.97, 60.0])
def test_parts_cover_every_frame_once_and_cost_their_models_alike(n, parts, fps) -> None:
    plan = plan_parts(n, fps, parts, warmup_frames=8, min_part_frames=30)
    times = np.arange(n) / fps
    owner = [next(k for k, p in enumerate(plan) if p.start_s <= t < p.end_s) for t in times]
    assert owner == sorted(owner)  # contiguous, in order, every frame owned by one part
    assert len(plan) == parts and plan[0].start_s == 0 and math.isinf(plan[-1].end_s)
    for a, b in itertools.pairwise(plan):
        assert a.end_s == b.start_s
    cost = []  # inferences per model: own frames + warm-up
    for k, p in enumerate(plan):
        own = sum(1 for o in owner if o == k)
        warm = int(np.sum((times >= p.decode_from_s) & (times < p.start_s)))
        assert warm == (8 if k else 0)
        assert own >= 30
        cost.append(own + warm)
    assert max(cost) - min(cost) <= 2


@pytest.mark.parametrize(("n", "fps", "parts"), [
    (None, 30.0, 2), (500, None, 2), (500, 0.0, 2), (500, 30.0, 1), (100, 30.0, 2)])
def test_one_part_when_the_length_is_unknown_or_too_short(n, fps, parts) -> None:
    plan = plan_parts(n, fps, parts, min_part_frames=100)
    assert plan == [Part(0.0, math.inf, 0.0)]


def test_fewer_parts_rather_than_parts_too_short() -> None:
    assert len(plan_parts(250, 30.0, 4, warmup_frames=8, min_part_frames=100)) == 2


# ------------------------------------------------------------------------ part threads
class FakeSource:
    """Frames at 10 fps, t = i / 10, image filled with i; ``seek`` as FileSource."""

    def __init__(self, path: Path, n: int = 50) -> None:
        self.n, self.i, self.error, self.closed = n, 0, None, False

    def seek(self, t: float) -> None:
        self.i = math.ceil(t * 10 - 1e-6)

    def __iter__(self):
        while self.i < self.n:
            i, self.i = self.i, self.i + 1
            yield SimpleNamespace(t=i / 10, size=(40, 20), image=np.full((2, 4, 3), i, np.uint8))

    def close(self) -> None:
        self.closed = True


class FakeModel:
    def __init__(self, fail_at: float | None = None) -> None:
        self.seen: list[float] = []
        self.fail_at = fail_at

    def detect_stream(self, items):
        for tag, image, t in items:
            if self.fail_at is not None and t >= self.fail_at:
                raise RuntimeError("model died")
            self.seen.append(t)
            lm = np.full((33, 4), float(image[0, 0, 0]))
            yield tag, PoseFrame(t, (4, 2), lm, None)


def test_a_part_spills_its_own_frames_in_order_after_the_warm_up(tmp_path) -> None:
    model, sources = FakeModel(), []

    def open_source(path):
        sources.append(FakeSource(path))
        return sources[-1]

    ticks = []
    part = PartInference(tmp_path / "v.mp4", Part(2.05, 4.05, 1.75), open_source,
                         lambda: model, lambda im: im, on_frame=lambda: ticks.append(1))
    poses = list(part.poses())
    assert [round(p.t, 1) for p in poses] == [round(0.1 * i, 1) for i in range(21, 41)]
    assert model.seen[:3] == [1.8, 1.9, 2.0] and len(model.seen) == 23  # 3 warm-up frames
    assert all(p.image_size == (40, 20) for p in poses)  # the full size, not the model's
    assert [p.landmarks[0, 0] for p in poses] == list(range(21, 41))
    assert len(ticks) == 20 and sources[0].closed
    part.close()


def test_a_failing_part_raises_in_the_reader_and_closes_its_source(tmp_path) -> None:
    sources = []

    def open_source(path):
        sources.append(FakeSource(path))
        return sources[-1]

    part = PartInference(tmp_path / "v.mp4", Part(1.0, math.inf, 1.0), open_source,
                         lambda: FakeModel(fail_at=2.0), lambda im: im)
    with pytest.raises(RuntimeError, match="model died"):
        list(part.poses())
    assert sources[0].closed
    part.close()


def test_stop_ends_a_running_part(tmp_path) -> None:
    release = threading.Event()

    class SlowModel(FakeModel):
        def detect_stream(self, items):
            for out in super().detect_stream(items):
                release.wait(5)
                yield out

    before = threading.active_count()
    part = PartInference(tmp_path / "v.mp4", Part(0.0, math.inf, 0.0),
                         lambda p: FakeSource(p, n=10_000), SlowModel, lambda im: im)
    release.set()
    part.stop()
    assert threading.active_count() == before
