"""benchmarks/bench_pose2sim.py: the triangulation on synthetic cameras (no download, no
MediaPipe): project known 3D points through known cameras (with lens distortion), triangulate,
compare; and the Qualisys calibration reader's choice of convention."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bench_module import load_benchmark

bench = load_benchmark("bench_pose2sim")


def _rot(yaw: float, pitch: float) -> np.ndarray:
    """World -> camera rotation of a camera at azimuth ``yaw`` looking at the origin (z up)."""
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    fwd = -np.array([cy * cp, sy * cp, sp])  # towards the origin
    right = np.cross(fwd, [0, 0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    return np.stack([right, down, fwd])


def _cameras(dist: np.ndarray) -> list:
    K = np.array([[1650.0, 0, 540], [0, 1650.0, 960], [0, 0, 1]])
    cams = []
    for i, yaw in enumerate(np.radians([20, 110, 200, 290])):
        R = _rot(yaw, np.radians(15))
        centre = 3.3 * np.array([np.cos(yaw) * np.cos(0.26), np.sin(yaw) * np.cos(0.26),
                                 np.sin(0.26)])
        cams.append(bench.Camera(f"cam{i}", K, dist, R, -R @ centre))
    return cams


def test_triangulates_projected_points_through_distortion() -> None:
    rng = np.random.default_rng(3)
    dist = np.array([-0.047, 0.137, 0.0006, 0.0007, 0.0])
    cams = _cameras(dist)
    pts = rng.uniform(-0.5, 0.5, (33, 3)) + np.array([0, 0, 1.0])
    px = np.stack([bench.project(c, pts) for c in cams])
    assert np.all(np.abs(px[..., 0] - 540) < 540) and np.all(np.abs(px[..., 1] - 960) < 960)
    got = bench.triangulate(cams, px, np.ones((4, 33)))
    assert np.max(np.abs(got - pts)) < 1e-6
    # the distortion matters: triangulating as if there were none is off by millimetres
    nodist = [bench.Camera(c.name, c.K, np.zeros(5), c.R, c.t) for c in cams]
    assert np.max(np.abs(bench.triangulate(nodist, px, np.ones((4, 33))) - pts)) > 1e-3


def test_weights_leave_out_a_bad_view_and_need_two() -> None:
    cams = _cameras(np.zeros(5))
    pts = np.array([[0.1, -0.2, 0.9], [0.0, 0.3, 1.2]])
    px = np.stack([bench.project(c, pts) for c in cams])
    px[2] += 80.0  # one view badly wrong
    w = np.ones((4, 2))
    assert np.max(np.abs(bench.triangulate(cams, px, w) - pts)) > 1e-3
    w[2] = 0.0
    assert np.max(np.abs(bench.triangulate(cams, px, w) - pts)) < 1e-6
    w[:, 1] = [1.0, 0.0, 0.0, 0.0]
    assert np.isnan(bench.triangulate(cams, px, w)[1]).all()


def test_undistort_inverts_distort() -> None:
    dist = np.array([-0.05, 0.14, 0.001, -0.0005, 0.01])
    xy = np.random.default_rng(0).uniform(-0.6, 0.6, (200, 2))
    assert np.max(np.abs(bench.undistort(bench.distort(xy, dist), dist) - xy)) < 1e-9


def test_qca_convention_is_chosen_from_the_data(tmp_path: Path) -> None:
    cams = _cameras(np.zeros(5))
    lines = []
    for c in cams:
        centre = -c.R.T @ c.t
        M = np.diag([1.0, -1.0, -1.0]) @ c.R  # Qualisys camera axes: y up, z backward
        r = " ".join(f'r{i + 1}{j + 1}="{float(M[i, j])!r}"' for i in range(3) for j in range(3))
        lines.append(
            f'<camera serial="{c.name}"><fov_video left="0" top="0" right="1079" bottom="1919"/>'
            f'<transform {r} x="{centre[0] * 1000}" y="{centre[1] * 1000}" z="{centre[2] * 1000}"/>'
            f'<intrinsic focalLengthU="{1650 * 64}" focalLengthV="{1650 * 64}" '
            f'centerPointU="{540 * 64}" centerPointV="{960 * 64}" radialDistortion1="0" '
            'radialDistortion2="0" radialDistortion3="0" tangentalDistortion1="0" '
            'tangentalDistortion2="0"/></camera>')
    qca = tmp_path / "c.qca.txt"
    qca.write_text("<calibration><cameras>" + "".join(lines) + "</cameras></calibration>")
    pts = np.random.default_rng(1).uniform(-0.4, 0.4, (6, 33, 3)) + np.array([0, 0, 1.0])
    px = np.stack([bench.project(c, pts) for c in cams])
    got, label, _ = bench.choose_convention(qca, px, np.ones(px.shape[:3]))
    assert label == "transpose=True flip=True"
    for a, b in zip(got, cams, strict=True):
        assert np.allclose(a.R, b.R) and np.allclose(a.t, b.t)
