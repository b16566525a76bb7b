"""The pose model in a worker process gives exactly the in-process estimator's landmarks."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from posecheck.errors import ModelError, PosecheckError
from posecheck.pose import PoseEstimator
from posecheck.pose_worker import PoseWorker, shared_worker

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(ROOT / "samples" / "pose2sim_cam01.mp4"))
    out = []
    while len(out) < 30:
        ok, bgr = cap.read()
        assert ok
        small = cv2.resize(bgr, (270, 480), interpolation=cv2.INTER_AREA)
        out.append(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    cap.release()
    return out


def test_worker_equals_in_process_estimator_streamed_and_after_reset(frames) -> None:
    with PoseEstimator() as est:
        local = [est.detect(f, i / 60) for i, f in enumerate(frames)]
    with PoseWorker() as worker:
        streamed = [p for _, p in worker.detect_stream((i, f, i / 60)
                                                       for i, f in enumerate(frames))]
        worker.reset()
        single = [worker.detect(f, i / 60) for i, f in enumerate(frames)]
        assert worker.model.name == "pose_landmarker_full.task"
    for a, b, c in zip(local, streamed, single, strict=True):
        assert a.t == b.t == c.t
        assert np.array_equal(a.landmarks, b.landmarks) and np.array_equal(a.landmarks, c.landmarks)
        assert np.array_equal(a.world_landmarks, b.world_landmarks)


def test_a_stream_stopped_early_leaves_the_worker_in_step(frames) -> None:
    with PoseWorker() as worker:
        stream = worker.detect_stream((i, f, i / 60) for i, f in enumerate(frames))
        first = [next(stream) for _ in range(3)]
        stream.close()  # two frames were still in flight
        assert [tag for tag, _ in first] == [0, 1, 2]
        worker.reset()
        pose = worker.detect(frames[0], 0.0)
        assert pose.t == 0.0 and pose.has_pose


def test_bad_model_is_a_model_error(tmp_path: Path) -> None:
    bad = tmp_path / "broken.task"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelError):
        PoseWorker(bad)


def test_a_dead_worker_is_a_clear_error(frames) -> None:
    worker = PoseWorker()
    worker._proc.kill()
    worker._proc.join()
    with pytest.raises(PosecheckError, match="stopped unexpectedly"):
        worker.detect(frames[0], 0.0)
    worker.close()


def test_shared_worker_is_reused_and_replaced_when_dead(frames) -> None:
    a = shared_worker()
    assert shared_worker() is a
    a._proc.kill()
    a._proc.join()
    b = shared_worker()
    assert b is not a and b.detect(frames[0], 0.0).has_pose


def test_the_worker_starts_from_a_script_read_from_stdin() -> None:
    """``python - < script``: spawn must not try to re-run a main file named <stdin>."""
    import subprocess
    import sys

    script = ("import numpy as np\n"
              "from posecheck.pose_worker import PoseWorker\n"
              "with PoseWorker() as w:\n"
              "    print('pose:', w.detect(np.zeros((64, 64, 3), np.uint8), 0.0).landmarks)\n")
    proc = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-1000:]
    assert "pose: None" in proc.stdout
