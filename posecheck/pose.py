"""Pose estimation: the ONLY module of posecheck that imports mediapipe.

:class:`PoseEstimator` wraps the MediaPipe Tasks ``PoseLandmarker`` and converts every
result at once into :class:`posecheck.types.PoseFrame` (numpy float64 arrays), so no
MediaPipe object leaks out of this module. mediapipe is imported when an estimator is
constructed, not when this module is imported, so ``import posecheck.pose`` stays cheap.

Conventions (see :mod:`posecheck.types`):

- ``landmarks``: (33, 4) ``[x, y, z, visibility]``, x and y normalized 0..1 of image
  width/height, z relative depth on the scale of x; subject's LEFT side = odd indices.
- ``world_landmarks``: (33, 4) ``[x, y, z, visibility]`` in metres, origin mid-hip,
  x to the image right, y down, z away from the camera.
- ``t`` is seconds; in VIDEO mode it only has to increase (it is passed to MediaPipe as
  integer milliseconds, bumped by 1 ms when it would not increase).

Must not import cv2 (images arrive as RGB numpy arrays).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import sys
import threading
import weakref
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from posecheck.errors import ModelError
from posecheck.landmarks import LEFT_HIP, NUM_LANDMARKS, RIGHT_HIP
from posecheck.model import verify_model
from posecheck.types import PoseFrame

Mode = Literal["video", "image"]


LOG_ENV_VAR = "POSECHECK_MEDIAPIPE_LOGS"


_SILENCE_LOCK = threading.Lock()
_silence = {"depth": 0, "saved": -1, "devnull": -1, "for_good": False}


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null while any thread is inside this block.

    MediaPipe and LiteRT log dozens of INFO/WARNING lines from C++ straight to fd 2 when a
    graph is built, first run and destroyed; they would bury our one-line messages. Set
    ``POSECHECK_MEDIAPIPE_LOGS=1`` to see them. Failures still surface as exceptions.
    Thread-safe: fd 2 is redirected by the first thread in and restored by the last out
    (two tracking models warm up at the same time, :meth:`PoseEstimator.stream`).
    """
    if os.environ.get(LOG_ENV_VAR):
        yield
        return
    with _SILENCE_LOCK:
        if _silence["depth"] == 0 and not _silence["for_good"]:
            sys.stderr.flush()
            _silence["saved"] = os.dup(2)
            _silence["devnull"] = os.open(os.devnull, os.O_WRONLY)
            os.dup2(_silence["devnull"], 2)
        _silence["depth"] += 1
    try:
        yield
    except KeyboardInterrupt:
        # Ctrl-C left a MediaPipe call whose threads still run and log to fd 2: keep fd 2
        # quiet for good and give Python's own stderr (our one-line messages) the real one.
        with _SILENCE_LOCK:
            _silence["depth"] -= 1
            if not _silence["for_good"] and _silence["saved"] >= 0:
                _silence["for_good"] = True
                sys.stderr = open(_silence["saved"], "w", buffering=1,  # noqa: SIM115
                                  encoding=sys.stderr.encoding or "utf-8",
                                  errors="backslashreplace")
        raise
    finally:
        with _SILENCE_LOCK:
            if _silence["depth"] > 0 and not _silence["for_good"]:
                _silence["depth"] -= 1
                if _silence["depth"] == 0:
                    os.dup2(_silence["saved"], 2)
                    os.close(_silence["saved"])
                    os.close(_silence["devnull"])
                    _silence["saved"] = _silence["devnull"] = -1


def _quiet_close(landmarker: Any) -> None:
    # At interpreter exit (a model nobody closed) MediaPipe's own dispatcher thread pool
    # is already shut down and close() raises RuntimeError; the process is ending, so
    # there is nothing left to release.
    with _native_stderr_silenced(), contextlib.suppress(RuntimeError):
        landmarker.close()


_IMAGE_CLASS: Any = None


def _image_class(mp: Any) -> Any:
    """mediapipe's Image, with a ``__del__`` that survives a half-built object.

    A Ctrl-C (or SIGTERM raised as one) that lands inside ``Image.__init__`` leaves an
    object without ``_image_ptr``; MediaPipe's own ``__del__`` then prints an "Exception
    ignored ... AttributeError" traceback under our one-line message.
    """
    global _IMAGE_CLASS
    if _IMAGE_CLASS is None:
        class _Image(mp.Image):  # type: ignore[misc, name-defined]
            def __del__(self) -> None:
                if getattr(self, "_image_ptr", None) and getattr(self, "_lib", None):
                    super().__del__()

        _IMAGE_CLASS = _Image
    return _IMAGE_CLASS


def _check_fraction(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in 0..1, got {value}")


def _to_array(landmarks: Sequence[Any]) -> np.ndarray:
    """MediaPipe landmark list -> (33, 4) float64 ``[x, y, z, visibility]``.

    A missing visibility (None) becomes 0.0, i.e. "do not trust this point".
    """
    out = np.empty((NUM_LANDMARKS, 4), dtype=np.float64)
    for i, lm in enumerate(landmarks[:NUM_LANDMARKS]):
        vis = lm.visibility
        out[i] = (float(lm.x), float(lm.y), float(lm.z), float(vis) if vis is not None else 0.0)
    return out


def hip_midpoint(landmarks: np.ndarray) -> np.ndarray:
    """Normalized (x, y) of the midpoint of both hips of a (33, 4) landmark array."""
    return (landmarks[LEFT_HIP, :2] + landmarks[RIGHT_HIP, :2]) / 2.0


def choose_person(people: Sequence[np.ndarray], previous_hip: np.ndarray | None) -> int:
    """Index of the person to follow among ``people`` ((33, 4) normalized arrays).

    With a previously followed person, the one whose hip midpoint is nearest to
    ``previous_hip`` (normalized x, y). Otherwise the largest (area of the landmarks'
    bounding box) weighted by closeness to the image centre: ``area * (1 - d / d_max)``
    floored at 0.1, where ``d`` is the hip midpoint's distance to (0.5, 0.5).
    """
    if not people:
        raise ValueError("choose_person needs at least one person")
    if previous_hip is not None:
        dists = [float(np.linalg.norm(hip_midpoint(p) - previous_hip)) for p in people]
        return int(np.argmin(dists))
    d_max = float(np.hypot(0.5, 0.5))
    scores = []
    for p in people:
        xy = np.clip(p[:, :2], 0.0, 1.0)
        area = float(np.ptp(xy[:, 0]) * np.ptp(xy[:, 1]))
        d = float(np.linalg.norm(hip_midpoint(p) - 0.5))
        scores.append(area * max(0.1, 1.0 - d / d_max))
    return int(np.argmax(scores))


def _size(image: np.ndarray) -> tuple[int, int]:
    return int(image.shape[1]), int(image.shape[0])


#: frames per second each tracking landmarker must still see (:func:`tracks_for`).
#: Measured: on the 5 fps squat sample two tracks (2.5 fps each) put the leg landmarks
#: within 0.4% (median) and 1.2% (worst) of the image height of one track's, as close as
#: on the 60 fps portrait sample (0.2%, 0.9%); MediaPipe re-detects a person it lost.
MIN_TRACK_FPS = 2.5


def tracks_for(fps: float | None, max_tracks: int = 2) -> int:
    """How many landmarkers track a video of ``fps`` frames per second
    (:meth:`PoseEstimator.stream`): as many as keep each one at >= MIN_TRACK_FPS (a 30 fps
    video: 2; 5 fps: 2; a 4 fps time-lapse: 1), at most ``max_tracks``. Two pay on two
    cores and cost no CPU on one; more would need more cores (see benchmarks/)."""
    if not fps or fps <= 0:
        return 1
    return max(1, min(max_tracks, int(fps // MIN_TRACK_FPS)))


class _Track:
    """One MediaPipe landmarker, its finalizer and whether it has logged its first runs."""

    def __init__(self, landmarker: Any, finalizer: weakref.finalize) -> None:
        self.landmarker = landmarker
        self.finalizer = finalizer
        self.warmed_up = False


class PoseEstimator:
    """Find one person's 33 landmarks per image with a MediaPipe Pose Landmarker bundle.

    Use as a context manager or call :meth:`close`. ``mode="video"`` tracks across
    frames (timestamps must increase); ``mode="image"`` treats every image on its own.
    With ``num_poses > 1`` one person is followed consistently (see :func:`choose_person`);
    :attr:`last_num_people` tells how many were in view in the last image.
    """

    def __init__(self, model_path: Path | str | None = None, *, mode: Mode = "video",
                 num_poses: int = 1, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5) -> None:
        if mode not in ("video", "image"):
            raise ValueError(f"mode must be 'video' or 'image', got {mode!r}")
        if num_poses < 1:
            raise ValueError(f"num_poses must be >= 1, got {num_poses}")
        _check_fraction("min_detection_confidence", min_detection_confidence)
        _check_fraction("min_tracking_confidence", min_tracking_confidence)
        self.model = verify_model(model_path)
        self.mode: Mode = mode
        self.num_poses = num_poses
        self._confidence = (min_detection_confidence, min_tracking_confidence)
        self._start()

    def _start(self) -> None:
        """A new landmarker: no tracking state, timestamps from zero."""
        self.last_num_people = 0
        self._last_ms: int | None = None
        self._previous_hip: np.ndarray | None = None
        self._tracks: list[_Track] = []
        self._add_track()  # track 0, which :meth:`detect` uses
        self._closed = False
        self._used = False

    def _add_track(self) -> None:
        with _native_stderr_silenced():
            landmarker = self._create(*self._confidence)
        # Close at interpreter exit at the latest: MediaPipe's own __del__ fails then.
        self._tracks.append(_Track(landmarker, weakref.finalize(self, _quiet_close,
                                                                landmarker)))

    def _close_tracks(self) -> None:
        for track in self._tracks:
            track.finalizer()

    def reset(self) -> None:
        """Forget the previous video: fresh landmarkers (new tracking, timestamps from
        zero) on the already loaded model. Does nothing when no image was seen since the
        estimator was made or last reset. Refused once closed."""
        if self._closed:
            raise RuntimeError("PoseEstimator is closed")
        if self._used:
            self._close_tracks()
            self._start()

    def _create(self, min_det: float, min_track: float) -> Any:
        import mediapipe as mp
        from mediapipe.tasks.python import BaseOptions, vision

        self._mp = mp
        running = vision.RunningMode.VIDEO if self.mode == "video" else vision.RunningMode.IMAGE
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model.path)),
            running_mode=running, num_poses=self.num_poses,
            min_pose_detection_confidence=min_det, min_pose_presence_confidence=min_det,
            min_tracking_confidence=min_track, output_segmentation_masks=False)
        try:
            return vision.PoseLandmarker.create_from_options(options)
        except (ValueError, RuntimeError, OSError) as exc:
            text = str(exc).strip()
            first = text.splitlines()[0] if text else type(exc).__name__
            raise ModelError(f"Cannot load pose model {self.model.path}: {first}; rebuild it "
                             "with `python models/build_model.py` or pass another --model."
                             ) from None

    def _timestamp_ms(self, t: float) -> int:
        ms = round(t * 1000.0)
        if self._last_ms is not None and ms <= self._last_ms:
            ms = self._last_ms + 1
        self._last_ms = ms
        return ms

    def detect(self, image_rgb: np.ndarray, t: float = 0.0) -> PoseFrame:
        """Landmarks of the followed person in ``image_rgb`` ((H, W, 3) uint8 RGB) at ``t`` s.

        Returns a PoseFrame whose arrays are None when nobody is found.
        """
        if self._closed:
            raise RuntimeError("PoseEstimator is closed")
        ms = self._timestamp_ms(t) if self.mode == "video" else None
        result = self._run(self._tracks[0], image_rgb, ms)
        return self._to_pose_frame(result, t, _size(image_rgb))

    def stream(self, frames: Iterable[Any], tracks: int = 1) -> Iterator[tuple[Any, PoseFrame]]:
        """(frame, pose) of each of ``frames`` (objects with ``.image`` RGB and ``.t`` s, in
        increasing ``t``), in order, VIDEO mode only.

        ``tracks`` > 1 runs that many landmarkers, each tracking every ``tracks``-th frame,
        in threads beside the caller (MediaPipe's inference releases the GIL): on two cores
        two tracks find the poses of a video in ~0.58x the wall time of one, for the same
        CPU (each frame is inferred once), the caller's work between two frames overlapped
        with the inference. Each landmarker's tracking then sees 1/``tracks`` of the
        frame rate (the caller decides from the video's rate: :func:`tracks_for`). The
        result is the same on every machine for the same ``tracks``.
        """
        if self._closed:
            raise RuntimeError("PoseEstimator is closed")
        if self.mode != "video":
            raise ValueError("stream needs mode='video'")
        while len(self._tracks) < tracks:
            self._add_track()
        pools = [concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"posecheck-pose{k}")
                 for k in range(tracks)]
        pending: deque[tuple[Any, concurrent.futures.Future[Any]]] = deque()

        def collect() -> tuple[Any, PoseFrame]:
            frame, future = pending.popleft()
            return frame, self._to_pose_frame(future.result(), frame.t, _size(frame.image))

        try:
            for i, frame in enumerate(frames):
                if len(pending) == tracks:
                    yield collect()
                k = i % tracks
                pending.append((frame, pools[k].submit(
                    self._run, self._tracks[k], frame.image, self._timestamp_ms(frame.t))))
            while pending:
                yield collect()
        finally:
            for pool in pools:
                pool.shutdown(wait=True, cancel_futures=True)

    def _run(self, track: _Track, image_rgb: np.ndarray, ms: int | None) -> Any:
        """One MediaPipe call on ``track`` (VIDEO mode with ``ms``, else IMAGE mode)."""
        if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
            raise ValueError(f"image must be (H, W, 3) uint8 RGB, got {image_rgb.shape} "
                             f"{image_rgb.dtype}")
        mp_image = _image_class(self._mp)(image_format=self._mp.ImageFormat.SRGB,
                                          data=np.ascontiguousarray(image_rgb))
        # The first run logs (tensor allocation), and so does the first run that finds a
        # person (landmark projection: "Using NORM_RECT without IMAGE_DIMENSIONS"); later
        # runs are quiet.
        quiet = _native_stderr_silenced() if not track.warmed_up else contextlib.nullcontext()
        with quiet:
            if ms is not None:
                result = track.landmarker.detect_for_video(mp_image, ms)
            else:
                result = track.landmarker.detect(mp_image)
        self._used = True
        track.warmed_up = track.warmed_up or bool(result.pose_landmarks)
        return result

    def _to_pose_frame(self, result: Any, t: float, size: tuple[int, int]) -> PoseFrame:
        people = [_to_array(p) for p in result.pose_landmarks]
        self.last_num_people = len(people)
        if not people:
            return PoseFrame(t=t, image_size=size)
        chosen = choose_person(people, self._previous_hip) if len(people) > 1 else 0
        landmarks = people[chosen]
        if self.mode == "video":
            self._previous_hip = hip_midpoint(landmarks)
        world = None
        if len(result.pose_world_landmarks) > chosen:
            world = _to_array(result.pose_world_landmarks[chosen])
        return PoseFrame(t=t, image_size=size, landmarks=landmarks, world_landmarks=world)

    def close(self) -> None:
        """Release the MediaPipe graphs (idempotent)."""
        self._closed = True
        self._close_tracks()

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
