"""``posecheck analyse`` against the naive tutorial loop, whole processes, on several clips.

Run: ``python benchmarks/bench_analyse.py [--repeats N] [--clips NAME ...] [--skip memory]``
(Linux: CPU and memory come from ``wait4`` and ``/proc``).

Clips (each named in the output; a clip that cannot be had is reported as not measured):

- ``sample-portrait``: samples/pose2sim_cam01.mp4, 1080x1920, 100 frames at 60 fps (1.7 s);
- ``sample-squats``: samples/tfjs_pose_squats.mp4, 720x1280, 65 frames at 5 fps (13 s);
- ``portrait-5s``: the portrait sample played 3 times (forward, backward, forward), 300
  frames, 5 s, 1080x1920;
- ``sports2d-demo``: Sports2D's ``Demo/demo.mp4`` (1768x994, 230 frames at 30 fps, 7.7 s;
  BSD-3), taken from the ``sports2d`` wheel, which the set-up downloads once with
  ``pip download`` into the user cache folder (never into the repository);
- ``rendered``: a case of the render kit's dev set (``--render-dir``, default
  ``../shared/render/dev`` beside the repository), 640x480 at 30 fps.

Per clip, alternating runs (naive, ``analyse --no-video``, ``analyse`` with the annotated
video; the order reversed every other repeat), each a fresh process: wall time, CPU time
(user + system of the process and its children) and the peak summed RSS of its process
tree (sampled every 0.1 s from /proc). The naive loop is the one every tutorial writes:
cv2 read, cvtColor, ``mp.Image``, ``detect_for_video``, one frame after another (this file,
run with ``--naive``). Both sides pay their imports and the model's creation. Printed:
medians, ratios naive / analyse for the wall time (speed) and analyse / naive for the CPU
per frame, and the targets of issue 14 met or not:

- ``analyse --no-video``: >= 1.2x the naive loop's speed on every clip >= 5 s, >= 1.0x on
  every clip; with the annotated video >= 1.0x on every clip;
- CPU seconds per frame <= 1.15x the naive loop's (both modes);
- memory flat in video length and < 500 MB for the whole process tree: the portrait sample
  played 10 and 30 times (``--memory-factors``; 1000 and 3000 frames), peak summed RSS of
  each, growth per frame extrapolated to 10 minutes at 60 fps (x17.5 the measured growth:
  with 10 and 20 it was x34, and +-5 MB of sampling noise read as +-170 MB).

The machine's load average is printed with each clip: on a shared machine only ratios of
alternating runs mean something.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
SPORTS2D = "sports2d==0.8.34"  # the wheel that carries Demo/demo.mp4 (BSD-3)
MODES = ("naive", "analyse --no-video", "analyse")
MIN_LONG_S = 5.0  # clips at least this long must reach the higher target


# ----------------------------------------------------------------------------- the naive loop
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


# ----------------------------------------------------------------------------- clips
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


def sports2d_demo(cache: Path) -> Path:
    """Sports2D's demo.mp4 from its wheel, downloaded once into ``cache``."""
    target = cache / "sports2d-demo.mp4"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    wheels = cache / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d",
                    str(wheels), SPORTS2D], check=True, capture_output=True)
    wheel = next(wheels.glob("sports2d-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        tmp = target.with_suffix(".part")
        tmp.write_bytes(zf.read("Sports2D/Demo/demo.mp4"))
        tmp.replace(target)
    return target


def rendered_clip(render_dir: Path | None) -> Path:
    candidates = [render_dir] if render_dir else [
        p / "shared" / "render" / "dev" for p in (ROOT.parent, ROOT.parent.parent)]
    for d in candidates:
        if d is not None and d.is_dir():
            preferred = d / "dev_front_male_irer_R.mp4"
            if preferred.exists():
                return preferred
            found = sorted(d.glob("*.mp4"))
            if found:
                return found[0]
    raise FileNotFoundError("no render kit dev set (pass --render-dir)")


def clips(tmp: Path, names: list[str], render_dir: Path | None) -> dict[str, Path | str]:
    """Clip name -> path, or the reason it could not be had."""
    from platformdirs import user_cache_dir

    makers = {
        "sample-portrait": lambda: SAMPLES / "pose2sim_cam01.mp4",
        "sample-squats": lambda: SAMPLES / "tfjs_pose_squats.mp4",
        "portrait-5s": lambda: _long(SAMPLES / "pose2sim_cam01.mp4", 3, tmp),
        "sports2d-demo": lambda: sports2d_demo(Path(user_cache_dir("posecheck-bench"))),
        "rendered": lambda: rendered_clip(render_dir),
    }
    out: dict[str, Path | str] = {}
    for name in names:
        try:
            out[name] = makers[name]()
        except (OSError, subprocess.CalledProcessError, StopIteration, KeyError) as exc:
            out[name] = f"{type(exc).__name__}: {exc}"
    return out


def _long(video: Path, factor: int, tmp: Path) -> Path:
    path = tmp / f"{video.stem}_x{factor}.mp4"
    if not path.exists():
        make_long_video(video, factor, path)
    return path


def describe(video: Path) -> tuple[str, int, float]:
    """('WxH', frames, seconds) from the container."""
    cap = cv2.VideoCapture(str(video))
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    n, fps = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), cap.get(cv2.CAP_PROP_FPS) or 30.0
    cap.release()
    return f"{w}x{h}", n, n / fps


# ----------------------------------------------------------------------------- one process
@dataclass
class Run:
    wall_s: float
    cpu_s: float
    peak_mb: float  # summed RSS of the process tree, sampled


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo.extend(int(c) for c in task.read_text().split())
            except OSError:
                continue
    return pids


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


def run_process(cmd: list[str]) -> Run:
    """Run ``cmd``; its wall time, CPU time (with its children) and peak tree RSS."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            peak[0] = max(peak[0], sum(_rss_kb(p) for p in _tree(proc.pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): "
                         f"{err.decode(errors='replace')[-400:]}")
    return Run(wall, usage.ru_utime + usage.ru_stime, peak[0] / 1024)


def command(mode: str, video: Path, out: Path) -> list[str]:
    if mode == "naive":
        return [sys.executable, str(Path(__file__).resolve()), "--naive", str(video)]
    cmd = [sys.executable, "-m", "posecheck", "analyse", str(video), "--no-store", "--force",
           "--out", str(out)]
    return cmd + (["--no-video"] if mode == "analyse --no-video" else [])


# ----------------------------------------------------------------------------- measuring
@dataclass
class ClipResult:
    name: str
    size: str
    frames: int
    seconds: float
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def med(self, mode: str, attr: str) -> float:
        return statistics.median(getattr(r, attr) for r in self.runs[mode])


def measure(name: str, video: Path, repeats: int, tmp: Path) -> ClipResult:
    size, frames, seconds = describe(video)
    res = ClipResult(name, size, frames, seconds, {m: [] for m in MODES})
    run_process(command("naive", video, tmp))  # warm-up: file cache, imports
    for k in range(repeats):
        for mode in MODES if k % 2 == 0 else MODES[::-1]:
            res.runs[mode].append(run_process(command(mode, video, tmp / "out")))
    return res


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(res: ClipResult, load: tuple[float, float]) -> list[bool]:
    """Print one clip's table and its targets; the targets' outcomes."""
    print(f"\n{res.name}: {res.size}, {res.frames} frames, {res.seconds:.1f} s "
          f"({len(res.runs['naive'])} alternating repeats, medians; load average "
          f"{load[0]:.1f} -> {load[1]:.1f} on {os.cpu_count()} cores)")
    print(f"  {'':20s} {'wall s':>7s} {'CPU s':>7s} {'CPU ms/frame':>12s} {'peak MB':>8s}"
          f" {'speed':>6s} {'CPU':>6s}   walls")
    nw, nc = res.med("naive", "wall_s"), res.med("naive", "cpu_s")
    for mode in MODES:
        w, c, m = (res.med(mode, a) for a in ("wall_s", "cpu_s", "peak_mb"))
        print(f"  {mode:20s} {w:7.2f} {c:7.2f} {c * 1000 / res.frames:12.1f} {m:8.0f}"
              f" {nw / w:5.2f}x {c / nc:5.2f}x   "
              + ", ".join(f"{r.wall_s:.1f}" for r in res.runs[mode]))
    outcomes = []
    long_clip = res.seconds >= MIN_LONG_S
    need = 1.2 if long_clip else 1.0
    s_nv = nw / res.med("analyse --no-video", "wall_s")
    s_v = nw / res.med("analyse", "wall_s")
    for label, ok in (
            (f"--no-video speed >= {need}x ({'clip >= 5 s' if long_clip else 'clip < 5 s'})"
             f": {s_nv:.2f}x", s_nv >= need),
            (f"with video speed >= 1.0x: {s_v:.2f}x", s_v >= 1.0),
            *((f"{mode} CPU/frame <= 1.15x naive: {res.med(mode, 'cpu_s') / nc:.2f}x",
               res.med(mode, "cpu_s") / nc <= 1.15) for mode in MODES[1:])):
        print(f"  target {verdict(ok):7s} {label}")
        outcomes.append(ok)
    return outcomes


def memory(tmp: Path, factors: tuple[int, int]) -> list[bool]:
    """Peak tree RSS on the sample played ``factors`` times, both modes; growth per frame
    and a 10-minute estimate."""
    short, long_ = (_long(SAMPLES / "pose2sim_cam01.mp4", k, tmp) for k in factors)
    n0, n1 = (100 * k for k in factors)
    print("\nmemory: peak summed RSS of the whole process tree (sampled every 0.1 s), "
          f"portrait sample played {factors[0]} and {factors[1]} times ({n0} and {n1} "
          "frames, 1080x1920):")
    outcomes = []
    for mode in MODES[1:]:
        a, b = (run_process(command(mode, v, tmp / "mem")).peak_mb for v in (short, long_))
        per_frame_kb = max(0.0, (b - a) * 1024 / (n1 - n0))
        ten_min = b + per_frame_kb * (10 * 60 * 60 - n1) / 1024
        flat = abs(b - a) <= 15.0  # sampled peaks vary by a few MB between runs
        ok = flat and ten_min < 500
        print(f"  target {verdict(ok):7s} {mode:20s} {a:.0f} -> {b:.0f} MB ({b - a:+.0f} MB for "
              f"{n1 - n0} more frames; flat = within 15 MB) -> 10 min at 60 fps ~{ten_min:.0f} MB "
              "(< 500)")
        outcomes.append(ok)
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    names = ["sample-portrait", "sample-squats", "portrait-5s", "sports2d-demo", "rendered"]
    parser.add_argument("--clips", nargs="*", default=names, choices=names)
    parser.add_argument("--render-dir", type=Path)
    parser.add_argument("--skip", nargs="*", default=[], choices=["memory"])
    parser.add_argument("--memory-factors", type=int, nargs=2, default=(10, 30), metavar="K",
                        help="the two lengths for memory: the sample played K times")
    parser.add_argument("--naive", type=Path, help=argparse.SUPPRESS)  # the naive process
    args = parser.parse_args()
    from posecheck.model import default_model_path

    if args.naive:
        naive_loop(args.naive, default_model_path())
        return
    outcomes: list[bool] = []
    with tempfile.TemporaryDirectory(prefix="bench_analyse_") as d:
        tmp = Path(d)
        for name, video in clips(tmp, args.clips, args.render_dir).items():
            if isinstance(video, str):
                print(f"\n{name}: NOT measured ({video})")
                outcomes.append(False)
                continue
            load0 = os.getloadavg()[0]
            res = measure(name, video, args.repeats, tmp)
            outcomes += report(res, (load0, os.getloadavg()[0]))
        if "memory" not in args.skip:
            outcomes += memory(tmp, tuple(args.memory_factors))
    met = sum(outcomes)
    print(f"\n{met} of {len(outcomes)} targets met" + ("" if met == len(outcomes) else
          " (see NOT met above)"))


if __name__ == "__main__":
    main()
