"""Benchmark ``posecheck analyse`` against the naive tutorial loop, and measure its memory.

Run: ``python benchmarks/bench_analyse.py [VIDEO] [--repeats N] [--long-factor K]``
(default video: samples/pose2sim_cam01.mp4, 1080x1920, 100 frames = 1.7 s, and the same
played 10 times = 17 s; memory on that and on the video played 2K times).

What it prints (one run, side by side, interleaved repeats, medians), on the
video and on a K times longer synthetic one (its frames played forward, backward, ...):

1. Throughput (frames/s) of the naive loop every tutorial writes (cv2 read, cvtColor,
   ``mp.Image``, ``detect_for_video``, sequential; written here with mediapipe directly),
   of ``analyse --no-video`` and of ``analyse`` with the annotated video, on the same
   video and model, and the ratios analyse / naive (targets: >= 1.2 and >= 1.0). The
   analyse timings are of :func:`posecheck.analyse_input.analyse_file`, i.e. everything the
   command does for a file: decoding, pose, session, frames.csv, landmarks.jsonl, plot,
   summary. Both sides include creating the pose landmarker.
2. Landmark agreement between detection on the full-size frame and on the frame
   downscaled to a longest side of 960 px (what analyse hands MediaPipe): max and median
   absolute difference of normalized x, y.
3. Peak memory of one analyse run (a fresh process each, with its pose model processes:
   resident (shared pages once), summed RSS, largest process), with and without the
   annotated video, on the K and 2K times longer videos, and the growth per frame between
   the two, extrapolated to a 10-minute 60 fps video.

Only the standard library, numpy, cv2, mediapipe and posecheck.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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
    from posecheck.analyse_input import AnalyseOptions, analyse_file

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
    cap = cv2.VideoCapture(str(video))
    n, fps = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    print(f"throughput on {video.name}, {n} frames = {n / fps:.1f} s ({repeats} interleaved "
          f"repeats, medians; load average {load0:.1f} -> {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores):")
    for k, v in runs.items():
        print(f"  {k:20s} {med[k]:6.1f} fps  {cpu[k]:5.1f} CPU ms/frame   runs: "
              f"{', '.join(f'{x[0]:.1f}' for x in v)}")
    print(f"  ratio analyse --no-video / naive: {med['analyse --no-video'] / med['naive']:.2f}"
          "  (target >= 1.2)")
    print(f"  ratio analyse (with video) / naive: {med['analyse'] / med['naive']:.2f}"
          "  (target >= 1.0)")


def landmark_agreement(video: Path, model: Path, max_side: int = 960) -> None:
    """Full-size vs downscaled detection on every frame of ``video``."""
    from posecheck.analyse_input import downscale
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
import json, sys, threading, time
from pathlib import Path
sys.path.insert(0, {bench_dir!r})
from bench_analyse import analyse_once

def status(pid, key):
    with open(f"/proc/{{pid}}/status") as f:
        return int(next(l for l in f if l.startswith(key)).split()[1])

def resident(pids):
    # kB resident in any of pids, pages of one file shared by several counted once:
    # private pages of each process + per mapped file the most any process has of it
    private, shared = 0, {{}}
    for pid in pids:
        key = None
        with open(f"/proc/{{pid}}/smaps") as f:
            for line in f:
                head = line.split(None, 1)[0]
                if "-" in head and not head.endswith(":"):  # a mapping's header line
                    parts = line.split()
                    key = parts[5] if len(parts) > 5 else (pid, parts[0])
                elif head in ("Private_Clean:", "Private_Dirty:"):
                    private += int(line.split()[1])
                elif head in ("Shared_Clean:", "Shared_Dirty:"):
                    kb = int(line.split()[1])
                    if kb:
                        shared[key, head] = max(shared.get((key, head), 0), kb)
    return private + sum(shared.values())

def children():
    import glob
    out = []
    for f in glob.glob("/proc/self/task/*/children"):
        out += open(f).read().split()
    return out

series = []  # (s since start, summed RSS kB, resident kB shared pages once, processes)
done = threading.Event()
t0 = time.perf_counter()

def sample():
    while not done.wait(0.25):
        pids = ["self"] + children()
        try:
            rss = sum(status(p, "VmRSS:") for p in pids)
            used = resident(pids)
        except (OSError, StopIteration, ValueError):
            continue
        series.append((time.perf_counter() - t0, rss, used, len(pids)))

threading.Thread(target=sample, daemon=True).start()
frames = analyse_once(Path({video!r}), Path({out!r}), {with_video!r})
done.set()
hwm = [status("self", "VmHWM:")]
print(json.dumps({{"series": series, "hwm": max(hwm), "frames": frames,
                  "seconds": time.perf_counter() - t0}}))
"""


def memory_run(video: Path, out: Path, with_video: bool) -> dict[str, Any]:
    """Memory of a fresh process running one analyse, with its pose model processes.

    Sampled every 0.25 s from /proc by the child itself (the rusage of a child forked from
    this process would count this process's memory too): ``series`` of (s, summed RSS kB,
    resident kB, processes), ``hwm`` the largest single-process peak RSS (kB), ``frames``,
    ``seconds``. Summed RSS counts the pages of the shared libraries (MediaPipe, OpenCV)
    once per process; "resident" counts them once (private pages of every process plus,
    per mapped file, the most any one process has resident): what the run occupies. (PSS
    would divide shared pages also with unrelated processes that map the same libraries,
    e.g. this benchmark after its tutorial loop, and so depend on what else runs.)
    """
    code = _MEMORY_CHILD.format(bench_dir=str(Path(__file__).parent), video=str(video),
                                out=str(out), with_video=with_video)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False)
    if proc.returncode != 0:
        raise SystemExit(f"analyse process failed ({proc.returncode}): {proc.stderr[-500:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def memory(videos: list[Path], tmp: Path) -> None:
    """Peak memory on two lengths of the same footage, and the growth per frame between."""
    print("memory of one analyse (this process + its pose model processes, sampled every "
          "0.25 s; a fresh process each; resident = shared pages once):")
    for with_video in (False, True):
        label = "with annotated video" if with_video else "--no-video"
        peaks = []
        for video in videos:
            run = memory_run(video, tmp / "mem", with_video)
            s = np.array(run["series"], dtype=float)
            used, rss, procs = s[:, 2].max() / 1024, s[:, 1].max() / 1024, int(s[:, 3].max())
            peaks.append((run["frames"], used, rss))
            print(f"  {label:20s} {video.name}: {run['frames']} frames, {procs} processes: "
                  f"peak resident {used:.0f} MB, summed RSS {rss:.0f} MB, largest process "
                  f"{run['hwm'] / 1024:.0f} MB")
        (n0, u0, _), (n1, u1, r1) = peaks
        # a sampled peak varies by a few MB from run to run: a difference within NOISE_MB
        # is not taken as growth
        g = (u1 - u0) * 1024 / max(1, n1 - n0) if abs(u1 - u0) > NOISE_MB else 0.0
        ten = 10 * 60 * 60
        print(f"  {label:20s} {n1 - n0} more frames: {u1 - u0:+.1f} MB (noise ~{NOISE_MB:.0f} "
              f"MB) -> growth {g:.2f} kB/frame -> 10 min at 60 fps ({ten} frames) "
              f"~{u1 + max(0.0, g) * (ten - n1) / 1024:.0f} MB resident, "
              f"~{r1 + max(0.0, g) * (ten - n1) / 1024:.0f} MB summed RSS (target < 500)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", nargs="?", type=Path, default=DEFAULT_VIDEO)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--long-factor", type=int, default=10,
                        help="the longer clip is the video played K times (default 10: "
                        "17 s for the sample, nearer a real stretch than its 1.7 s)")
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
            longer = tmp / f"{args.video.stem}_x{2 * args.long_factor}.mp4"
            make_long_video(args.video, 2 * args.long_factor, longer)
            memory([long_video, longer], tmp)


if __name__ == "__main__":
    main()
