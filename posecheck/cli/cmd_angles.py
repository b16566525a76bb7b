"""``posecheck angles INPUT.jsonl``: hip angles of every frame of a landmark file.

Reads the landmark JSONL replay format, computes hip rotation (IR positive), knee flexion,
hip flexion, hip abduction and confidence per side (:mod:`posecheck.geometry`), smooths
them with the One Euro filter unless ``--raw``, and writes one record per input frame as
JSONL (``FrameAngles.to_dict()``) or CSV with flat columns. Frames without a person give
nulls (empty CSV cells). Pure numpy: no mediapipe or cv2 import.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from posecheck.errors import PosecheckError
from posecheck.landmarks import SIDES
from posecheck.types import FrameAngles, PoseFrame

FIELDS = ("rotation_deg", "knee_flexion_deg", "hip_flexion_deg", "hip_abduction_deg",
          "confidence")
CSV_COLUMNS = ["t"] + [f"{side}_{name}" for side in SIDES for name in FIELDS]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``angles`` command."""
    parser = subparsers.add_parser(
        "angles", help="compute hip angles from a landmark JSONL file",
        description="Compute hip rotation (degrees, positive = internal rotation), knee "
        "flexion, hip flexion, hip abduction and a 0..1 confidence for both hips in every "
        "frame of a landmark file. Rotation is null when the knee is bent less than 45 "
        "degrees or the leg is not visible.")
    parser.add_argument("input", metavar="INPUT.jsonl", type=Path,
                        help="landmark file (from 'posecheck landmarks')")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl",
                        help="output format (default: jsonl)")
    parser.add_argument("-o", "--output", metavar="FILE", type=Path, default=None,
                        help="file to write (default: standard output)")
    parser.add_argument("--raw", action="store_true",
                        help="do not smooth the angles over time")
    parser.set_defaults(func=run)


def read_frames(path: Path) -> list[PoseFrame]:
    """The frames of a landmark file (the one place that knows the reader)."""
    from posecheck.landmark_io import read_landmarks

    return list(read_landmarks(path))


def compute(frames: list[PoseFrame], raw: bool = False) -> list[FrameAngles]:
    """Angles of every frame, smoothed unless ``raw``."""
    from posecheck.filters import smooth_frames
    from posecheck.geometry import series_from_frames

    angles = series_from_frames(frames).frames()
    return angles if raw else smooth_frames(angles)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _csv_row(angles: FrameAngles) -> list[object]:
    row: list[object] = [angles.t]
    for side in SIDES:
        record = angles.side(side).to_dict()
        row.extend("" if record[name] is None else _rounded(record[name]) for name in FIELDS)
    return row


def write(angles: Iterable[FrameAngles], fh: IO[str], fmt: str) -> None:
    """Write records as JSONL or CSV (values rounded to 0.001)."""
    if fmt == "csv":
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows(_csv_row(a) for a in angles)
        return
    for a in angles:
        record = a.to_dict()
        for side in SIDES:
            record[side] = {k: _rounded(v) for k, v in record[side].items()}
        fh.write(json.dumps(record) + "\n")


@contextmanager
def _open_output(path: Path | None) -> Iterator[IO[str]]:
    """Standard output, or ``path`` written atomically (an error leaves the old file)."""
    if path is None:
        try:
            yield sys.stdout
            sys.stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:  # e.g. `> /dev/full`: what is still buffered cannot go out
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise PosecheckError(f"Cannot write the angles to standard output: "
                                 f"{exc.strerror or exc}.") from None
        return
    from posecheck.outputs import AtomicFile

    try:
        with AtomicFile(path, "w", newline="") as fh:
            yield fh
    except OSError as exc:
        raise PosecheckError(f"Cannot write {path}: {exc.strerror or exc}.") from None


def run(args: argparse.Namespace) -> int:
    """Compute and write the angles; returns the exit status."""
    from posecheck.guard import inputs, refuse_overwrite

    refuse_overwrite([args.output], inputs([args.input], "the input landmark file"))
    angles = compute(read_frames(args.input), raw=args.raw)
    with _open_output(args.output) as fh:
        write(angles, fh, args.format)
    return 0
