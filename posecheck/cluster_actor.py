"""The pose-model actor of ``posecheck analyse --cluster`` (:mod:`posecheck.cluster`).

:class:`Analyser` is a plain class: :mod:`posecheck.cluster` makes it a Ray actor at run
time, so this module never imports Ray (a worker imports it by name: posecheck must be
installed on every node). It analyses one input at a time exactly as a worker process of a
local several-file run does (:mod:`posecheck.batch`), counts the frames it infers for the
driver's progress bar, and stops an input when the driver asks (as a Ctrl-C would).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from posecheck.analyse_input import AnalyseOptions, InputResult


class Cancelled(KeyboardInterrupt):
    """Raised inside an actor's analysis when the driver asked it to stop: to the pipeline
    it is a Ctrl-C (:func:`posecheck.batch.analyse_into` keeps the part done aside)."""


class _Counted:
    """A pose estimator that counts the poses it returns and stops when asked.

    Wraps a :class:`posecheck.pose.PoseEstimator` (``detect``, ``stream``, ``reset``, ``model``, as
    :func:`posecheck.analyse_input.analyse_file` uses it). ``counter`` is a one-element
    list (frames so far); ``stop`` an Event that makes the next call raise
    :class:`Cancelled`: the pipeline then stops the input exactly as on Ctrl-C in a
    local run.
    """

    def __init__(self, est: Any, counter: list[int], stop: threading.Event) -> None:
        self._est, self._counter, self._stop = est, counter, stop
        self.model = est.model

    def reset(self) -> None:
        self._est.reset()

    def detect(self, image_rgb: Any, t: float = 0.0) -> Any:
        if self._stop.is_set():
            raise Cancelled("stopped by the driver")
        pose = self._est.detect(image_rgb, t)
        self._counter[0] += 1
        return pose

    def stream(self, frames: Any, tracks: int = 1) -> Any:
        """:meth:`posecheck.pose.PoseEstimator.stream`, counted and stoppable per frame."""
        def checked() -> Any:
            for frame in frames:
                if self._stop.is_set():
                    raise Cancelled("stopped by the driver")
                yield frame

        for item in self._est.stream(checked(), tracks):
            self._counter[0] += 1
            yield item


class Analyser:
    """The pose-model actor: analyses one input at a time (made a Ray actor at run time).

    Set up as a worker process of a local several-file run (:mod:`posecheck.batch`): one
    decoder and one OpenCV thread, one pose model loaded with the first video and reused,
    reset, for every later one. ``cwd``: the driver's working folder, used here when this
    node has it (relative input paths then mean the same files). Two calls may run at once
    (``max_concurrency=2``): :meth:`analyse` and a :meth:`poll` or :meth:`stop`.
    """

    def __init__(self, cwd: str, options: AnalyseOptions) -> None:
        import cv2

        from posecheck.batch import _SharedModel

        with contextlib.suppress(OSError):
            os.chdir(cwd)
        cv2.setNumThreads(1)
        self._model = _SharedModel(options)
        self._frames = [0]
        self._stop = threading.Event()

    def analyse(self, path: Path, out_dir: Path, options: AnalyseOptions, collect: bool
                ) -> tuple[InputResult, dict[str, bytes] | None, dict[str, Any]]:
        """Analyse ``path`` into ``out_dir`` (or, with ``collect``, into a temporary folder
        whose files are returned as ``{"NAME/file" or "NAME.incomplete/file": bytes}``,
        NAME being ``out_dir``'s name); also returns facts about
        this worker (host, pid, the identity of its pose model) for the driver."""
        import socket

        from posecheck.batch import Interrupted, analyse_into

        self._stop.clear()
        model = self._model.for_input(path)  # loaded once, by the first video
        est = None if model is None else _Counted(model, self._frames, self._stop)
        tmp = Path(tempfile.mkdtemp(prefix="posecheck-cluster-")) if collect else None
        target = tmp / out_dir.name if tmp is not None else out_dir
        try:
            try:
                result = analyse_into(path, target, options, est)
            except Interrupted as exc:  # stopped by the driver: a result saying so
                why = f"{path}: interrupted; " + (str(exc) if tmp is None else
                                                  "its part was dropped on the worker.")
                result = InputResult(path, out_dir, error=why)
            if result.summary is not None and result.summary.get("kind") == "landmarks":
                self._frames[0] += int(result.summary["frames"])  # no model, no count
            files = None
            if tmp is not None:  # NAME/... (the result) and NAME.incomplete/... (a part)
                files = {p.relative_to(tmp).as_posix(): p.read_bytes()
                         for p in sorted(tmp.rglob("*")) if p.is_file()}
                if result.error:  # name the folders as they will be on the driver
                    result = replace(result, error=result.error.replace(
                        str(target), str(out_dir)))
        finally:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
        info = {"host": socket.gethostname(), "pid": os.getpid(), "frames": self._frames[0],
                "model": None if model is None else id(model)}
        return result, files, info

    def poll(self) -> int:
        """Frames analysed by this actor so far (all inputs)."""
        return self._frames[0]

    def stop(self) -> None:
        """Make the running analysis abandon its input at the next frame."""
        self._stop.set()
