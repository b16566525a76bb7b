"""OpenSim Storage (``.mot``) files of the hip angles: write (:class:`MotWriter`) and read
(:func:`read_mot`).

Convention: degrees, seconds, OpenSim's coordinate signs (see :class:`MotWriter`).
Imports the standard library and numpy only.
"""

from __future__ import annotations

import io
import math
import os
from array import array
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from posecheck.errors import PosecheckError
from posecheck.landmarks import SIDES
from posecheck.outputs import CommitOrAbort, atomic_write_text
from posecheck.types import FrameResult

#: Columns of the .mot file after "time".
MOT_COLUMNS: tuple[str, ...] = (
    "hip_rotation_l", "hip_rotation_r", "hip_flexion_l", "hip_flexion_r",
    "hip_adduction_l", "hip_adduction_r", "knee_angle_l", "knee_angle_r",
)
# the index in MOT_COLUMNS of each side's rotation (SIDES order: left, right)
_ROTATION_COLUMNS = tuple(MOT_COLUMNS.index(f"hip_rotation_{side[0]}") for side in SIDES)


def mot_row(result: FrameResult) -> list[float]:
    """The .mot values of one frame (degrees, OpenSim signs, NaN = missing), after time."""

    def f(v: float | None, sign: float = 1.0) -> float:
        return math.nan if v is None else sign * float(v)

    vals: dict[str, float] = {}
    for side, sfx in (("left", "l"), ("right", "r")):
        a = result.smoothed.side(side)
        vals[f"hip_rotation_{sfx}"] = f(result.rotation_deg.get(side))
        vals[f"hip_flexion_{sfx}"] = f(a.hip_flexion_deg)
        vals[f"hip_adduction_{sfx}"] = f(a.hip_abduction_deg, -1.0)
        vals[f"knee_angle_{sfx}"] = f(a.knee_flexion_deg)
    return [vals[c] for c in MOT_COLUMNS]


class MotWriter(CommitOrAbort):
    """Collects frames and writes an OpenSim Storage (``.mot``) file of the hip angles.

    Header: the file name, ``version=1``, ``nRows``, ``nColumns`` (time included),
    ``inDegrees=yes``, ``endheader``; then tab-separated columns ``time`` and
    :data:`MOT_COLUMNS`, ``NaN`` where a value is missing.

    Convention (OpenSim coordinate signs, degrees):
    ``hip_rotation`` = posecheck rotation (neutral-corrected), internal rotation positive
    (same sign); ``hip_flexion`` = hip flexion, flexion positive (same sign);
    ``hip_adduction`` = **minus** posecheck's hip abduction (OpenSim: adduction positive);
    ``knee_angle`` = knee flexion, flexion positive (the Rajagopal 2016 model; gait2392
    counts knee flexion negative). Rows are buffered (89 bytes a frame: time, values and
    offsets as float64) because the header needs nRows. Use as a context manager (an
    exception writes no file) or call :meth:`close` / :meth:`abort`.
    """

    def __init__(self, path: str | os.PathLike[str], name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or self.path.stem
        # the rows as float64: time, then one value per MOT_COLUMNS
        self._times: array[float] = array("d")
        self._values: array[float] = array("d")
        # rows from add() hold the rotation before the neutral offset: the offsets then
        # (left, right) and whether the row has them (add_row's do not)
        self._offsets_then: array[float] = array("d")
        self._has_offsets: array[int] = array("b")
        self._offsets: Mapping[tuple[str, str], float] | None = None

    @property
    def rows(self) -> int:
        """The number of rows added."""
        return len(self._times)

    def add(self, result: FrameResult) -> None:
        """Add one frame (its rotation kept uncorrected until :meth:`close` corrects it)."""
        row = mot_row(result)
        offsets = [result.neutral_offset_deg.get(side, 0.0) for side in SIDES]
        for off, column in zip(offsets, _ROTATION_COLUMNS, strict=True):
            row[column] += off
        self.add_row(result.t, row)
        self._offsets_then[-2:] = array("d", offsets)
        self._has_offsets[-1] = 1

    def add_row(self, t: float, values: Sequence[float]) -> None:
        """Add one row: ``t`` seconds and one value per :data:`MOT_COLUMNS` (degrees)."""
        if len(values) != len(MOT_COLUMNS):
            raise ValueError(f"a .mot row needs {len(MOT_COLUMNS)} values, got {len(values)}")
        self._times.append(float(t))
        self._values.extend(float(v) for v in values)
        self._offsets_then.extend((0.0, 0.0))
        self._has_offsets.append(0)

    def text(self) -> str:
        """The whole file as text."""
        out = io.StringIO()
        out.write(f"{self.name}\nversion=1\nnRows={self.rows}\n"
                  f"nColumns={len(MOT_COLUMNS) + 1}\ninDegrees=yes\n\n"
                  "Units are S.I. units (second, meters, Newtons, ...)\n"
                  "Angles are in degrees. Written by posecheck from monocular video.\n\n"
                  "endheader\n")
        out.write("\t".join(("time", *MOT_COLUMNS)) + "\n")
        width = len(MOT_COLUMNS)
        for i, t in enumerate(self._times):
            row = self._values[i * width:(i + 1) * width]
            subtract = [0.0] * width
            if self._has_offsets[i]:
                for j, (side, column) in enumerate(zip(SIDES, _ROTATION_COLUMNS, strict=True)):
                    subtract[column] = self._offsets_then[2 * i + j] if (
                        self._offsets is None) else self._offsets.get(("rotation_deg", side), 0.0)
            cells = [f"{t:.6f}"] + ["NaN" if math.isnan(v) else f"{v - d:.6f}"
                                    for v, d in zip(row, subtract, strict=True)]
            out.write("\t".join(cells) + "\n")
        return out.getvalue()

    def close(self, offsets: Mapping[tuple[str, str], float] | None = None) -> Path:
        """Write the file atomically; returns its path. ``offsets``: (measure, side) -> the
        session's final neutral offsets, subtracted from every frame's rotation (as in the
        summary and frames.csv); None: the offset each frame had."""
        self._offsets = offsets
        return atomic_write_text(self.path, self.text())

    def abort(self) -> None:
        """Discard the rows; no file is written (nothing is until :meth:`close`)."""
        for buf in (self._times, self._values, self._offsets_then, self._has_offsets):
            del buf[:]


def write_mot(path: str | os.PathLike[str], results: Iterable[FrameResult]) -> Path:
    """Write ``results`` as an OpenSim ``.mot`` file (see :class:`MotWriter`)."""
    w = MotWriter(path)
    for r in results:
        w.add(r)
    return w.close()


def read_mot(path: str | os.PathLike[str]) -> tuple[dict[str, str], list[str], np.ndarray]:
    """Parse a ``.mot``/``.sto`` file: (header key=value pairs, column names, (N, C) data)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    try:
        end = next(i for i, line in enumerate(lines) if line.strip() == "endheader")
    except StopIteration:
        raise PosecheckError(f"{path} is not an OpenSim storage file: no 'endheader'.") from None
    header = dict(line.split("=", 1) for line in lines[:end] if "=" in line)
    columns = lines[end + 1].split("\t")
    rows = [[float(c) for c in line.split("\t")] for line in lines[end + 2:] if line.strip()]
    data = np.array(rows, dtype=float).reshape(len(rows), len(columns))
    return header, columns, data
