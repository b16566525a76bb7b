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
NOISE_MB = 5.0  # run-to-run variation of a sampled memory peak


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


_MEMORY_CHILD = """
import sys, threading, time
from pathlib import Path
sys.path.insert(0, {bench_dir!r})
from bench_analyse import analyse_once
from posecheck import pose_worker

def status(pid, key):
    with open(f"/proc/{{pid}}/status") as f:
        return int(next(l for l in f if l.startswith(key)).split()[1])

def pss(pid):
    with open(f"/proc/{{pid}}/smaps_rollup") as f:
        return int(next(l for l in f if l.startswith("Pss:")).split()[1])

peak = {{"rss": 0, "pss": 0, "n": 0}}
done = threading.Event()

def sample():
    while not done.wait(0.1):
        pids = ["self"] + [w._proc.pid for w in list(pose_worker._SHARED.values())]
        try:
            rss = sum(status(p, "VmRSS:") for p in pids)
            pssv = sum(pss(p) for p in pids)
        except (OSError, StopIteration):
            continue
        peak["rss"] = max(peak["rss"], rss)
        peak["pss"] = max(peak["pss"], pssv)
        peak["n"] = max(peak["n"], len(pids))

threading.Thread(target=sample, daemon=True).start()
analyse_once(Path({video!r}), Path({out!r}), {with_video!r})
done.set()
hwm = [status("self", "VmHWM:")] + [status(w._proc.pid, "VmHWM:")
                                     for w in pose_worker._SHARED.values()]
print(peak["rss"], peak["pss"], max(hwm), peak["n"])
"""


def peak_memory_mb(video: Path, out: Path, with_video: bool) -> tuple[float, float, float, int]:
    """Memory of a fresh process running one analyse, with its pose worker processes.

    Returns (peak of the summed RSS, peak of the summed PSS, largest single-process peak
    RSS (VmHWM), processes), in MB, sampled every 0.1 s. RSS counts the shared libraries
    (MediaPipe, OpenCV) once per process; PSS splits shared pages between the processes
    that map them, so its sum is what the run really occupies. Read from /proc by the
    child itself: the rusage of a child forked from this process would count this
    process's memory too.
    """
    code = _MEMORY_CHILD.format(bench_dir=str(Path(__file__).parent), video=str(video),
                                out=str(out), with_video=with_video)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(f"analyse process failed ({proc.returncode}): {proc.stderr[-500:]}")
    rss, pss, hwm, n = (int(x) for x in proc.stdout.split()[-4:])
    return rss / 1024.0, pss / 1024.0, hwm / 1024.0, n


def memory(videos: list[Path], tmp: Path) -> None:
    """Peak memory on two lengths of the same footage, and the growth per frame."""
    counts = [int(cv2.VideoCapture(str(v)).get(cv2.CAP_PROP_FRAME_COUNT)) for v in videos]
    print("peak memory of one analyse (this process + its pose model processes, sampled "
          "every 0.1 s; fresh process each):")
    for with_video in (False, True):
        label = "with annotated video" if with_video else "--no-video"
        rows = [peak_memory_mb(v, tmp / "mem", with_video) for v in videos]
        for v, n, (rss, pss, hwm, procs) in zip(videos, counts, rows, strict=True):
            print(f"  {label:20s} {v.name}: {n} frames, {procs} processes -> summed RSS "
                  f"{rss:.0f} MB, summed PSS {pss:.0f} MB, largest process {hwm:.0f} MB")
        (n0, n1), (p0, p1) = counts, (rows[0][1], rows[1][1])
        # a sampled peak varies by a few MB from run to run: only a difference beyond
        # NOISE_MB is taken as growth and extrapolated
        growth_kb = (p1 - p0) * 1024 / max(1, n1 - n0) if p1 - p0 > NOISE_MB else 0.0
        ten_min = p1 + growth_kb * (10 * 60 * 60 - n1) / 1024
        print(f"  {label:20s} {n1 - n0} more frames: {p1 - p0:+.1f} MB summed PSS "
              f"(noise ~{NOISE_MB:.0f} MB) -> growth {growth_kb:.2f} kB/frame -> 10 min at "
              f"60 fps (36000 frames) ~{ten_min:.0f} MB summed PSS, "
              f"~{rows[1][0] + growth_kb * (36000 - n1) / 1024:.0f} MB summed RSS "
              "(target < 500)")


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
            # two lengths that both run the same number of pose model processes
            longer = tmp / f"{args.video.stem}_x{2 * args.long_factor}.mp4"
            make_long_video(args.video, 2 * args.long_factor, longer)
            memory([long_video, longer], tmp)


if __name__ == "__main__":
    main()
