"""Compare the rebuilt bundle with the legacy ``mp.solutions.pose`` of mediapipe 0.10.21.

The bundle (``pose_landmarker_full.task``) is made from the legacy solution's own TFLite
graphs, so both should find the same landmarks on the same image, up to the differences of
the two graphs around them (image-to-tensor conversion, ROI and projection). This script
measures that on every Nth frame of a video, in IMAGE mode on both sides (no tracking, no
smoothing):

    python models/compare_legacy.py VIDEO --legacy-python /path/to/venv-0.10.21/bin/python

``--legacy-python`` is a Python with ``mediapipe==0.10.21`` installed (e.g.
``python -m venv v && v/bin/pip install mediapipe==0.10.21``); this script itself runs in
posecheck's environment (mediapipe 1.x). Development tool: not used by posecheck.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

LEGACY = """
import sys
import numpy as np
import mediapipe as mp
frames = np.load(sys.argv[1])["frames"]
out = np.full((len(frames), 33, 4), np.nan)
with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1,
                            min_detection_confidence=0.5) as pose:
    for i, rgb in enumerate(frames):
        res = pose.process(rgb)
        if res.pose_landmarks is not None:
            out[i] = [(p.x, p.y, p.z, p.visibility) for p in res.pose_landmarks.landmark]
np.save(sys.argv[2], out)
print(mp.__version__)
"""
LEGS = slice(23, 29)  # hips, knees, ankles


def read_frames(video: Path, every: int, max_side: int) -> np.ndarray:
    cap = cv2.VideoCapture(str(video))
    frames, i = [], 0
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        if i % every == 0:
            h, w = bgr.shape[:2]
            s = min(1.0, max_side / max(h, w))
            if s < 1.0:
                bgr = cv2.resize(bgr, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        i += 1
    cap.release()
    return np.stack(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--legacy-python", required=True)
    parser.add_argument("--every", type=int, default=5, help="every Nth frame (default 5)")
    parser.add_argument("--max-side", type=int, default=960)
    args = parser.parse_args()
    from posecheck.pose import PoseEstimator

    frames = read_frames(args.video, args.every, args.max_side)
    with tempfile.TemporaryDirectory() as d:
        np.savez(Path(d) / "frames.npz", frames=frames)
        proc = subprocess.run([args.legacy_python, "-c", LEGACY, str(Path(d) / "frames.npz"),
                               str(Path(d) / "legacy.npy")], capture_output=True, text=True,
                              check=False)
        if proc.returncode != 0:
            raise SystemExit(f"legacy run failed: {proc.stderr[-800:]}")
        legacy = np.load(Path(d) / "legacy.npy")
    ours = np.full_like(legacy, np.nan)
    with PoseEstimator(mode="image") as est:
        for i, rgb in enumerate(frames):
            pose = est.detect(rgb)
            if pose.landmarks is not None:
                ours[i] = pose.landmarks
    both = ~np.isnan(legacy[:, 0, 0]) & ~np.isnan(ours[:, 0, 0])
    print(f"{args.video.name}: {len(frames)} frames ({frames.shape[2]}x{frames.shape[1]}), "
          f"person found: legacy {int((~np.isnan(legacy[:, 0, 0])).sum())}, "
          f"bundle {int((~np.isnan(ours[:, 0, 0])).sum())}; mediapipe "
          f"{proc.stdout.strip()} vs this environment's")
    if not both.any():
        return
    d_xy = np.abs(legacy[both, :, :2] - ours[both, :, :2])
    for name, sel in (("all 33", slice(None)), ("hips/knees/ankles", LEGS)):
        x = d_xy[:, sel]
        print(f"  {name:18s} |dx|,|dy| normalized: median {np.median(x):.4f}, "
              f"95th pct {np.percentile(x, 95):.4f}, max {x.max():.4f}")
    dv = np.abs(legacy[both, :, 3] - ours[both, :, 3])
    print(f"  visibility: median |diff| {np.median(dv):.4f}, max {dv.max():.4f}")


if __name__ == "__main__":
    sys.exit(main())
