"""Wire a live session together: source, pose model, routine, window, sound, files.

:class:`LiveApp` opens everything, runs :class:`posecheck.live.LiveRunner`, and always
saves what was measured (``summary.json`` and ``landmarks.jsonl`` in the session folder),
whether the routine finished, the user quit, pressed Ctrl-C, closed the window, or the
camera stopped. The landmark file replays to the same numbers with ``posecheck analyse``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from posecheck.errors import PosecheckError
from posecheck.live import LiveOptions, LiveRunner, LiveStats, PeopleCounter, Recorder
from posecheck.routine import Routine, make_steps
from posecheck.session import Session
from posecheck.stretches import Stretch
from posecheck.summary import complete_summary, format_summary, utc_now_iso

NORMAL_STOPS = ("routine finished", "quit", "source ended", "time limit")
PHASE_WORDS = {"setup": "set-up", "neutral": "neutral reference", "countdown": "countdown",
               "measure": "measuring", "done": "end"}


def check_display() -> None:
    """Fail early, with a clear message, when no window can be opened.

    On Linux a window needs ``DISPLAY`` (or Wayland), and a ``QT_QPA_PLATFORM`` the bundled
    Qt has a plugin for: otherwise Qt aborts the whole process, taking the session with it.
    """
    if not sys.platform.startswith("linux"):
        return
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform:
        import cv2

        plugins = Path(cv2.__file__).parent / "qt" / "plugins" / "platforms"
        if plugins.is_dir() and not (plugins / f"libq{platform}.so").exists():
            available = sorted(p.stem.removeprefix("libq") for p in plugins.glob("libq*.so"))
            raise PosecheckError(
                f"QT_QPA_PLATFORM={platform} is not available in this OpenCV (it has: "
                f"{', '.join(available) or 'none'}): unset it, or run with --headless.")
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise PosecheckError("No display found (DISPLAY is not set): run with --headless, "
                             "or from a desktop session.")


def _say(text: str) -> None:
    print(text, flush=True)


class LiveApp:
    """One live run, from opening the camera to the saved summary."""

    def __init__(self, *, stretches: Sequence[Stretch], sides: Sequence[str],
                 threshold: float | None, source: str, out_dir: Path, headless: bool,
                 record: Path | None, model: Path | None, sound: bool, neutral: bool,
                 countdown_s: float, max_seconds: float | None = None,
                 loop: bool = False) -> None:
        self.stretches = list(stretches)
        self.loop = loop
        self.out_dir = out_dir
        self.options = LiveOptions(source=source, headless=headless, record=record,
                                   landmarks_out=out_dir / "landmarks.jsonl", model=model,
                                   sound=sound, max_seconds=max_seconds)
        self.session = Session(self.stretches, threshold_deg=threshold, neutral=neutral)
        self.routine = Routine(self.session, make_steps(self.stretches, sides),
                               countdown_s=countdown_s)
        self.stats = LiveStats()
        self.failed = False
        self.model_info: Any = None
        self.source_desc = source

    def run(self) -> dict[str, Any]:
        """Run the session; returns the saved summary dict."""
        from posecheck.model import verify_model
        from posecheck.sources import open_source

        if not self.options.headless:
            check_display()
        self.model_info = verify_model(self.options.model)
        started = utc_now_iso()
        source = open_source(self.options.source, paced=True, loop=self.loop)
        self.source_desc = source.description or self.options.source
        try:
            self._run_with(source)
        finally:
            source.close()
        return self._save(started, source)

    def _run_with(self, source: Any) -> None:
        from posecheck.cues import make_cue_player
        from posecheck.landmark_io import LandmarkWriter
        from posecheck.pose import PoseEstimator
        from posecheck.render import Annotator

        cues = make_cue_player(self.options.sound)
        if not getattr(cues, "available", True):
            _say(getattr(cues, "reason", "sound off"))
        runner = LiveRunner(self.routine, self.options, say=_say)
        annotator = None if self.options.headless else Annotator()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        keys = "" if self.options.headless else (
            "  (keys: space pause, n next, s switch side, f full screen, q quit)")
        _say(f"live: {self.source_desc} -> {self.out_dir}{keys}")
        with PoseEstimator(self.model_info.path, mode="video",
                           num_poses=self.options.num_poses) as estimator, \
                LandmarkWriter(self.out_dir / "landmarks.jsonl") as writer:
            recorder = self._recorder(source, runner)
            counter = self._people_counter()
            try:
                self.stats = runner.run(source, estimator, recorder=recorder, writer=writer,
                                        cues=cues, annotator=annotator, counter=counter)
            finally:
                if recorder is not None:
                    recorder.close()
                if counter is not None:
                    counter.estimator.close()

    def _people_counter(self) -> PeopleCounter | None:
        if self.options.people_check_s <= 0 or self.options.num_poses > 1:
            return None
        from posecheck.pose import PoseEstimator

        still = PoseEstimator(self.model_info.path, mode="image", num_poses=2)
        return PeopleCounter(still, self.options.people_check_s)

    def _recorder(self, source: Any, runner: LiveRunner) -> Recorder | None:
        if self.options.record is None:
            return None
        from posecheck.outputs import VideoSink
        from posecheck.render import Annotator

        width, height = source.size
        if width <= 0 or height <= 0:
            raise PosecheckError(f"Cannot record: {self.source_desc} reports no frame size.")
        sink = VideoSink(self.options.record, source.fps or 30.0, (width, height))

        def info(result: Any) -> Any:
            return _unmirrored(runner.overlay_info(result))

        return Recorder(sink, Annotator(), info)

    def _save(self, started: str, source: Any) -> dict[str, Any]:
        from posecheck.outputs import write_summary

        for event in self.session.finish():
            _say(f"[{event.t:7.1f} s] {event.side}: hold ended after {event.elapsed_s:.1f} s")
        reason = self.stats.stop_reason or "source ended"
        interrupted = reason not in NORMAL_STOPS
        self.failed = bool(getattr(source, "error", None)) and self.stats.frames == 0
        summary = complete_summary(
            self._measured_part(), kind="live", input=self.source_desc, content_sha256=None,
            started_at=started,
            model={"name": self.model_info.name, "sha256": self.model_info.sha256},
            fps=source.fps, interrupted=interrupted,
            live={"stop_reason": reason, "processed_fps": round(self.stats.fps, 2),
                  "median_latency_ms": self.stats.median_latency_ms,
                  "ended_in_phase": self._end_phase(),
                  "window_px": list(self.stats.window) if self.stats.window else None,
                  "frames_dropped": self.stats.dropped},
        )
        write_summary(self.out_dir / "summary.json", summary)
        return summary

    def _measured_part(self) -> dict[str, Any]:
        """The session summary without the stretches the routine never reached."""
        measured = self.session.summary()
        reached = {sid for sid, _ in self.routine.measured_steps}
        by_stretch = measured["by_stretch"]
        keep = {sid: v for sid, v in by_stretch.items() if sid in reached}
        measured["by_stretch"] = keep or {self.stretches[0].id: by_stretch[self.stretches[0].id]}
        return measured

    def _end_phase(self) -> str:
        """The routine's phase when the session ended ("finished" after the last step)."""
        return "finished" if self.routine.finished else self.routine.phase

    def report_lines(self, summary: dict[str, Any]) -> list[str]:
        """The end-of-session text: why it stopped (and in which phase), results, where."""
        reason = self.stats.stop_reason or "source ended"
        phase = self._end_phase()
        step = self.routine.step
        during = "" if phase in ("finished", "measure", "done") or step is None else (
            f" during the {PHASE_WORDS[phase]} of {step.label}")
        lines = [f"session ended: {reason}{during} "
                 f"({self.stats.frames} frames, {self.stats.fps:.1f} fps)"]
        nothing = None
        if not self.routine.measured_steps and step is not None:
            nothing = (f"nothing measured: the session ended in the {PHASE_WORDS[phase]} "
                       f"of {step.label}, before measuring began")
            if phase == "setup":
                nothing += " (the view never suited the stretch: see the set-up messages)"
        lines.extend(format_summary(summary, nothing=nothing))
        lines.append(f"saved: {self.out_dir / 'summary.json'}")
        return lines


def _unmirrored(info: Any) -> Any:
    import dataclasses

    return dataclasses.replace(info, mirrored=False)


