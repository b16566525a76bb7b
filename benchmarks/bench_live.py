"""Live loop throughput and latency: a 640x480 video fed at 30 fps, as a webcam would.

Targets (issue 4): >= 30 fps processed and a median capture-to-display latency <= 50 ms,
full pose model, on this 2-core machine.

The source is a :class:`posecheck.sources.PacedFileSource` that releases each frame at its
own timestamp (newest frame wins, like a camera); the same :class:`LiveRunner` as
``posecheck live`` measures it. With a display (``DISPLAY`` set, e.g. under ``xvfb-run``)
the window path is measured (capture -> annotated frame shown); without one, headless
(capture -> result). Also printed, in the same run: the bare pose-estimation rate on the
same frames, so the loop's overhead shows as a ratio.

Run: ``python benchmarks/bench_live.py [--seconds 20]`` (add ``xvfb-run -a`` for the window).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from posecheck.live import LiveOptions, LiveRunner, PeopleCounter
from posecheck.pose import PoseEstimator
from posecheck.render import Annotator
from posecheck.routine import Routine, make_steps
from posecheck.session import Session
from posecheck.sources import open_source
from posecheck.stretches import load_catalogue

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "tfjs_pose_squats.mp4"


def make_webcam_clip(path: Path, seconds: float, fps: float = 30.0) -> None:
    """The sample re-timed to 30 fps and letterboxed to 640x480, like a webcam stream."""
    cap = cv2.VideoCapture(str(SAMPLE))
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        h, w = bgr.shape[:2]
        scale = 480 / h
        small = cv2.resize(bgr, (int(w * scale), 480), interpolation=cv2.INTER_AREA)
        canvas = np.zeros((480, 640, 3), np.uint8)
        x0 = (640 - small.shape[1]) // 2
        canvas[:, x0:x0 + small.shape[1]] = small
        frames.append(canvas)
    cap.release()
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 480))
    n = int(seconds * fps)
    for i in range(n):
        # the 5 fps sample moves smoothly enough when interpolated between its frames
        a = frames[(i // 6) % len(frames)]
        b = frames[(i // 6 + 1) % len(frames)]
        w = (i % 6) / 6
        writer.write(cv2.addWeighted(a, 1 - w, b, w, 0))
    writer.release()


def bare_pose_fps(path: Path, num_poses: int, limit: int = 300) -> float:
    """Pose estimation alone, sequential, on the same frames (frames decoded beforehand)."""
    cap = cv2.VideoCapture(str(path))
    images = []
    while len(images) < limit:
        ok, bgr = cap.read()
        if not ok:
            break
        images.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    cap.release()
    with PoseEstimator(mode="video", num_poses=num_poses) as est:
        start = time.perf_counter()
        for i, img in enumerate(images):
            est.detect(img, i / 30.0)
        return len(images) / (time.perf_counter() - start)


def live_run(path: Path, display: bool, num_poses: int) -> tuple[float, float | None, int]:
    cat = load_catalogue()
    stretch = cat["internal-rotation"]
    session = Session([stretch])
    routine = Routine(session, make_steps([stretch], ["left", "right"]), countdown_s=0.0)
    options = LiveOptions(source=str(path), headless=not display, sound=False,
                          num_poses=num_poses)
    runner = LiveRunner(routine, options, say=lambda _text: None)
    with open_source(str(path), paced=True) as source, \
            PoseEstimator(mode="video", num_poses=num_poses) as est, \
            PoseEstimator(mode="image", num_poses=2) as still:
        # as in `posecheck live`: with one tracked pose, people are counted every 2 s
        counter = PeopleCounter(still, options.people_check_s) if num_poses == 1 else None
        stats = runner.run(source, est, annotator=Annotator() if display else None,
                           counter=counter)
    return stats.fps, stats.median_latency_ms, stats.dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    display = bool(os.environ.get("DISPLAY"))
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "webcam.mp4"
        make_webcam_clip(clip, args.seconds)
        rows = []
        for num_poses in (1, 2):  # 1 = the live default (+ a people count every 2 s)
            bare = bare_pose_fps(clip, num_poses)
            rows.append((num_poses, bare, *live_run(clip, display, num_poses)))
    mode = "window (capture -> shown)" if display else "headless (capture -> result)"
    print(f"live loop, 640x480 fed at 30 fps, full model, {mode}")
    print("  num_poses  processed fps  median latency  dropped  bare pose fps  loop/bare")
    for num_poses, bare, fps, latency, dropped in rows:
        lat = f"{latency:8.1f} ms" if latency is not None else "     n/a"
        print(f"  {num_poses:9d}  {fps:13.1f}  {lat:>14}  {dropped:7d}  {bare:13.1f}"
              f"  {fps / bare:9.2f}")
    print("  targets: >= 30 fps processed, <= 50 ms median capture-to-display latency")


if __name__ == "__main__":
    main()
