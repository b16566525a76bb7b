"""The 33 BlazePose landmark indices, left/right pairs and skeleton edges.

"Left" and "right" are always the *subject's* sides. A person facing the camera in a
non-mirrored image has their LEFT landmarks (odd indices 23, 25, 27, ...) on the image right.
Pure constants: no imports beyond the standard library.
"""

NUM_LANDMARKS = 33

NOSE = 0
LEFT_SHOULDER, RIGHT_SHOULDER = 11, 12
LEFT_ELBOW, RIGHT_ELBOW = 13, 14
LEFT_WRIST, RIGHT_WRIST = 15, 16
LEFT_HIP, RIGHT_HIP = 23, 24
LEFT_KNEE, RIGHT_KNEE = 25, 26
LEFT_ANKLE, RIGHT_ANKLE = 27, 28
LEFT_HEEL, RIGHT_HEEL = 29, 30
LEFT_FOOT_INDEX, RIGHT_FOOT_INDEX = 31, 32

NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel",
    "right_heel", "left_foot_index", "right_foot_index",
)

SIDES: tuple[str, str] = ("left", "right")

# Per side: the leg chain used by the hip geometry.
LEG: dict[str, dict[str, int]] = {
    "left": {"shoulder": LEFT_SHOULDER, "hip": LEFT_HIP, "knee": LEFT_KNEE,
             "ankle": LEFT_ANKLE, "heel": LEFT_HEEL, "toe": LEFT_FOOT_INDEX},
    "right": {"shoulder": RIGHT_SHOULDER, "hip": RIGHT_HIP, "knee": RIGHT_KNEE,
              "ankle": RIGHT_ANKLE, "heel": RIGHT_HEEL, "toe": RIGHT_FOOT_INDEX},
}

# Index permutation that swaps every left landmark with its right partner.
MIRROR: tuple[int, ...] = (0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17,
                           20, 19, 22, 21, 24, 23, 26, 25, 28, 27, 30, 29, 32, 31)

# Skeleton edges for drawing (pairs of indices).
EDGES: tuple[tuple[int, int], ...] = (
    (11, 12), (11, 13), (13, 15), (12, 14), (14, 16), (11, 23), (12, 24), (23, 24),
    (23, 25), (25, 27), (27, 29), (29, 31), (27, 31), (24, 26), (26, 28), (28, 30),
    (30, 32), (28, 32), (0, 11), (0, 12),
)
