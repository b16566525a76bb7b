"""The live window's "best": the best corrected value of this step's measuring phase, the
number the summary (and so the history) stores, never a value from set-up or countdown."""

from __future__ import annotations

import numpy as np
import pytest
from skeleton import Camera, LegPose, make_sequence

from posecheck.live import LiveOptions, LiveRunner
from posecheck.routine import Routine, make_steps
from posecheck.session import Session
from posecheck.stretches import load_catalogue
from posecheck.types import VideoFrame

FPS = 30.0


class _Frames:
    """A source of blank frames at the poses' times (the estimator looks the pose up)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.image = np.zeros((48, 64, 3), np.uint8)

    def __iter__(self):
        for i in range(self.n):
            yield VideoFrame(t=i / FPS, image=self.image, index=i)


class _Estimator:
    def __init__(self, poses) -> None:
        self.poses = {round(p.t, 6): p for p in poses}
        self.last_num_people = 1

    def detect(self, image, t):
        return self.poses[round(t, 6)]


def test_best_counts_only_the_measuring_phase_and_equals_the_summary() -> None:
    stretch = load_catalogue()["internal-rotation"]

    def rot(t: float) -> float:  # 35° IR during set-up and countdown (before "go"), then 22°
        return 35.0 if t < 1.8 else 22.0

    poses = make_sequence(int(8 * FPS), left=lambda t: LegPose(hip_flex=90, knee_flex=90,
                                                             rot=rot(t)),
                          right=lambda t: LegPose(hip_flex=90, knee_flex=90, rot=0.0),
                          fps=FPS, camera=Camera())
    session = Session([stretch], neutral=False)
    routine = Routine(session, make_steps([stretch], ["left"]), countdown_s=1.5)
    runner = LiveRunner(routine, LiveOptions(source="test", headless=True), say=lambda _: None)
    seen = []
    real = runner._after_result

    def spy(frame, result, kinds, estimator, cues):
        real(frame, result, kinds, estimator, cues)
        seen.append((routine.phase, max(result.measured.get("left") or -1.0, -1.0),
                     runner.overlay_info(result).best_deg["left"]))

    runner._after_result = spy
    runner.run(_Frames(len(poses)), _Estimator(poses))
    session.finish()
    summary = session.summary()
    before_go = [value for phase, value, _ in seen if phase != "measure"]
    assert max(before_go) > 30.0  # 35° was shown before "go" ...
    best = seen[-1][2]
    assert best is not None and best < 25.0  # ... and is not the best
    assert best == summary["sides"]["left"]["peak_measured_deg"]
    assert all(b is None for phase, _, b in seen[:10])  # nothing measured yet: "best --"


def test_window_size_is_the_largest_that_fits_the_screen_with_the_frame_aspect() -> None:
    from posecheck.live import SCREEN_MARGIN, fit, window_size

    w, h = window_size((640, 480), (1280, 800))
    assert w >= 960 and w / h == pytest.approx(4 / 3, rel=0.01)
    assert w <= 1280 - SCREEN_MARGIN[0] and h <= 800 - SCREEN_MARGIN[1]
    assert h == 800 - SCREEN_MARGIN[1]  # height-bound on a 16:10 screen
    tall = window_size((1080, 1920), (1280, 800))
    assert tall[1] == 800 - SCREEN_MARGIN[1] and tall[0] < tall[1]
    assert window_size((640, 480), None)[0] > 640  # unknown screen: a 1280x720 guess
    assert fit((640, 480), (1003, 752)) == (1003, 752)
    assert fit((640, 480), (2000, 752)) == (1003, 752)  # aspect kept inside the area
