"""What a cell of the history CSV (``posecheck export``) may hold, checked on import.

:func:`check_row` validates one row before anything is written: numbers are finite and in
range (frames whole and >= 0, confidence 0..1, thresholds 0..180 degrees, angles within
+-180 degrees, times >= 0 s), booleans are ``true`` or ``false``, dates are ISO 8601
between 1970 and tomorrow, the holds column is a JSON list of hold objects, and a text cell
that a spreadsheet would run as a formula is refused. Text cells are unescaped
(:func:`posecheck.safe_text.unescape_cell`). Every error names the line and the column.
:func:`export_row` applies the escaping on export. Standard library only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from posecheck.errors import StoreError
from posecheck.safe_text import escape_cell, is_formula, printable, unescape_cell

ANGLE = (-180.0, 180.0, False)
MAGNITUDE = (0.0, 180.0, False)
SECONDS = (0.0, 1e7, False)
COUNT = (0.0, 1e9, True)
#: column -> (lowest, highest, whole number)
NUMBERS: dict[str, tuple[float, float, bool]] = {
    "session_threshold_deg": MAGNITUDE, "threshold_deg": MAGNITUDE,
    "fps": (0.0, 1e4, False), "frames": COUNT, "frames_with_pose": COUNT,
    "frames_measured": COUNT, "duration_s": SECONDS, "total_hold_s": SECONDS,
    "time_in_target_s": SECONDS, "mean_confidence": (0.0, 1.0, False),
    "peak_rotation_deg": ANGLE, "peak_internal_deg": MAGNITUDE,
    "peak_external_deg": MAGNITUDE, "peak_measured_deg": ANGLE, "neutral_offset_deg": ANGLE,
    "image_width": COUNT, "image_height": COUNT, "view_yaw_deg": ANGLE, "end_range_s": SECONDS,
}
BOOLEANS = frozenset({"interrupted"})
DATES = frozenset({"started_at"})
CHOICES = {"kind": ("video", "live", "landmarks"), "side": ("left", "right", "")}
HOLD_NUMBERS = {"start_s": SECONDS, "end_s": SECONDS, "duration_s": SECONDS,
                "peak_deg": ANGLE, "mean_deg": ANGLE}
RAW = frozenset({"holds", *NUMBERS, *BOOLEANS, *DATES})  # written as they are, never quoted


def export_row(columns: Sequence[str], cells: Sequence[str]) -> list[str]:
    """The cells of one exported row with every text cell neutralised."""
    return [cell if col in RAW else escape_cell(cell)
            for col, cell in zip(columns, cells, strict=True)]


def _fail(line: int, column: str, cell: str, why: str) -> StoreError:
    shown = printable(cell if len(cell) <= 40 else cell[:40] + "...")
    return StoreError(f"CSV line {line}, column {column}: {shown!r} {why}; nothing was "
                      "imported.")


def _number(cell: str, line: int, column: str, rule: tuple[float, float, bool]) -> None:
    if cell == "":
        return
    lo, hi, whole = rule
    try:
        value = float(cell)
    except ValueError:
        raise _fail(line, column, cell, "is not a number") from None
    if not math.isfinite(value):
        raise _fail(line, column, cell, "is not a finite number")
    if whole and value != int(value):
        raise _fail(line, column, cell, "is not a whole number")
    if not lo <= value <= hi:
        raise _fail(line, column, cell, f"is out of range ({lo:g} to {hi:g})")


def _date(cell: str, line: int, column: str) -> None:
    try:
        value = datetime.fromisoformat(cell.strip())
    except ValueError:
        raise _fail(line, column, cell, "is not an ISO 8601 date-time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not datetime(1970, 1, 1, tzinfo=UTC) <= value <= datetime.now(UTC) + timedelta(days=1):
        raise _fail(line, column, cell, "is not a date between 1970 and today")


def _holds(cell: str, line: int, column: str) -> None:
    try:
        holds = json.loads(cell or "[]")
    except (json.JSONDecodeError, RecursionError):
        raise _fail(line, column, cell, "is not a JSON list of holds") from None
    if not isinstance(holds, list) or not all(isinstance(h, dict) for h in holds):
        raise _fail(line, column, cell, "is not a JSON list of hold objects")
    for hold in holds:
        for key, value in hold.items():
            rule = HOLD_NUMBERS.get(key)
            if rule is None:
                raise _fail(line, column, cell, f"has an unknown hold field {key!r}")
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, int | float)):
                raise _fail(line, column, cell, f"has a non-number {key}")
            if value is not None:
                _number(repr(float(value)), line, f"{column}.{key}", rule)


def check_row(row: Mapping[str | None, Any], line: int) -> dict[str, str]:
    """The validated row, text cells unescaped; StoreError naming line and column."""
    if None in row:
        raise StoreError(f"CSV line {line}: more cells than columns; nothing was imported.")
    out: dict[str, str] = {}
    for column, cell in row.items():
        assert column is not None
        if cell is None:
            raise StoreError(f"CSV line {line}: fewer cells than columns (no {column}); "
                             "nothing was imported.")
        if column in NUMBERS:
            _number(cell, line, column, NUMBERS[column])
        elif column in BOOLEANS:
            if cell not in ("true", "false"):
                raise _fail(line, column, cell, "is not true or false")
        elif column in DATES:
            _date(cell, line, column)
        elif column == "holds":
            _holds(cell, line, column)
        else:
            if is_formula(cell):
                raise _fail(line, column, cell, "would run as a spreadsheet formula (posecheck "
                            "exports such text with a leading ')")
            cell = unescape_cell(cell)
            if column in CHOICES and cell not in CHOICES[column]:
                raise _fail(line, column, cell, "is not one of " + ", ".join(
                    c for c in CHOICES[column] if c))
        out[column] = cell
    return out
