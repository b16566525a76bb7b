"""Accuracy and speed of posecheck.geometry on synthetic poses (tests/skeleton.py).

Run: ``python benchmarks/bench_geometry.py``. Prints the targets of docs/geometry.md:
noise-free max rotation error where knee flexion >= 45 deg; mean absolute error with
MediaPipe-like noise after One Euro smoothing on 30 fps sequences (seated front view and
all views/postures); frames per second of the vectorized computation on one core.
Numbers are degrees. Must not import mediapipe or cv2.
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from skeleton import Camera, LegPose, Noise, make_pose, make_sequence, ramp_profile

from posecheck.angle_store import AngleStore, ArrayReplaySmoother, zero_phase_store
from posecheck.filters import smooth_frames
from posecheck.geometry import hip_angles, series_from_frames
from posecheck.session import Session
from posecheck.stretches import load_catalogue

# (posture, left leg, right leg): (hip_flex, abd, rot, knee_flex) degrees.
POSTURES = [
    ("seated", (90, 0, 30, 90), (90, 0, -35, 90)),
    ("seated", (90, 5, -20, 100), (85, -5, 40, 80)),
    ("standing", (0, 0, 35, 90), (0, 5, -30, 70)),
    ("prone", (0, 0, -40, 90), (0, 0, 30, 90)),
    ("supine", (90, 0, 25, 90), (100, 10, -30, 110)),
    ("supine", (90, 30, -45, 100), (60, 0, 5, 90)),  # figure-4, left leg crossed
    ("seated", (90, 40, -50, 90), (10, 40, 40, 90)),  # 90/90 sit, left leg in front
]
CAMERAS = [Camera(yaw=y, pitch=p, roll=r)
           for y, p, r in itertools.product((-45, -20, 0, 20, 45), (-20, 0, 20), (-10, 0, 10))]
FRONT = [Camera(), Camera(pitch=10), Camera(yaw=10), Camera(roll=5), Camera(yaw=-10, pitch=-10)]


def _truth(case: tuple) -> np.ndarray:
    return np.array([case[1][2], case[2][2]], dtype=float)


def noise_free_max_error() -> float:
    """Max |rotation error| over every posture x camera, noise-free (knee >= 45 by design)."""
    frames, truth = [], []
    for case, cam in itertools.product(POSTURES, CAMERAS):
        frames.append(make_pose(LegPose(*case[1]), LegPose(*case[2]), cam, case[0]))
        truth.append(_truth(case))
    s = series_from_frames(frames)
    est = np.stack((s.left.rotation_deg, s.right.rotation_deg), axis=1)
    return float(np.max(np.abs(est - np.array(truth))))


def noisy_mae(cases: list, cameras: list, seconds: float = 3.0, seed: int = 0) -> float:
    """Mean |error| of the smoothed rotation over static 30 fps holds with Noise()."""
    rng = np.random.default_rng(seed)
    errors = []
    for case, cam in itertools.product(cases, cameras):
        seq = make_sequence(int(30 * seconds), LegPose(*case[1]), LegPose(*case[2]), 30.0,
                            cam, case[0], rng=rng, noise=Noise())
        smooth = smooth_frames(series_from_frames(seq).frames())
        est = np.array([[f.left.rotation_deg, f.right.rotation_deg] for f in smooth],
                       dtype=float)
        errors.append(np.abs(est - _truth(case)))
    return float(np.nanmean(np.concatenate(errors)))


def moving_mae(cameras: list, seconds: float = 13.0, seed: int = 2,
               offline: bool = False) -> float:
    """Mean |error| of the session's rotation (smoothed, neutral-corrected) on moving legs.

    Seated, 2 s still (the neutral), then the left hip ramps to 35 deg IR and the right to
    40 deg ER over 1.5 s, holds 5 s and comes back; both thighs in 8 deg of natural
    abduction; every camera pitched 5 deg more; Noise(). The whole session runs (swap
    repair, image references, neutral, smoothing). ``offline``: as ``analyse`` does by
    default, a second pass of the same session with the zero-phase smoother
    (posecheck.analyse_input._offline_pass); otherwise the causal one-pass session of
    ``live`` and ``analyse --causal``.
    """
    rng = np.random.default_rng(seed)
    cat = load_catalogue()
    left_rot = ramp_profile(35.0, rest_s=2.5, ramp_s=1.5, hold_s=5.0)
    right_rot = ramp_profile(-40.0, rest_s=2.5, ramp_s=1.5, hold_s=5.0)
    errors = []
    for cam in cameras:
        cam = Camera(yaw=cam.yaw, pitch=cam.pitch + 5.0, roll=cam.roll)
        seq = make_sequence(int(30 * seconds), lambda t: LegPose(90, 8, left_rot(t), 90),
                            lambda t: LegPose(90, 8, right_rot(t), 90), 30.0, cam, "seated",
                            rng=rng, noise=Noise())
        stretches = [cat["internal-rotation"], cat["external-rotation"]]
        session = Session(stretches)
        results = [session.update(f) for f in seq]
        if offline:
            raws = AngleStore()  # analyse's offline pass (posecheck.analyse_input)
            raws.extend(r.raw for r in results)
            session = Session(stretches,
                              smoother=ArrayReplaySmoother(raws, zero_phase_store(raws)))
            results = [session.update(f) for f in seq]
        for f, r in zip(seq, results, strict=True):
            for side, truth in (("left", left_rot(f.t)), ("right", right_rot(f.t))):
                value = r.rotation_deg[side]
                errors.append(np.nan if value is None else abs(value - truth))
    return float(np.nanmean(errors))


def speed(n: int = 200_000) -> float:
    """Frames per second of hip_angles on n frames (both sides, world + image)."""
    rng = np.random.default_rng(1)
    pose = make_pose(LegPose(90, 0, 20, 90), LegPose(90, 0, -20, 90))
    world = pose.world_landmarks + rng.normal(0, 0.01, (n, 33, 4))
    image = pose.landmarks + rng.normal(0, 0.002, (n, 33, 4))
    hip_angles(world[:1000], image[:1000], pose.image_size)  # warm-up
    start = time.perf_counter()
    hip_angles(world, image, pose.image_size)
    return n / (time.perf_counter() - start)


def main() -> None:
    """Print every target and the measured value."""
    print(f"noise-free max error (target < 0.5 deg): {noise_free_max_error():.3f} deg")
    print(f"seated front MAE, noise + smoothing (target <= 2 deg): "
          f"{noisy_mae(POSTURES[:2], FRONT):.2f} deg")
    print(f"all views/postures MAE, noise + smoothing (target <= 4 deg): "
          f"{noisy_mae(POSTURES, CAMERAS[::4]):.2f} deg")
    print(f"moving seated legs, 8 deg abduction, camera pitch +5, noise, whole session, "
          f"analyse (zero-phase pass), front views (target <= 2 deg): "
          f"{moving_mae(FRONT, offline=True):.2f} deg")
    print(f"the same over 9 views (target <= 4 deg): "
          f"{moving_mae(CAMERAS[::5], offline=True):.2f} deg")
    print(f"the same, causal (live, analyse --causal): front views "
          f"{moving_mae(FRONT):.2f} deg, 9 views {moving_mae(CAMERAS[::5]):.2f} deg")
    print(f"speed (target >= 100000 frames/s): {speed():,.0f} frames/s")


if __name__ == "__main__":
    main()
