"""The files of one input's output folder, written while its frames are analysed.

:class:`FrameWriters`: the per-frame files (``frames.csv``, ``landmarks.jsonl``,
``angles.mot``), each written to a temporary file and renamed into place by ``finish``
(``abort`` discards them, keeping the landmarks found so far), and the :class:`Series` of
numbers kept for :func:`plot` (``angles.png``). Used by :mod:`posecheck.analyse_input`.
Degrees; rotation positive = internal rotation.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from posecheck.landmarks import SIDES
from posecheck.session import Session
from posecheck.types import FrameResult


@dataclass
class Series:
    """Per-frame numbers kept for the plot: 5 float64 per frame (40 bytes), never images.

    Kept *uncorrected* (smoothed, before the neutral reference); :meth:`corrected` subtracts
    the session's final offsets, as the summary and frames.csv do, so all three agree.
    ``gate``: plot the rotation only in frames where the shown stretch was measurable (the
    view check passed), so the plot agrees with the summary's peaks. ``measure`` /
    ``direction``: the shown stretch's.
    """

    gate: bool = True
    measure: str = "rotation_deg"
    direction: int = 1
    t: array[float] = field(default_factory=lambda: array("d"))
    rotation: dict[str, array[float]] = field(
        default_factory=lambda: {s: array("d") for s in SIDES})
    measured: dict[str, array[float]] = field(
        default_factory=lambda: {s: array("d") for s in SIDES})

    def add(self, r: FrameResult) -> None:
        self.t.append(r.t)
        for s in SIDES:
            rot, meas = r.rotation_deg.get(s), r.measured.get(s)
            if self.gate and meas is None:
                rot = None
            if rot is not None:
                rot += r.neutral_offset_deg.get(s, 0.0)
            if meas is not None:
                meas = self.direction * getattr(r.smoothed.side(s), self.measure)
            self.rotation[s].append(np.nan if rot is None else float(rot))
            self.measured[s].append(np.nan if meas is None else float(meas))

    def corrected(self, offsets: dict[tuple[str, str], float]
                  ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """(rotation, measured) per side minus the final neutral offsets, NaN = none."""
        rotation = {s: np.asarray(self.rotation[s]) - offsets.get(("rotation_deg", s), 0.0)
                    for s in SIDES}
        measured = {s: np.asarray(self.measured[s])
                    - self.direction * offsets.get((self.measure, s), 0.0) for s in SIDES}
        return rotation, measured


class FrameWriters:
    """The per-frame files of one input (frames.csv, landmarks.jsonl, angles.mot) and the
    :class:`Series` for its plot; :meth:`finish` renames the files into place."""

    def __init__(self, out_dir: Path, *, mot: bool, landmarks: bool, gate_rotation: bool,
                 measure: str = "rotation_deg", direction: int = 1) -> None:
        from posecheck.frames_csv import FramesCsvWriter
        from posecheck.landmark_io import LandmarkWriter
        from posecheck.mot import MotWriter

        self.out_dir = out_dir
        self.csv = FramesCsvWriter(out_dir / "frames.csv", measure=measure,
                                   direction=direction)
        self.mot = MotWriter(out_dir / "angles.mot") if mot else None
        self.landmarks = LandmarkWriter(out_dir / "landmarks.jsonl") if landmarks else None
        self.series = Series(gate=gate_rotation, measure=measure, direction=direction)

    def frame(self, result: FrameResult, *, pose: bool = True) -> None:
        """Every file's row of one frame; ``pose=False`` when :meth:`pose` already wrote its
        landmarks (analyse's offline pass writes the rows after the landmarks)."""
        self.csv.write(result)
        if self.mot is not None:
            self.mot.add(result)
        if pose:
            self.pose(result)
        self.series.add(result)

    def pose(self, result: FrameResult) -> None:
        """The frame's landmarks as they come, so an interrupted run keeps the poses found."""
        if self.landmarks is not None:
            self.landmarks.write(result.pose)

    def finish(self, offsets: dict[tuple[str, str], float] | None = None) -> list[Path]:
        """Close every file; ``offsets``: the session's final neutral offsets."""
        self.csv.close(offsets)
        files = [self.csv.path]
        if self.landmarks is not None:
            self.landmarks.close()
            files.append(self.out_dir / "landmarks.jsonl")
        if self.mot is not None:
            files.append(self.mot.close(offsets))
        return files

    def abort(self) -> None:
        self.csv.abort()
        if self.landmarks is not None:
            self.landmarks.close()  # keeps the landmarks found before the failure


def plot(out_dir: Path, series: Series, session: Session, summary: dict[str, Any]) -> Path:
    """angles.png: rotation per side over time, holds shaded, thresholds drawn."""
    from posecheck.plots import plot_angles
    from posecheck.safe_text import printable  # no control characters in a plot title

    s = series
    holds = {side: summary["sides"][side]["holds"] for side in SIDES}
    single = len(session.stretches) == 1
    targets = None
    if not single:  # e.g. both rotation stretches: each one's entry threshold
        thr = {st.id: session.pairs[(st.id, SIDES[0])].threshold_deg
               for st in session.stretches}  # --threshold moves the first one
        targets = [(st.direction * thr[st.id],
                    f"{'IR' if st.direction > 0 else 'ER'} target {thr[st.id]:.0f}\u00b0")
                   for st in session.stretches if st.measure == "rotation_deg"]
    offsets = session.neutral_offsets()
    rotation, measured = s.corrected(offsets)
    neutral = {side: offsets[("rotation_deg", side)] for side in SIDES} \
        if session.use_neutral else None
    return plot_angles(out_dir / "angles.png", s.t, rotation, measured=measured,
                       neutral_deg=neutral,
                       holds_by_side=holds, threshold_deg=summary.get("threshold_deg"),
                       stretch=session.primary if single else None,
                       title=printable(Path(summary["input"]).name), targets=targets)
