"""OpenSim Storage (``.mot``) files of the hip angles: write (:class:`MotWriter`) and read
(:func:`read_mot`).

Convention: degrees, seconds, OpenSim's coordinate signs (see :class:`MotWriter`).
Imports the standard library and numpy only.
"""

from __future__ import annotations

import io
import math
import os
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
    counts knee flexion negative). Rows are buffered because the header needs nRows. Use as
    a context manager (an exception writes no file) or call :meth:`close` / :meth:`abort`.
    """

    def __init__(self, path: str | os.PathLike[str], name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or self.path.stem
        self.times: list[float] = []
        self.rows: list[list[float]] = []
        # rows from add() hold the rotation before the neutral offset: row -> offsets then
        self._frame_offsets: dict[int, dict[str, float]] = {}
        self._offsets: Mapping[tuple[str, str], float] | None = None

    def add(self, result: FrameResult) -> None:
        """Add one frame (its rotation kept uncorrected until :meth:`close` corrects it)."""
        row = mot_row(result)
        offsets = {side: result.neutral_offset_deg.get(side, 0.0) for side in SIDES}
        for side, sfx in (("left", "l"), ("right", "r")):
            row[MOT_COLUMNS.index(f"hip_rotation_{sfx}")] += offsets[side]
        self.add_row(result.t, row)
        self._frame_offsets[len(self.rows) - 1] = offsets

    def add_row(self, t: float, values: Sequence[float]) -> None:
        """Add one row: ``t`` seconds and one value per :data:`MOT_COLUMNS` (degrees)."""
        if len(values) != len(MOT_COLUMNS):
            raise ValueError(f"a .mot row needs {len(MOT_COLUMNS)} values, got {len(values)}")
        self.times.append(float(t))
        self.rows.append([float(v) for v in values])

    def text(self) -> str:
        """The whole file as text."""
        out = io.StringIO()
        out.write(f"{self.name}\nversion=1\nnRows={len(self.rows)}\n"
                  f"nColumns={len(MOT_COLUMNS) + 1}\ninDegrees=yes\n\n"
                  "Units are S.I. units (second, meters, Newtons, ...)\n"
                  "Angles are in degrees. Written by posecheck from monocular video.\n\n"
                  "endheader\n")
        out.write("\t".join(("time", *MOT_COLUMNS)) + "\n")
        for i, (t, row) in enumerate(zip(self.times, self.rows, strict=True)):
            subtract = [0.0] * len(MOT_COLUMNS)
            then = self._frame_offsets.get(i)
            if then is not None:
                for side, sfx in (("left", "l"), ("right", "r")):
                    subtract[MOT_COLUMNS.index(f"hip_rotation_{sfx}")] = then[side] if (
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
        self.times.clear()
        self.rows.clear()
        self._frame_offsets.clear()


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
