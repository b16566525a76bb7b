"""Benchmark ``posecheck analyse`` against the naive tutorial loop, and measure its memory.

Run: ``python benchmarks/bench_analyse.py [VIDEO] [--repeats N] [--long-factor K]``
(default video: samples/pose2sim_cam01.mp4, 1080x1920, 100 frames).

What it prints (one run, side by side, interleaved repeats, medians), on the
video and on a K times longer synthetic one (its frames played forward, backward, ...):

1. Throughput (frames/s) of the naive loop every tutorial writes (cv2 read, cvtColor,
   ``mp.Image``, ``detect_for_video``, sequential; written here with mediapipe directly),
   of ``analyse --no-video`` and of ``analyse`` with the annotated video, on the same
   video and model, and the ratios analyse / naive (targets: >= 1.2 and >= 1.0). The
   analyse timings are of :func:`posecheck.analysis.analyse_file`, i.e. everything the
   command does for a file: decoding, pose, session, frames.csv, landmarks.jsonl, plot,
   summary. Both sides include creating the pose landmarker.
2. Landmark agreement between detection on the full-size frame and on the frame
   downscaled to a longest side of 960 px (what analyse hands MediaPipe): max and median
   absolute difference of normalized x, y.
3. Peak RSS of one analyse run (a fresh process each) on the video and on a K times longer
   synthetic video (the frames repeated), plus the per-frame growth, extrapolated to a
   10-minute 60 fps video.

Only the standard library, numpy, cv2, mediapipe and posecheck.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VIDEO = ROOT / "samples" / "pose2sim_cam01.mp4"
LEG = (23, 24, 25, 26, 27, 28)  # hips, knees, ankles


def naive_loop(video: Path, model: Path) -> int:
    """The tutorial loop: read, convert, wrap, detect, one frame after another."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model)),
        running_mode=vision.RunningMode.VIDEO, num_poses=1)
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    n = 0
    with vision.PoseLandmarker.create_from_options(options) as landmarker:
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
            landmarker.detect_for_video(image, int(n * 1000 / fps))
            n += 1
    cap.release()
    return n


def analyse_once(video: Path, out: Path, with_video: bool) -> int:
    """One ``analyse`` of ``video`` (as the command does it); returns the frame count."""
    from posecheck.analysis import AnalyseOptions, analyse_file

    opts = AnalyseOptions(out_dir=out, video=with_video, progress=False)
    result = analyse_file(video, out / video.stem, opts)
    if result.summary is None:
        raise SystemExit(f"analyse failed: {result.error}")
    return int(result.summary["frames"])


def timed(fn, *args) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(frames per second, CPU ms per frame over all threads) of one ``fn(*args)`` call
    (``fn`` returns the frame count)."""
    t0, c0 = time.perf_counter(), time.process_time()
    n = fn(*args)
    return n / (time.perf_counter() - t0), (time.process_time() - c0) * 1000 / n


def throughput(video: Path, model: Path, repeats: int, tmp: Path) -> None:
    runs: dict[str, list[tuple[float, float]]] = {
        "naive": [], "analyse --no-video": [], "analyse": []}
    naive_loop(video, model)  # warm-up: file cache, mediapipe import
    load0 = os.getloadavg()[0]
    for _ in range(repeats):  # interleaved so that machine noise hits all three alike
        runs["naive"].append(timed(naive_loop, video, model))
        runs["analyse --no-video"].append(timed(analyse_once, video, tmp / "nv", False))
        runs["analyse"].append(timed(analyse_once, video, tmp / "v", True))
    med = {k: statistics.median(r[0] for r in v) for k, v in runs.items()}
    cpu = {k: statistics.median(r[1] for r in v) for k, v in runs.items()}
    print(f"throughput on {video.name} ({repeats} interleaved repeats, medians; load average "
          f"{load0:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
    for k, v in runs.items():
        print(f"  {k:20s} {med[k]:6.1f} fps  {cpu[k]:5.1f} CPU ms/frame   runs: "
              f"{', '.join(f'{x[0]:.1f}' for x in v)}")
    print(f"  ratio analyse --no-video / naive: {med['analyse --no-video'] / med['naive']:.2f}"
          "  (target >= 1.2)")
    print(f"  ratio analyse (with video) / naive: {med['analyse'] / med['naive']:.2f}"
          "  (target >= 1.0)")


def landmark_agreement(video: Path, model: Path, max_side: int = 960) -> None:
    """Full-size vs downscaled detection on every frame of ``video``."""
    from posecheck.analysis import downscale
    from posecheck.pose import PoseEstimator

    full, small = [], []
    cap = cv2.VideoCapture(str(video))
    with PoseEstimator(model) as a, PoseEstimator(model) as b:
        i = 0
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            t = i / 60.0
            full.append(a.detect(rgb, t).landmarks)
            small.append(b.detect(downscale(rgb, max_side), t).landmarks)
            i += 1
    cap.release()
    pairs = [(f, s) for f, s in zip(full, small, strict=True) if f is not None and s is not None]
    if not pairs:
        print("landmark agreement: no person found")
        return
    d = np.stack([np.abs(f[:, :2] - s[:, :2]) for f, s in pairs])  # (N, 33, 2)
    legs = d[:, LEG]
    print(f"landmarks full size vs longest side {max_side} px ({len(pairs)} frames, "
          "normalized units):")
    print(f"  all 33: median {np.median(d):.4f}, 95th pct {np.percentile(d, 95):.4f}, "
          f"max {d.max():.4f}")
    print(f"  hips/knees/ankles: median {np.median(legs):.4f}, 95th pct "
          f"{np.percentile(legs, 95):.4f}, max {legs.max():.4f}")
    print(f"  person found: full {sum(f is not None for f in full)}, "
          f"downscaled {sum(s is not None for s in small)} of {len(full)}")


def make_long_video(video: Path, factor: int, path: Path) -> int:
    """``video`` played ``factor`` times in a row (forward, backward, ...) into ``path``."""
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    frames = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        frames.append(bgr)
    cap.release()
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    n = 0
    for k in range(factor):  # ping-pong so the motion has no jump
        for bgr in frames if k % 2 == 0 else frames[::-1]:
            writer.write(bgr)
            n += 1
    writer.release()
    return n


def peak_rss_mb(video: Path, out: Path) -> float:
    """Peak RSS (MB) of a fresh process running one analyse (with the annotated video).

    Read by the child itself from /proc/self/status (VmHWM): the rusage of a child forked
    from this process would count this process's memory too. The pose worker process
    (posecheck.pose_worker) is counted too: its VmHWM is read while it is still alive.
    """
    code = "\n".join([
        "import sys",
        "from pathlib import Path",
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})",
        "from bench_analyse import analyse_once",
        f"analyse_once(Path({str(video)!r}), Path({str(out)!r}), True)",
        "from posecheck.pose_worker import _SHARED",
        "def hwm(pid): return int([l for l in open(f'/proc/{pid}/status')"
        " if l.startswith('VmHWM:')][0].split()[1])",
        "print(hwm('self') + sum(hwm(w._proc.pid) for w in _SHARED.values()))",
    ])
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(f"analyse process failed ({proc.returncode}): {proc.stderr[-500:]}")
    return int(proc.stdout.split()[-1]) / 1024.0  # kB -> MB


def memory(video: Path, long_video: Path, tmp: Path) -> None:
    n_long = int(cv2.VideoCapture(str(long_video)).get(cv2.CAP_PROP_FRAME_COUNT))
    n_short = cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT)
    short_mb = peak_rss_mb(video, tmp / "mem")
    long_mb = peak_rss_mb(long_video, tmp / "mem")
    per_frame_kb = max(0.0, (long_mb - short_mb) * 1024 / max(1.0, n_long - n_short))
    ten_min = long_mb + per_frame_kb * (10 * 60 * 60 - n_long) / 1024
    print("peak RSS of one analyse (with annotated video; analysing + pose worker process), "
          "fresh process each:")
    print(f"  {video.name}: {n_short:.0f} frames -> {short_mb:.0f} MB")
    print(f"  {long_video.name} (synthetic): {n_long} frames -> {long_mb:.0f} MB")
    print(f"  growth {per_frame_kb:.2f} kB/frame -> 10 min at 60 fps (36000 frames) "
          f"~{ten_min:.0f} MB (target < 500)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--long-factor", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["throughput", "landmarks", "memory"])
    args = parser.parse_args()
    from posecheck.model import default_model_path

    model = default_model_path()
    with tempfile.TemporaryDirectory(prefix="bench_analyse_") as d:
        tmp = Path(d)
        long_video = tmp / f"{args.video.stem}_x{args.long_factor}.mp4"
        make_long_video(args.video, args.long_factor, long_video)
        if "throughput" not in args.skip:
            throughput(args.video, model, args.repeats, tmp)
            throughput(long_video, model, args.repeats, tmp)
        if "landmarks" not in args.skip:
            landmark_agreement(args.video, model)
        if "memory" not in args.skip:
            memory(args.video, long_video, tmp)


if __name__ == "__main__":
    main()
