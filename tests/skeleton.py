"""Synthetic poses by forward kinematics, for tests and benchmarks (shared test helper).

Build a body from joint angles, film it with a pinhole camera and get MediaPipe-shaped
landmarks, optionally with MediaPipe-like noise::

    from skeleton import Camera, LegPose, Noise, make_pose, make_sequence

    pose = make_pose(left=LegPose(hip_flex=90, knee_flex=90, rot=20),
                     right=LegPose(hip_flex=90, knee_flex=90, rot=-10),
                     camera=Camera(yaw=30), posture="seated")          # -> PoseFrame
    frames = make_sequence(90, left=lambda t: LegPose(90, 0, 20 * t, 90), fps=30.0,
                           rng=np.random.default_rng(0), noise=Noise())  # -> list[PoseFrame]

Convention (matches posecheck.geometry):
    - Degrees. ``LegPose``: ``hip_flex`` + = flexion, ``abd`` + = abduction, ``rot`` + =
      internal rotation (foot lateral with the knee flexed), ``knee_flex`` 0 = straight.
      The hip is R = Rz(flex) Rx(-abd) Ry(rot) (ISB intrinsic Z-X-Y) in the pelvis frame
      X anterior, Y superior, Z right; the left leg is the mirror image (Z -> -Z), so the
      same LegPose means the same clinical pose on both sides. The knee bends in the
      femur's sagittal plane (no tibial rotation, no varus/valgus).
    - Room frame (metres): x to the right of a camera at yaw 0, y DOWN, z away from it.
      Postures: "seated"/"standing" (upright, facing the yaw-0 camera), "supine" (on the
      back, feet towards the yaw-0 camera), "prone" (on the belly, feet towards it).
    - ``Camera``: looks at the centroid of hips, knees and ankles from ``distance`` m.
      ``yaw`` orbits it about the vertical (+ = towards room -x, the subject's right when
      upright), ``pitch`` + = above, looking down, ``roll`` about the optical axis.
      ``focal`` is the focal length in units of the image width.
    - Output world landmarks: MediaPipe world frame = camera axes (x right, y down,
      z forward) with the origin at mid-hip. Image landmarks: pinhole projection,
      normalized (u/W, v/H), z = depth relative to mid-hip in the same scale as x.
      Visibility 1 everywhere.
    - ``Noise``: Gaussian, image ``image_px`` pixels (x, y), world ``world_m`` metres on
      each axis plus ``depth_m`` extra on world z. Only with an explicit ``rng``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from posecheck.landmarks import LEG, MIRROR, NUM_LANDMARKS
from posecheck.types import PoseFrame


@dataclass(frozen=True)
class LegPose:
    """Joint angles of one leg, degrees (see the module Convention)."""

    hip_flex: float = 0.0
    abd: float = 0.0
    rot: float = 0.0
    knee_flex: float = 0.0


@dataclass(frozen=True)
class Camera:
    """Pinhole camera aimed at the legs (angles in degrees, distance in metres)."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    distance: float = 2.5
    focal: float = 1.0
    image_size: tuple[int, int] = (1280, 720)


@dataclass(frozen=True)
class Noise:
    """MediaPipe-like landmark noise: SD in pixels (image) and metres (world)."""

    image_px: float = 3.0
    world_m: float = 0.015
    depth_m: float = 0.04


@dataclass(frozen=True)
class Body:
    """Segment lengths in metres."""

    hip_half_width: float = 0.12
    shoulder_half_width: float = 0.18
    trunk: float = 0.50
    thigh: float = 0.42
    shank: float = 0.40
    foot: float = 0.20


# Columns = body axes (anterior, superior, right) expressed in the room frame.
POSTURES: dict[str, np.ndarray] = {
    "upright": np.array([[0, 0, -1], [0, -1, 0], [-1, 0, 0]], dtype=float).T,
    "supine": np.array([[0, -1, 0], [0, 0, 1], [-1, 0, 0]], dtype=float).T,
    "prone": np.array([[0, 1, 0], [0, 0, 1], [1, 0, 0]], dtype=float).T,
}
POSTURES["seated"] = POSTURES["standing"] = POSTURES["upright"]


def rot_x(deg: float) -> np.ndarray:
    """Right-handed rotation about x by ``deg`` degrees."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rot_y(deg: float) -> np.ndarray:
    """Right-handed rotation about y by ``deg`` degrees."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rot_z(deg: float) -> np.ndarray:
    """Right-handed rotation about z by ``deg`` degrees."""
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _right_leg(pose: LegPose, body: Body) -> dict[str, np.ndarray]:
    """Right-leg points in the pelvis frame (X anterior, Y superior, Z right), metres."""
    r = rot_z(pose.hip_flex) @ rot_x(-pose.abd) @ rot_y(pose.rot)
    x_f, y_f = r[:, 0], r[:, 1]
    hip = np.array([0.0, 0.0, body.hip_half_width])
    knee = hip - body.thigh * y_f
    k = np.radians(pose.knee_flex)
    shank = -np.cos(k) * y_f - np.sin(k) * x_f
    foot = np.cos(k) * x_f - np.sin(k) * y_f  # perpendicular to the shank, toes forward
    ankle = knee + body.shank * shank
    return {"hip": hip, "knee": knee, "ankle": ankle,
            "heel": ankle + 0.04 * shank - 0.05 * foot,
            "toe": ankle + 0.04 * shank + (body.foot - 0.05) * foot}


def body_points(left: LegPose, right: LegPose, body: Body = Body()) -> np.ndarray:
    """(33, 3) landmark positions in the pelvis frame (X anterior, Y superior, Z right)."""
    pts = np.zeros((NUM_LANDMARKS, 3))
    mirror = np.array([1.0, 1.0, -1.0])
    for side, pose, sign in (("right", right, np.ones(3)), ("left", left, mirror)):
        for name, p in _right_leg(pose, body).items():
            pts[LEG[side][name]] = p * sign
        side_z = body.shoulder_half_width * sign[2]
        shoulder = np.array([0.0, body.trunk, side_z])
        pts[LEG[side]["shoulder"]] = shoulder
        idx = 11 if side == "left" else 12  # elbows 13/14, wrists 15/16, hand 17..22
        pts[idx + 2] = shoulder + np.array([0.0, -0.28, 0.03 * sign[2]])
        pts[idx + 4] = shoulder + np.array([0.05, -0.52, 0.03 * sign[2]])
        pts[[idx + 6, idx + 8, idx + 10]] = pts[idx + 4] + [0.03, -0.05, 0.0]
    head = np.array([0.05, body.trunk + 0.22, 0.0])
    pts[0:11] = head + np.linspace(-0.05, 0.05, 11)[:, None] * [0.0, 0.3, 1.0]
    return pts


def _camera(cam: Camera, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(camera-to-room rotation C, camera position) for a camera aimed at ``target``."""
    c = rot_y(cam.yaw) @ rot_x(-cam.pitch) @ rot_z(cam.roll)
    return c, target - cam.distance * c[:, 2]


def project(room: np.ndarray, cam: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Room points (33, 3) -> (world (33, 3) MediaPipe world frame, image (33, 3) normalized)."""
    mid_hip = (room[23] + room[24]) / 2
    # aimed at hips and knees (a camera on a tripod does not follow a swinging foot)
    legs = room[[23, 24, 25, 26]].mean(axis=0)
    c, position = _camera(cam, legs)
    world = (room - mid_hip) @ c
    cam_pts = (room - position) @ c
    w, h = cam.image_size
    f = cam.focal * w
    depth = cam_pts[:, 2]
    hip_depth = (cam_pts[23, 2] + cam_pts[24, 2]) / 2
    image = np.stack((f * cam_pts[:, 0] / depth / w + 0.5, f * cam_pts[:, 1] / depth / h + 0.5,
                      (depth - hip_depth) * f / (hip_depth * w)), axis=1)
    return world, image


def _add_noise(world: np.ndarray, image: np.ndarray, cam: Camera, noise: Noise,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    world = world + rng.normal(0.0, noise.world_m, world.shape)
    world[:, 2] += rng.normal(0.0, noise.depth_m, world.shape[0])
    w, h = cam.image_size
    image = image.copy()
    image[:, 0] += rng.normal(0.0, noise.image_px, image.shape[0]) / w
    image[:, 1] += rng.normal(0.0, noise.image_px, image.shape[0]) / h
    return world, image


def make_pose(
    left: LegPose = LegPose(), right: LegPose = LegPose(), camera: Camera = Camera(),
    posture: str = "seated", t: float = 0.0, rng: np.random.Generator | None = None,
    noise: Noise | None = None, body: Body = Body(),
) -> PoseFrame:
    """One synthetic :class:`PoseFrame`; noise only when both ``noise`` and ``rng`` are given."""
    if posture not in POSTURES:
        raise ValueError(f"posture must be one of {sorted(POSTURES)}, got {posture!r}")
    room = body_points(left, right, body) @ POSTURES[posture].T
    world, image = project(room, camera)
    if noise is not None and rng is not None:
        world, image = _add_noise(world, image, camera, noise, rng)
    ones = np.ones((NUM_LANDMARKS, 1))
    return PoseFrame(t=t, image_size=camera.image_size,
                     landmarks=np.hstack((image, ones)), world_landmarks=np.hstack((world, ones)))


LegSpec = LegPose | Callable[[float], LegPose]


def make_sequence(
    n_frames: int, left: LegSpec = LegPose(), right: LegSpec = LegPose(), fps: float = 30.0,
    camera: Camera = Camera(), posture: str = "seated", rng: np.random.Generator | None = None,
    noise: Noise | None = None, body: Body = Body(),
) -> list[PoseFrame]:
    """``n_frames`` frames at ``fps`` (t = i / fps); legs fixed or functions of t (seconds)."""
    frames = []
    for i in range(n_frames):
        t = i / fps
        lp = left(t) if callable(left) else left
        rp = right(t) if callable(right) else right
        frames.append(make_pose(lp, rp, camera, posture, t, rng, noise, body))
    return frames


def mirror_frame(frame: PoseFrame) -> PoseFrame:
    """The mirror image of the person (image flipped left-right, labels swapped).

    Independent of the generator: any pose's mirror must give each side the other side's
    angles.
    """
    idx = list(MIRROR)
    image = None if frame.landmarks is None else frame.landmarks[idx] * [-1, 1, 1, 1] \
        + [1, 0, 0, 0]
    world = None if frame.world_landmarks is None else frame.world_landmarks[idx] \
        * [-1, 1, 1, 1]
    return PoseFrame(t=frame.t, image_size=frame.image_size, landmarks=image,
                     world_landmarks=world)


def ramp_profile(peak: float, *, rest_s: float = 3.0, ramp_s: float = 2.0,
                 hold_s: float = 35.0) -> Callable[[float], float]:
    """An angle over time (degrees, t in seconds): rest at 0, ramp to ``peak``, hold, ramp
    back to 0 and stay there."""

    def rot(t: float) -> float:
        if t < rest_s:
            return 0.0
        if t < rest_s + ramp_s:
            return peak * (t - rest_s) / ramp_s
        if t < rest_s + ramp_s + hold_s:
            return peak
        if t < rest_s + 2 * ramp_s + hold_s:
            return peak * (1 - (t - rest_s - ramp_s - hold_s) / ramp_s)
        return 0.0

    return rot
