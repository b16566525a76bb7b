"""frames.csv: one row per frame with the hip angles of both sides, written atomically.

Convention: degrees, seconds; hip rotation positive = internal rotation (IR); an empty cell
is a value that was not measured. The columns are :data:`FRAME_COLUMNS`.

Imports the standard library only (and :mod:`posecheck.outputs` for the atomic file).
"""

from __future__ import annotations

import csv
import math
import os
from array import array
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from posecheck.landmarks import SIDES
from posecheck.outputs import AtomicFile, CommitOrAbort
from posecheck.types import FrameResult

# Words, the same in every output and doc: "raw" = unsmoothed, straight from the geometry;
# "uncorrected" = smoothed, before the neutral reference is subtracted; plain names
# (rotation_deg, measured_deg) = smoothed and neutral-corrected, the number the summary
# and the history hold.
#: Per-side columns of frames.csv (prefixed "left_" / "right_"), in order.
SIDE_COLUMNS: tuple[str, ...] = (
    "rotation_deg",              # smoothed, neutral-corrected hip rotation, IR positive
    "rotation_uncorrected_deg",  # smoothed, before the neutral reference
    "rotation_raw_deg",          # unsmoothed, uncorrected: straight from the geometry
    "neutral_offset_deg",        # the neutral reference subtracted (rotation)
    "knee_flexion_deg",          # smoothed; 0 = straight knee
    "hip_flexion_deg",           # smoothed; + = flexion
    "hip_abduction_deg",         # smoothed; + = abduction, - = adduction
    "confidence",                # 0..1, trust in the rotation value
    "measured_deg",              # the stretch's measured angle (corrected), + = deeper
    "holding",                   # 1 while in a hold, else 0
    "hold_elapsed_s",            # seconds into the current hold (0 when not holding)
)
FRAME_COLUMNS: tuple[str, ...] = ("t", *(f"{side}_{col}" for side in SIDES
                                         for col in SIDE_COLUMNS))
_NUMBERS_PER_SIDE = 11  # what FramesCsvWriter keeps per side and frame (see _numbers)


def _num(value: float | None, digits: int = 3) -> str:
    """A CSV cell: fixed decimals, empty for None/NaN."""
    if value is None or not math.isfinite(value):
        return ""
    return f"{value:.{digits}f}"


def _f(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _numbers(result: FrameResult, measure: str, direction: int) -> list[float]:
    """One frame as floats (NaN = none): t, then per side the uncorrected rotation, the raw
    rotation, the rotation offset in use, knee, hip flexion, abduction, confidence, the
    uncorrected and the shown (corrected then) measured value, holding, hold elapsed."""
    out = [float(result.t)]
    for side in SIDES:
        sm, raw = result.smoothed.side(side), result.raw.side(side)
        rot, off = result.rotation_deg.get(side), result.neutral_offset_deg.get(side, 0.0)
        measured = result.measured.get(side)
        out += [
            _f(None if rot is None else rot + off), _f(raw.rotation_deg), _f(off),
            _f(sm.knee_flexion_deg), _f(sm.hip_flexion_deg), _f(sm.hip_abduction_deg),
            _f(sm.confidence),
            _f(None if measured is None else direction * getattr(sm, measure)), _f(measured),
            1.0 if result.holding.get(side) else 0.0, _f(result.hold_elapsed.get(side, 0.0)),
        ]
    return out


def _cells(numbers: Sequence[float], direction: int,
           offsets: Mapping[str, tuple[float, float]] | None) -> list[str]:
    """The cells of one row from :func:`_numbers`; ``offsets``: side -> (rotation offset,
    measure offset) to subtract, None = the ones in use at that frame."""
    row = [_num(numbers[0], 4)]
    for i, side in enumerate(SIDES):
        (unc, raw, off_then, knee, hip, abd, conf, meas_unc, meas_then, holding,
         elapsed) = numbers[1 + i * _NUMBERS_PER_SIDE:1 + (i + 1) * _NUMBERS_PER_SIDE]
        if offsets is None:  # each frame's own offsets: the values as shown then
            rot_off, meas = off_then, meas_then
        else:
            rot_off = offsets[side][0]
            meas = meas_unc - direction * offsets[side][1]
        row += [_num(unc - rot_off), _num(unc), _num(raw), _num(rot_off), _num(knee),
                _num(hip), _num(abd), _num(conf), _num(meas), "1" if holding else "0",
                _num(elapsed)]
    return row


class FramesCsvWriter(CommitOrAbort):
    """Collects one CSV row per frame; the file is written (atomically) on close.

    Columns (:data:`FRAME_COLUMNS`): ``t`` (seconds), then for ``left`` and ``right`` the
    :data:`SIDE_COLUMNS` (degrees unless named ``_s``; empty cell = not measured).
    ``rotation_deg`` and ``measured_deg`` are neutral-corrected with the offsets given to
    :meth:`close` (the session's final ones: the summary corrects every frame with them, so
    the file and the summary agree); the uncorrected and the raw rotation have their own
    columns. ``measure`` / ``direction``: the stretch behind ``measured_deg``. Rows are
    kept as 23 float64 each (184 bytes a frame) until close. Use as a context manager (an
    exception discards the file) or call :meth:`close` / :meth:`abort`.
    """

    def __init__(self, path: str | os.PathLike[str], *, measure: str = "rotation_deg",
                 direction: int = 1) -> None:
        self._atomic = AtomicFile(path, "w", newline="")
        self._file = self._atomic.open()  # fails now, not after the video, if it cannot
        self.measure = measure
        self.direction = direction
        self._numbers: array[float] = array("d")
        self.rows = 0

    @property
    def path(self) -> Path:
        """The final path of the CSV file."""
        return self._atomic.path

    def write(self, result: FrameResult) -> None:
        """Add the row of one frame."""
        self._numbers.extend(_numbers(result, self.measure, self.direction))
        self.rows += 1

    def close(self, offsets: Mapping[tuple[str, str], float] | None = None) -> None:
        """Write the file and rename it into place. ``offsets``: (measure, side) -> neutral
        offset (:meth:`posecheck.session.Session.neutral_offsets`); None keeps each frame's
        own rotation offset."""
        per_side = None if offsets is None else {
            side: (offsets.get(("rotation_deg", side), 0.0),
                   offsets.get((self.measure, side), 0.0)) for side in SIDES}
        writer = csv.writer(self._file, lineterminator="\n")
        writer.writerow(FRAME_COLUMNS)
        width = 1 + _NUMBERS_PER_SIDE * len(SIDES)
        for i in range(self.rows):
            writer.writerow(_cells(self._numbers[i * width:(i + 1) * width], self.direction,
                                   per_side))
        self._atomic.commit()

    def abort(self) -> None:
        """Discard the file."""
        self._atomic.abort()


def write_frames_csv(path: str | os.PathLike[str], results: Iterable[FrameResult],
                     offsets: Mapping[tuple[str, str], float] | None = None) -> Path:
    """Write every result as a frames.csv row (see :class:`FramesCsvWriter`)."""
    writer = FramesCsvWriter(path)
    try:
        for r in results:
            writer.write(r)
    except BaseException:
        writer.abort()
        raise
    writer.close(offsets)
    return Path(path)
