"""Two people in view: the live mode notices and says so (real model, real footage)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from posecheck.live import PeopleCounter
from posecheck.pose import PoseEstimator

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.model


def first_frame(name: str, height: int = 640) -> np.ndarray:
    cap = cv2.VideoCapture(str(ROOT / "samples" / name))
    ok, bgr = cap.read()
    cap.release()
    assert ok
    scale = height / bgr.shape[0]
    bgr = cv2.resize(bgr, (int(bgr.shape[1] * scale), height))
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def test_counts_two_people_side_by_side_and_one_alone() -> None:
    one = first_frame("tfjs_pose_squats.mp4")
    # the same person twice, the second copy mirrored: two people side by side
    two = np.hstack([one, one[:, ::-1]])
    with PoseEstimator(mode="image", num_poses=2) as still:
        counter = PeopleCounter(still, every_s=2.0)
        assert counter.maybe_count(two, 0.0) == 2
        # not due yet: the count is kept without running the model
        assert counter.maybe_count(one, 1.0) == 2
        assert counter.maybe_count(one, 2.0) == 1


class FakeEstimator:
    def __init__(self) -> None:
        self.calls: list[float] = []
        self.last_num_people = 0

    def detect(self, image: object, t: float) -> None:
        self.calls.append(t)
        self.last_num_people = len(self.calls)


def test_counter_runs_only_every_interval() -> None:
    fake = FakeEstimator()
    counter = PeopleCounter(fake, every_s=2.0)
    for i in range(150):  # 5 s at 30 fps
        counter.maybe_count(None, i / 30)
    assert fake.calls == pytest.approx([0.0, 2.0, 4.0])
    with pytest.raises(ValueError, match="every_s"):
        PeopleCounter(fake, every_s=0)
