"""Monocular posecheck against a four-camera triangulation: the Pose2Sim demo (issue 10).

Run: ``python benchmarks/bench_pose2sim.py [--cache DIR] [--posecheck EXE]``.

Set-up: ``pip download pose2sim --no-deps`` (PyPI, BSD-3-Clause) into ``--cache`` (default
``$POSECHECK_POSE2SIM_CACHE`` or ``/tmp/posecheck-pose2sim``; nothing is written to the
repository) and the wheel's ``Demo_SinglePerson`` is extracted: four calibrated, synchronised
60 fps views (``videos/cam01..04.mp4``) and the Qualisys calibration ``Calib.qca.txt``. When
the wheel cannot be fetched it says so and exits 0.

For every camera posecheck's own CLI runs MediaPipe (``posecheck landmarks``, cached in the
cache folder) and ``posecheck analyse`` (the monocular series, frames.csv). The reference:
the four views' 2D image landmarks, undistorted with each camera's distortion, triangulated
by DLT weighted by MediaPipe's visibility (a view with visibility < 0.3 is left out; at least
two views), in the calibration's world frame (metres). Hip rotation, flexion, abduction and
knee flexion of the triangulated joints come from posecheck's own geometry
(``posecheck.geometry.hip.leg_angles_3d``, frame-independent for any right-handed frame).

Printed: the calibration convention chosen (the one whose triangulation has every point in
front of every camera and the smallest reprojection error), per-camera reprojection error and
sync (the frame offset of each view that minimises its reprojection error against the other
three), units (camera distances and thigh lengths in metres), and per camera and side the
MAE / bias / correlation of posecheck's monocular series against the triangulated one
(degrees; error = monocular - triangulated; rotation + = internal), with the camera's view
yaw as posecheck reports it (summary.json ``setup.view_yaw_deg``). Pooled rotation MAE over
all cameras' frames against issue 10's target (<= 10 deg). Monocular rotation is
``<side>_rotation_uncorrected_deg`` (smoothed, gated at knee flexion >= 45 deg, no neutral);
the triangulated reference is per frame, unsmoothed.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from posecheck.geometry.hip import leg_angles_3d
from posecheck.landmark_io import read_landmarks

CAMS = ("cam01", "cam02", "cam03", "cam04")
DEMO = "Pose2Sim/Demo_SinglePerson/"
MIN_VIS = 0.3
TARGET_POOLED_MAE = 10.0
ANGLES = (("rotation", "rotation_uncorrected_deg", "rotation_deg"),
          ("hip flexion", "hip_flexion_deg", "hip_flexion_deg"),
          ("hip abduction", "hip_abduction_deg", "hip_abduction_deg"),
          ("knee flexion", "knee_flexion_deg", "knee_flexion_deg"))


@dataclass(frozen=True)
class Camera:
    """A pinhole camera: world (m) -> camera ``x_c = R x_w + t`` (OpenCV axes: z forward).

    ``K`` 3x3 pixels; ``dist`` (k1, k2, p1, p2, k3) OpenCV's radial-tangential model.
    """

    name: str
    K: np.ndarray
    dist: np.ndarray
    R: np.ndarray
    t: np.ndarray

    @property
    def P(self) -> np.ndarray:
        """3x4 normalised projection [R | t] (no intrinsics)."""
        return np.hstack([self.R, self.t[:, None]])


def distort(xy: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Normalised undistorted (..., 2) -> distorted, OpenCV's model (k1, k2, p1, p2, k3)."""
    k1, k2, p1, p2, k3 = dist
    x, y = xy[..., 0], xy[..., 1]
    r2 = x * x + y * y
    radial = 1 + k1 * r2 + k2 * r2 * r2 + k3 * r2 ** 3
    xd = x * radial + 2 * p1 * x * y + p2 * (r2 + 2 * x * x)
    yd = y * radial + p1 * (r2 + 2 * y * y) + 2 * p2 * x * y
    return np.stack([xd, yd], axis=-1)


def undistort(xy_d: np.ndarray, dist: np.ndarray, iterations: int = 30) -> np.ndarray:
    """Inverse of :func:`distort` by fixed-point iteration (as cv2.undistortPoints)."""
    xy = xy_d.copy()
    for _ in range(iterations):
        xy = xy + (xy_d - distort(xy, dist))
    return xy


def project(cam: Camera, pts: np.ndarray) -> np.ndarray:
    """World points (..., 3) m -> pixels (..., 2), with distortion."""
    pc = pts @ cam.R.T + cam.t
    xy = pc[..., :2] / pc[..., 2:3]
    xy = distort(xy, cam.dist)
    return xy @ cam.K[:2, :2].T + cam.K[:2, 2]


def normalised(cam: Camera, px: np.ndarray) -> np.ndarray:
    """Pixels (..., 2) -> undistorted normalised image coordinates (..., 2)."""
    xy_d = (px - cam.K[:2, 2]) / np.diag(cam.K)[:2]
    return undistort(xy_d, cam.dist)


def triangulate(cams: Sequence[Camera], px: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted DLT. ``px`` (V, N, 2) pixels, ``weights`` (V, N) >= 0 -> (N, 3) world points.

    A point seen with weight > 0 by fewer than two views is NaN.
    """
    N = weights.shape[1]
    xy = np.stack([normalised(c, px[v]) for v, c in enumerate(cams)])  # (V, N, 2)
    out = np.full((N, 3), np.nan)
    for n in range(N):
        rows = []
        for v, c in enumerate(cams):
            w = weights[v, n]
            if not (w > 0 and np.all(np.isfinite(xy[v, n]))):
                continue
            P = c.P
            rows.append(w * (xy[v, n, 0] * P[2] - P[0]))
            rows.append(w * (xy[v, n, 1] * P[2] - P[1]))
        if len(rows) < 4:
            continue
        _, _, vt = np.linalg.svd(np.asarray(rows))
        X = vt[-1]
        if abs(X[3]) > 1e-12:
            out[n] = X[:3] / X[3]
    return out


def read_qca(path: Path, flip: bool, transpose: bool) -> list[Camera]:
    """Qualisys ``.qca.txt`` -> cameras. Positions are mm (-> m); sensor units /64 = px.

    ``transpose``/``flip`` select how the ``transform`` matrix maps to OpenCV's world->camera
    rotation (the file does not say; :func:`choose_convention` decides from the data).
    """
    cams = []
    for cam in ET.parse(path).getroot().iter("camera"):
        tr, it, fov = cam.find("transform"), cam.find("intrinsic"), cam.find("fov_video")
        M = np.array([[float(tr.get(f"r{i}{j}")) for j in (1, 2, 3)] for i in (1, 2, 3)])
        centre = np.array([float(tr.get(k)) for k in "xyz"]) / 1000.0
        R = M if transpose else M.T  # world -> camera
        if flip:
            R = np.diag([1.0, -1.0, -1.0]) @ R
        fu, fv = float(it.get("focalLengthU")) / 64, float(it.get("focalLengthV")) / 64
        cu = float(it.get("centerPointU")) / 64 - float(fov.get("left"))
        cv = float(it.get("centerPointV")) / 64 - float(fov.get("top"))
        K = np.array([[fu, 0, cu], [0, fv, cv], [0, 0, 1.0]])
        dist = np.array([float(it.get(k)) for k in (
            "radialDistortion1", "radialDistortion2", "tangentalDistortion1",
            "tangentalDistortion2", "radialDistortion3")])
        cams.append(Camera(cam.get("serial"), K, dist, R, -R @ centre))
    return cams


def fetch(cache: Path) -> Path | None:
    """The extracted demo folder in ``cache`` (downloading the wheel once), or None."""
    demo = cache / DEMO
    if all((demo / "videos" / f"{c}.mp4").is_file() for c in CAMS) and \
            (demo / "calibration" / "Calib.qca.txt").is_file():
        return demo
    cache.mkdir(parents=True, exist_ok=True)
    wheels = sorted(cache.glob("pose2sim-*.whl"))
    if not wheels:
        r = subprocess.run([sys.executable, "-m", "pip", "download", "pose2sim", "--no-deps",
                            "-d", str(cache), "-q"], capture_output=True, text=True)
        wheels = sorted(cache.glob("pose2sim-*.whl"))
        if r.returncode != 0 or not wheels:
            return None
    with zipfile.ZipFile(wheels[-1]) as z:
        names = [n for n in z.namelist() if n.startswith(DEMO + "videos/cam")
                 or n == DEMO + "calibration/Calib.qca.txt"]
        z.extractall(cache, names)
    return demo


def load_views(lm_paths: Sequence[Path]) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """(V, F, 33, 2) pixels and (V, F, 33) visibility (0 where no pose), frame times of view 0."""
    per_view = [list(read_landmarks(p)) for p in lm_paths]
    F = min(len(v) for v in per_view)
    px = np.full((len(per_view), F, 33, 2), np.nan)
    vis = np.zeros((len(per_view), F, 33))
    for v, frames in enumerate(per_view):
        for f, fr in enumerate(frames[:F]):
            if fr.has_pose:
                a = fr.landmarks_px
                px[v, f], vis[v, f] = a[:, :2], a[:, 3]
    return px, vis, [fr.t for fr in per_view[0][:F]]


def triangulate_all(cams: Sequence[Camera], px: np.ndarray, vis: np.ndarray,
                    shifts: Sequence[int] | None = None) -> np.ndarray:
    """(F, 33, 3) points; view v's frame f + shifts[v] is paired with frame f."""
    V, F = vis.shape[:2]
    shifts = shifts or [0] * V
    out = np.full((F, 33, 3), np.nan)
    for f in range(F):
        idx = [f + s for s in shifts]
        if any(i < 0 or i >= F for i in idx):
            continue
        p = np.stack([px[v, i] for v, i in enumerate(idx)])
        w = np.stack([vis[v, i] for v, i in enumerate(idx)])
        out[f] = triangulate(cams, p, np.where(w >= MIN_VIS, w, 0.0))
    return out


def reprojection_px(cam: Camera, pts: np.ndarray, px: np.ndarray, vis: np.ndarray) -> float:
    """Median pixel distance between projected ``pts`` and ``px`` where vis >= MIN_VIS."""
    e = np.linalg.norm(project(cam, pts) - px, axis=-1)
    ok = np.isfinite(e) & (vis >= MIN_VIS)
    return float(np.median(e[ok])) if ok.any() else math.nan


def in_front(cams: Sequence[Camera], pts: np.ndarray) -> float:
    """Share of finite points with positive depth in every camera."""
    ok = np.all(np.isfinite(pts), axis=-1)
    if not ok.any():
        return 0.0
    p = pts[ok]
    return float(np.mean(np.all([(p @ c.R.T + c.t)[:, 2] > 0 for c in cams], axis=0)))


def choose_convention(qca: Path, px: np.ndarray, vis: np.ndarray
                      ) -> tuple[list[Camera], str, list[tuple[str, float, float]]]:
    """The (transpose, flip) reading of the calibration that fits the landmarks best."""
    sub = slice(0, px.shape[1], 5)
    tried = []
    for transpose in (False, True):
        for flip in (False, True):
            cams = read_qca(qca, flip, transpose)
            pts = triangulate_all(cams, px[:, sub], vis[:, sub])
            err = float(np.nanmedian([reprojection_px(c, pts, px[v, sub], vis[v, sub])
                                      for v, c in enumerate(cams)]))
            tried.append((f"transpose={transpose} flip={flip}", in_front(cams, pts), err))
    best = min(range(4), key=lambda i: (tried[i][1] < 0.99, tried[i][2]))
    label = tried[best][0]
    cams = read_qca(qca, "flip=True" in label, "transpose=True" in label)
    return cams, label, tried


def sync_offsets(cams: Sequence[Camera], px: np.ndarray, vis: np.ndarray,
                 max_lag: int = 5) -> list[tuple[int, float, float]]:
    """Per view: (best lag in frames, its median reprojection px, the px at lag 0)."""
    out = []
    V = len(cams)
    for v in range(V):
        others = [u for u in range(V) if u != v]
        ref = triangulate_all([cams[u] for u in others], px[others], vis[others])
        errs = {}
        F = px.shape[1]
        for lag in range(-max_lag, max_lag + 1):
            f0, f1 = max(0, -lag), min(F, F - lag)
            errs[lag] = reprojection_px(cams[v], ref[f0:f1], px[v, f0 + lag:f1 + lag],
                                        vis[v, f0 + lag:f1 + lag])
        best = min(errs, key=lambda k: errs[k])
        out.append((best, errs[best], errs[0]))
    return out


def read_frames_csv(path: Path) -> dict[str, np.ndarray]:
    """frames.csv columns as float arrays (NaN for empty)."""
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    return {k: np.array([float(r[k]) if r[k] not in ("", None) else np.nan for r in rows])
            for k in rows[0]}


def stats(mono: np.ndarray, ref: np.ndarray) -> tuple[int, float, float, float]:
    """n, MAE, bias, Pearson r of ``mono - ref`` over frames where both are finite."""
    ok = np.isfinite(mono) & np.isfinite(ref)
    n = int(ok.sum())
    if n == 0:
        return 0, math.nan, math.nan, math.nan
    e = mono[ok] - ref[ok]
    r = float(np.corrcoef(mono[ok], ref[ok])[0, 1]) if n > 2 and np.std(mono[ok]) > 0 \
        and np.std(ref[ok]) > 0 else math.nan
    return n, float(np.mean(np.abs(e))), float(np.mean(e)), r


def run(cmd: Sequence[str]) -> None:
    """Run a posecheck command; one-line error on failure."""
    r = subprocess.run(list(cmd), capture_output=True, text=True)
    if r.returncode != 0:
        msg = (r.stderr.strip().splitlines() or ["?"])[-1]
        raise SystemExit(f"bench_pose2sim: {' '.join(cmd[:2])} failed: {msg}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "POSECHECK_POSE2SIM_CACHE", "/tmp/posecheck-pose2sim")))
    ap.add_argument("--posecheck", default=str(Path(sys.executable).with_name("posecheck")))
    ap.add_argument("--refresh", action="store_true", help="re-run landmarks (else cached)")
    args = ap.parse_args(argv)

    demo = fetch(args.cache)
    if demo is None:
        print("bench_pose2sim: could not fetch the pose2sim wheel from PyPI "
              "(pip download pose2sim --no-deps); skipped.")
        return 0
    work = args.cache / "posecheck"
    lm_dir, out_dir = work / "landmarks", work / "analyse"
    lm_dir.mkdir(parents=True, exist_ok=True)
    for c in CAMS:
        lm = lm_dir / f"{c}.jsonl"
        if args.refresh or not lm.is_file():
            run([args.posecheck, "landmarks", "--no-progress", str(demo / "videos" / f"{c}.mp4"),
                 "-o", str(lm)])
        run([args.posecheck, "analyse", str(lm), "--no-video", "--no-store", "--jobs", "1",
             "--out", str(out_dir)])

    px, vis, times = load_views([lm_dir / f"{c}.jsonl" for c in CAMS])
    cams, label, tried = choose_convention(demo / "calibration" / "Calib.qca.txt", px, vis)
    print(f"Pose2Sim Demo_SinglePerson: {len(CAMS)} views, {px.shape[1]} frames each")
    print("calibration convention (share of points in front of all cameras, median reproj px):")
    for lab, front, err in tried:
        print(f"  {lab:28s} {front:6.3f} {err:8.1f}{'  <- used' if lab == label else ''}")
    pts = triangulate_all(cams, px, vis)
    sync = sync_offsets(cams, px, vis)
    pelvis = np.nanmedian((pts[:, 23] + pts[:, 24]) / 2, axis=0)
    print("\n| camera | reproj px (4 views) | best lag vs other 3 (frames) | px at best / lag 0 | "
          "distance to pelvis m |")
    print("|---|---|---|---|---|")
    for v, c in enumerate(cams):
        d = float(np.linalg.norm(-c.R.T @ c.t - pelvis))
        print(f"| {c.name} | {reprojection_px(c, pts, px[v], vis[v]):.1f} | {sync[v][0]:+d} | "
              f"{sync[v][1]:.1f} / {sync[v][2]:.1f} | {d:.2f} |")
    thigh = {s: float(np.nanmedian(np.linalg.norm(pts[:, h] - pts[:, k], axis=-1)))
             for s, h, k in (("left", 23, 25), ("right", 24, 26))}
    print(f"units: thigh (hip-knee) length left {thigh['left']:.3f} m, right "
          f"{thigh['right']:.3f} m")

    ref = {s: leg_angles_3d(pts, s) for s in ("left", "right")}
    print("\nmonocular posecheck analyse - triangulated (degrees): n / MAE / bias / r")
    print("| camera | view yaw (posecheck) | side | " + " | ".join(a for a, _, _ in ANGLES) + " |")
    print("|---|---|---|" + "---|" * len(ANGLES))
    pooled: dict[str, list[float]] = {a: [] for a, _, _ in ANGLES}
    for c in CAMS:
        cols = read_frames_csv(out_dir / c / "frames.csv")
        summary = json.loads((out_dir / c / "summary.json").read_text())
        yaw = (summary.get("setup") or {}).get("view_yaw_deg")
        yaw_s = f"{yaw:+.1f}" if isinstance(yaw, (int, float)) else "--"
        n = min(len(cols["t"]), len(times))
        for s in ("left", "right"):
            cells = []
            for name, mono_col, ref_attr in ANGLES:
                mono = cols[f"{s}_{mono_col}"][:n]
                r = np.asarray(getattr(ref[s], ref_attr))[:n]
                k, mae, bias, corr = stats(mono, r)
                ok = np.isfinite(mono) & np.isfinite(r)
                pooled[name].extend(np.abs(mono[ok] - r[ok]).tolist())
                cells.append(f"{k} / {mae:.1f} / {bias:+.1f} / {corr:.2f}" if k else "0 / --")
            print(f"| {c} | {yaw_s} | {s} | " + " | ".join(cells) + " |")
    print("\npooled over cameras and sides (frames where both have a value):")
    for name, errs in pooled.items():
        mae = float(np.mean(errs)) if errs else math.nan
        tag = ""
        if name == "rotation":
            tag = ("  target <= 10: " + ("PASS" if mae <= TARGET_POOLED_MAE else "FAIL")
                   if errs else "  target <= 10: no frames")
        print(f"  {name:14s} n {len(errs):4d}  MAE {mae:5.1f}{tag}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
