"""The stretch catalogue: what each stretch measures, how, and when a hold counts.

Stretches are data (``stretches.toml`` next to this module, or a user TOML file) so a user
or physio can add their own. Pure: standard library (``tomllib``) plus posecheck.types and
posecheck.errors; must not import mediapipe, cv2, matplotlib or anything that prints.

Convention: a stretch measures one field of :class:`posecheck.types.SideAngles`
(``measure``) in a direction (``direction`` = +1 when a larger value is deeper into the
stretch, -1 when a smaller value is). :meth:`Stretch.value` returns the measured angle in
the stretch's direction, degrees, positive = deeper. Thresholds are given in that direction
too (external rotation of 25° is ``threshold_deg = 25`` with ``direction = -1``).

API::

    load_catalogue(path=None) -> dict[str, Stretch]   # built-in, then user TOML on top
    get_stretch(id, catalogue=None) -> Stretch         # ConfigError listing the valid ids
    BUILTIN_PATH, ENV_VAR, MEASURES

Layering: the built-in file is read first, then the user file (``path``, or else the file
named by the environment variable ``POSECHECK_STRETCHES``). A user table for an existing id
replaces only the keys it gives; a new id must give every required key.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

from posecheck.errors import ConfigError
from posecheck.types import SideAngles


@dataclass(frozen=True, slots=True)
class Stretch:
    """One stretch of the routine (angles in degrees, times in seconds)."""

    id: str
    name: str
    instructions: str
    camera: str  # where to put the camera, in plain words
    view: str  # "front" or "side": which way the person faces the camera
    measure: str  # SideAngles field: "rotation_deg", "hip_abduction_deg", "hip_flexion_deg"
    direction: int  # +1 or -1, see module docstring
    threshold_deg: float  # entry threshold, in the stretch's direction
    hysteresis_deg: float = 3.0
    hold_target_s: float = 30.0
    neutral: str = ""  # how to sit/lie for the neutral reference
    min_knee_flexion_deg: float = 45.0  # below this the rotation is not observable
    notes: str = ""  # why this view and this angle (plain words)

    def value(self, angles: SideAngles) -> float | None:
        """The measured angle in the stretch's direction (deeper = larger), or None."""
        raw = getattr(angles, self.measure)
        return None if raw is None else self.direction * raw

    @property
    def exit_deg(self) -> float:
        """The level a hold must stay at or beyond: threshold - hysteresis (degrees)."""
        return self.threshold_deg - self.hysteresis_deg

    def to_dict(self) -> dict[str, Any]:
        """All fields as a JSON-ready dict (the layout of ``posecheck stretches --json``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


BUILTIN_PATH = Path(__file__).with_name("stretches.toml")
ENV_VAR = "POSECHECK_STRETCHES"

#: The SideAngles fields a stretch may measure (degrees).
MEASURES: tuple[str, ...] = (
    "rotation_deg", "hip_abduction_deg", "hip_flexion_deg", "knee_flexion_deg",
)
VIEWS: tuple[str, ...] = ("front", "side")

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_TEXT_KEYS = ("name", "instructions", "camera", "view", "measure", "neutral", "notes")
# key -> (low, high, low inclusive): allowed range of each number.
_RANGES: dict[str, tuple[float, float, bool]] = {
    "threshold_deg": (0.0, 180.0, True),
    "hysteresis_deg": (0.0, 90.0, True),
    "hold_target_s": (0.0, 24 * 3600.0, False),
    "min_knee_flexion_deg": (0.0, 180.0, True),
}
_KEYS = {f.name for f in fields(Stretch)} - {"id"}
_REQUIRED = {f.name for f in fields(Stretch) if f.name != "id" and f.default is MISSING}


def _fail(source: Path, sid: str | None, key: str | None, problem: str) -> ConfigError:
    where = str(source)
    if sid is not None:
        where += f": stretch '{sid}'"
    if key is not None:
        where += f": key '{key}'"
    return ConfigError(f"{where}: {problem}")


def _type_name(value: object) -> str:
    return {bool: "a boolean", str: "a string", int: "an integer", float: "a number",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def _check_value(source: Path, sid: str, key: str, value: object) -> None:
    """Raise ConfigError unless ``value`` suits ``key``."""
    if key not in _KEYS:
        known = ", ".join(sorted(_KEYS))
        raise _fail(source, sid, key, f"unknown key. Known keys: {known}.")
    if key in _TEXT_KEYS:
        if not isinstance(value, str):
            raise _fail(source, sid, key, f"expected a string, got {_type_name(value)}.")
        if key == "measure" and value not in MEASURES:
            raise _fail(source, sid, key, f"unknown measure {value!r}; use one of "
                        f"{', '.join(MEASURES)}.")
        if key == "view" and value not in VIEWS:
            raise _fail(source, sid, key, f"unknown view {value!r}; use 'front' or 'side'.")
        return
    if key == "direction":
        if type(value) is not int or value not in (1, -1):
            raise _fail(source, sid, key, f"must be 1 or -1, got {value!r}.")
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(source, sid, key, f"expected a number, got {_type_name(value)}.")
    low, high, low_inclusive = _RANGES[key]
    too_low = value < low or (value == low and not low_inclusive)
    if not math.isfinite(value) or too_low or value > high:
        bracket = "[" if low_inclusive else "("
        raise _fail(source, sid, key, f"must be in {bracket}{low:g}, {high:g}], got {value!r}.")


def _read_toml(source: Path) -> dict[str, Any]:
    try:
        with source.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{source}: stretch file not found.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{source}: cannot read the stretch file ({exc}).") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML ({exc}).") from None


def _merge_file(source: Path, tables: dict[str, dict[str, Any]]) -> None:
    """Check ``source`` and layer its stretch tables onto ``tables`` (in place)."""
    doc = _read_toml(source)
    for key in doc:
        if key != "stretches":
            raise _fail(source, None, key, "unknown top-level key; stretches go in "
                        "[stretches.<id>] tables.")
    stretches = doc.get("stretches", {})
    if not isinstance(stretches, dict):
        raise _fail(source, None, "stretches", "expected [stretches.<id>] tables.")
    for sid, table in stretches.items():
        if not _ID_RE.match(sid):
            raise _fail(source, sid, None, "an id uses lowercase letters, digits and '-'.")
        if not isinstance(table, dict):
            raise _fail(source, sid, None, f"expected a table, got {_type_name(table)}.")
        for key, value in table.items():
            _check_value(source, sid, key, value)
        merged = {**tables.get(sid, {}), **table}
        missing = sorted(_REQUIRED - merged.keys())
        if missing:
            raise _fail(source, sid, None, f"missing required keys: {', '.join(missing)}.")
        tables[sid] = merged


def _build(tables: dict[str, dict[str, Any]]) -> dict[str, Stretch]:
    out: dict[str, Stretch] = {}
    for sid, table in tables.items():
        # TOML integers become floats so that every angle and time is a float.
        values = {k: float(v) if k in _RANGES else v for k, v in table.items()}
        out[sid] = Stretch(id=sid, **values)
    return out


def load_catalogue(path: Path | str | None = None) -> dict[str, Stretch]:
    """The built-in stretches with the user's file layered on top, keyed by id.

    ``path`` (or, when None, the file named by ``$POSECHECK_STRETCHES``; none when unset or
    empty) is read after the built-in catalogue. Raises :class:`ConfigError` naming the file,
    the stretch and the key for a missing or malformed file, an unknown key, a wrong type, a
    direction other than +1/-1, an unknown ``measure`` or ``view``, or a number out of range
    (times must be > 0, hysteresis >= 0).
    """
    tables: dict[str, dict[str, Any]] = {}
    _merge_file(BUILTIN_PATH, tables)
    user = path if path is not None else os.environ.get(ENV_VAR) or None
    if user is not None:
        _merge_file(Path(user).expanduser(), tables)
    return _build(tables)


def get_stretch(stretch_id: str, catalogue: dict[str, Stretch] | None = None) -> Stretch:
    """The stretch ``stretch_id`` from ``catalogue`` (default: :func:`load_catalogue`).

    Raises :class:`ConfigError` listing the valid ids when there is no such stretch.
    """
    cat = load_catalogue() if catalogue is None else catalogue
    try:
        return cat[stretch_id]
    except KeyError:
        valid = ", ".join(sorted(cat)) or "(none)"
        raise ConfigError(f"Unknown stretch {stretch_id!r}. Valid stretches: {valid}.") from None
