"""Hip geometry: pose landmarks -> hip rotation and supporting angles (pure numpy).

The whole API::

    hip_angles(world, image, image_size, t=None, params=GeometryParams()) -> HipAngleSeries
        world, image: (T, 33, 4) landmark arrays or None; image_size (w, h) or (T, 2) px.
    series_from_frames(frames: Sequence[PoseFrame]) -> HipAngleSeries
    frame_angles(pose: PoseFrame) -> FrameAngles       # the live loop, same numbers
    HipAngleSeries.frame(i) -> FrameAngles; .left / .right: SideSeries of (T,) arrays
    leg_angles_3d(points, side) -> Leg3D               # 3D JCS estimator alone
    frontal_rotation_2d(px, side) -> (T,) degrees      # 2D seated-front estimator alone
    detect_swaps(image, image_size) -> (T,) bool; fix_swaps(landmarks, swaps)  # L/R repair

Convention:
    Degrees. **Positive rotation = internal rotation (IR)**, negative = external (ER):
    with the knee flexed, the foot moving laterally (away from the midline) is IR, for
    both legs. ISB / Grood-Suntay joint coordinate system (intrinsic Z-X-Y Cardan):
    flexion about the pelvis medio-lateral axis, ab/adduction about the floating axis,
    rotation about the femur (hip -> knee). Hip flexion positive = flexion, abduction
    positive = abduction, knee flexion 0 = straight. "left" = the subject's left
    (odd BlazePose indices 23, 25, 27). MediaPipe world frame: origin mid-hip, x image
    right, y down, z away from the camera. NaN / None = "cannot be measured".

Must not import mediapipe, cv2 or matplotlib (a test checks it in a fresh process).
"""

from posecheck.geometry.frontal import frontal_rotation_2d, to_pixels
from posecheck.geometry.fusion import (
    DEFAULT_PARAMS,
    GeometryParams,
    ImageRefs,
    frame_angles,
    hip_angles,
    series_from_frames,
)
from posecheck.geometry.hip import Leg3D, leg_angles_3d
from posecheck.geometry.series import HipAngleSeries, SideSeries
from posecheck.geometry.swap import detect_swaps, fix_swaps

__all__ = [
    "DEFAULT_PARAMS",
    "GeometryParams",
    "HipAngleSeries",
    "ImageRefs",
    "Leg3D",
    "SideSeries",
    "detect_swaps",
    "fix_swaps",
    "frame_angles",
    "frontal_rotation_2d",
    "hip_angles",
    "leg_angles_3d",
    "series_from_frames",
    "to_pixels",
]
