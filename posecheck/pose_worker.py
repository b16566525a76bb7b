"""Pose estimation in its own process, called like :class:`posecheck.pose.PoseEstimator`.

Why a process: MediaPipe's Python binding keeps the GIL for most of an inference, so any
Python work in other threads of the same process (the session, the writers, the overlay)
waits for it, and the inference waits for them (measured: 16 ms a frame alone, 38 ms beside
one busy Python thread). In a process of its own the model runs undisturbed on one core
while the analysing process decodes, measures, draws and encodes on the other.

Frames travel through shared memory (one copy of the downscaled RGB frame), requests and
landmarks through a pipe; each call is synchronous, so the caller's other threads run while
it waits. The worker process is started once and reused (:func:`shared_worker`); each input
gets a fresh landmarker (:meth:`PoseWorker.reset`), so tracking and timestamps never leak
from one video into the next.

This module does not import mediapipe; the worker process imports :mod:`posecheck.pose`.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing as mp
import os
import signal
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from multiprocessing.connection import Connection
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import numpy as np

from posecheck.errors import ModelError, PosecheckError
from posecheck.model import ModelInfo
from posecheck.types import PoseFrame

DEFAULT_BYTES = 960 * 960 * 3  # a frame downscaled to a longest side of 960 px
T = TypeVar("T")


# ----------------------------------------------------------------------------- child side

def _open(options: dict[str, Any]) -> Any:
    from posecheck.pose import PoseEstimator

    return PoseEstimator(options["model_path"], mode=options["mode"],
                         num_poses=options["num_poses"])


def _serve(conn: Connection) -> None:  # pragma: no cover - runs in the worker process
    """The worker loop: answer requests until "close" or the parent goes away.

    Ctrl-C reaches the whole process group; the parent handles it and closes this worker,
    so here it is ignored (no second traceback, no half-answered request).
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    est: Any = None
    slots: dict[int, SharedMemory] = {}
    options: dict[str, Any] = {}
    try:
        while True:
            try:
                msg = conn.recv()
            except EOFError:
                return
            kind = msg[0]
            if kind == "close":
                return
            try:
                if kind == "open":
                    options = msg[1]
                    est = _open(options)
                    conn.send(("ok", est.model.name, str(est.model.path), est.model.sha256))
                elif kind == "reset":
                    est.close()
                    est = _open(options)
                    conn.send(("ok",))
                elif kind == "shm":
                    _, slot, name = msg
                    if slot in slots:
                        slots[slot].close()
                    slots[slot] = SharedMemory(name=name)
                    conn.send(("ok",))
                elif kind == "detect":
                    _, slot, t, h, w = msg
                    image = np.ndarray((h, w, 3), np.uint8, buffer=slots[slot].buf)
                    pose = est.detect(image, t)
                    conn.send(("pose", pose.t, pose.image_size, pose.landmarks,
                               pose.world_landmarks, est.last_num_people))
            except PosecheckError as exc:
                conn.send(("error", type(exc).__name__, str(exc)))
    finally:
        if est is not None:
            est.close()
        for shm in slots.values():
            shm.close()


# ---------------------------------------------------------------------------- parent side

@contextlib.contextmanager
def _main_file_hidden_if_missing() -> Iterator[None]:
    """Let a spawned process start when ``__main__`` names a file that does not exist.

    ``spawn`` re-runs the main script by its path in the child; for a script read from
    standard input (``python - < script.py``) that path is ``<stdin>`` and the child dies.
    The worker needs nothing from the main script, so the path is hidden while it starts.
    """
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    hide = (main is not None and path is not None and getattr(main, "__spec__", None) is None
            and not os.path.exists(path))
    if hide:
        del main.__file__
    try:
        yield
    finally:
        if hide:
            main.__file__ = path


class PoseWorker:
    """A :class:`posecheck.pose.PoseEstimator` running in a child process.

    Same call as the estimator: ``detect(image_rgb, t) -> PoseFrame``; ``model`` and
    ``last_num_people`` as there. Use as a context manager or call :meth:`close`.
    Raises :class:`ModelError` when the model cannot be loaded, :class:`PosecheckError`
    when the worker process dies.
    """

    def __init__(self, model_path: Path | str | None = None, *, mode: str = "video",
                 num_poses: int = 1, max_bytes: int = DEFAULT_BYTES) -> None:
        ctx = mp.get_context("spawn")  # no fork after threads and OpenCV have started
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child,), name="posecheck-pose",
                                 daemon=True)
        with _main_file_hidden_if_missing():
            self._proc.start()
        child.close()
        self._slots: dict[int, SharedMemory] = {}
        self.last_num_people = 0
        self.closed = False
        try:
            reply = self._call(("open", {"model_path": None if model_path is None
                                         else str(model_path), "mode": mode,
                                         "num_poses": num_poses}))
            self.model = ModelInfo(name=reply[1], path=Path(reply[2]), sha256=reply[3])
            self._ensure_slot(0, max_bytes)
        except BaseException:
            self.close()
            raise

    def _send(self, msg: tuple[Any, ...]) -> None:
        try:
            self._conn.send(msg)
        except (OSError, BrokenPipeError):
            self._died()

    def _receive(self) -> tuple[Any, ...]:
        try:
            reply = self._conn.recv()
        except (EOFError, OSError):
            self._died()
        if reply[0] == "error":
            cls = ModelError if reply[1] == "ModelError" else PosecheckError
            raise cls(reply[2])
        return reply

    def _died(self) -> NoReturn:
        self._proc.join(timeout=1)
        raise PosecheckError(f"The pose estimation process stopped unexpectedly "
                             f"(exit code {self._proc.exitcode}).")

    def _call(self, msg: tuple[Any, ...]) -> tuple[Any, ...]:
        self._send(msg)
        return self._receive()

    def _ensure_slot(self, slot: int, nbytes: int) -> SharedMemory:
        shm = self._slots.get(slot)
        if shm is not None and shm.size >= nbytes:
            return shm
        if shm is not None:
            shm.close()
            shm.unlink()
        shm = self._slots[slot] = SharedMemory(create=True, size=max(nbytes, 1))
        self._call(("shm", slot, shm.name))
        return shm

    def _submit(self, slot: int, image_rgb: np.ndarray, t: float, *, streaming: bool = False
                ) -> None:
        h, w = image_rgb.shape[:2]
        if streaming:  # slots were sized for the first frame; no request may interleave
            shm = self._slots[slot]
            if shm.size < h * w * 3:
                raise PosecheckError(f"Frame size changed mid-video ({w}x{h}).")
        else:
            shm = self._ensure_slot(slot, h * w * 3)
        np.ndarray((h, w, 3), np.uint8, buffer=shm.buf)[:] = image_rgb
        self._send(("detect", slot, t, h, w))

    def _pose(self) -> PoseFrame:
        _, t_out, size, landmarks, world, people = self._receive()
        self.last_num_people = people
        return PoseFrame(t_out, tuple(size), landmarks, world)

    def detect(self, image_rgb: np.ndarray, t: float = 0.0) -> PoseFrame:
        """The pose in ``image_rgb`` ((H, W, 3) uint8 RGB) at ``t`` seconds."""
        self._submit(0, image_rgb, t)
        return self._pose()

    def detect_stream(self, items: Iterable[tuple[T, np.ndarray, float]],
                      depth: int = 2) -> Iterator[tuple[T, PoseFrame]]:
        """Poses of ``(tag, image, t)`` items, in order, keeping ``depth`` frames in flight.

        While the worker infers one frame the next is already copied to it, so it never
        waits for this process. Yields ``(tag, pose)``.
        """
        if depth < 1:
            raise ValueError(f"depth must be >= 1, got {depth}")
        pending: deque[T] = deque()
        try:
            for i, (tag, image, t) in enumerate(items):
                if i == 0:
                    for slot in range(depth):
                        self._ensure_slot(slot, image.shape[0] * image.shape[1] * 3)
                if len(pending) == depth:
                    yield pending.popleft(), self._pose()
                self._submit(i % depth, image, t, streaming=True)
                pending.append(tag)
            while pending:
                yield pending.popleft(), self._pose()
        finally:
            self._drain(len(pending))

    def _drain(self, n: int) -> None:
        """Collect ``n`` replies nobody will read (the stream stopped early)."""
        for _ in range(n):
            with contextlib.suppress(PosecheckError):
                self._receive()

    def reset(self) -> None:
        """A fresh landmarker (new tracking, timestamps from zero) in the same process."""
        self._call(("reset",))
        self.last_num_people = 0

    def close(self) -> None:
        """Stop the process and free the shared memory (idempotent)."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(OSError):
            self._conn.send(("close",))
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(timeout=5)
        self._conn.close()
        for shm in self._slots.values():
            shm.close()
            shm.unlink()
        self._slots.clear()

    def __enter__(self) -> PoseWorker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


_SHARED: dict[tuple[str | None, str, int, int], PoseWorker] = {}


def shared_worker(model_path: Path | str | None = None, *, mode: str = "video",
                  num_poses: int = 1, instance: int = 0) -> PoseWorker:
    """A worker for this model, started on first use and reused (reset) afterwards.

    Starting the process costs about a second (importing MediaPipe); a run over several
    files pays it once. ``instance`` numbers workers that run side by side (one per part
    of a video, :mod:`posecheck.segments`). Closed at interpreter exit.
    """
    key = (None if model_path is None else str(model_path), mode, num_poses, instance)
    worker = _SHARED.get(key)
    if worker is not None and not worker.closed and worker._proc.is_alive():
        worker.reset()
        return worker
    if worker is not None:
        worker.close()  # died: free its shared memory before starting another
    worker = PoseWorker(model_path, mode=mode, num_poses=num_poses)
    _SHARED[key] = worker
    return worker


@atexit.register
def _close_shared() -> None:
    for worker in _SHARED.values():
        worker.close()
    _SHARED.clear()
