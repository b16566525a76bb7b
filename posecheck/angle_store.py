"""The raw angles of a whole input kept compactly, and the offline zero-phase smoothing of them.

``analyse``'s offline pass needs every frame's raw angles until the input's end (the
zero-lag smoothing runs backwards from it). As :class:`posecheck.types.FrameAngles`
objects they cost ~0.8 KB a frame (two SideAngles, a dozen float objects); an
:class:`AngleStore` keeps them as 11 float64 and 2 bytes a frame (90 bytes): ``t`` and, per
side, the four angles of :data:`posecheck.filters.SMOOTHED_FIELDS` (NaN = None) and the
confidence; the rotation source as a one-byte code. :func:`zero_phase_store` smooths it
(:func:`posecheck.filters.zero_phase_values`, one side and angle at a time: the same
numbers as :func:`posecheck.filters.zero_phase_frames`, bit for bit) into a (T, 8) float64
array (64 bytes a frame), and :class:`ArrayReplaySmoother` gives the frames back one by one
to :class:`posecheck.session.Session`, building each FrameAngles only when asked.

Convention: degrees, seconds. Pure: numpy and the shared types only (no mediapipe, no cv2).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

import numpy as np

from posecheck.filters import SMOOTHED_FIELDS, OneEuroParams, check_times, zero_phase_values
from posecheck.landmarks import SIDES
from posecheck.types import FrameAngles, SideAngles

_PER_SIDE = len(SMOOTHED_FIELDS) + 1  # the angles, then the confidence
_WIDTH = 1 + _PER_SIDE * len(SIDES)  # float64 per frame: t, then each side's
#: (side, angle) of the smoothed array's columns, in order
CHANNELS: tuple[tuple[str, str], ...] = tuple((side, name) for side in SIDES
                                              for name in SMOOTHED_FIELDS)


def _nan(v: float | None) -> float:
    return np.nan if v is None else v


def _opt(v: float) -> float | None:
    return None if v != v else v  # NaN -> None


class AngleStore:
    """Raw :class:`FrameAngles` appended in time order, 90 bytes a frame (module docstring).

    A raw angle never is NaN (the geometry gives None), so NaN stands for None and a frame
    comes back equal to the one appended (:meth:`frame`).
    """

    def __init__(self) -> None:
        self._numbers: array[float] = array("d")
        self._sources: array[int] = array("b")
        self._names: list[str | None] = [None]  # rotation source code -> name
        self._codes: dict[str | None, int] = {None: 0}

    def __len__(self) -> int:
        return len(self._numbers) // _WIDTH

    def append(self, angles: FrameAngles) -> None:
        """Keep one frame (the next in time)."""
        row = [angles.t]
        for side in SIDES:
            a = angles.side(side)
            row += [_nan(getattr(a, name)) for name in SMOOTHED_FIELDS]
            row.append(a.confidence)
            self._sources.append(self._code(a.rotation_source))
        self._numbers.extend(row)

    def extend(self, frames: Iterable[FrameAngles]) -> None:
        """:meth:`append` each of ``frames``."""
        for f in frames:
            self.append(f)

    def _code(self, source: str | None) -> int:
        code = self._codes.get(source)
        if code is None:
            code = self._codes[source] = len(self._names)
            if code > 127:
                raise ValueError("AngleStore: more than 127 rotation sources")
            self._names.append(source)
        return code

    def time(self, i: int) -> float:
        """Frame ``i``'s ``t``, seconds."""
        return self._numbers[i * _WIDTH]

    def times(self) -> list[float]:
        """Every frame's ``t``, seconds."""
        return self._numbers[0::_WIDTH].tolist()

    def column(self, side: str, name: str) -> list[float]:
        """One raw angle of one side over every frame, degrees (NaN = None)."""
        k = 1 + SIDES.index(side) * _PER_SIDE + SMOOTHED_FIELDS.index(name)
        return self._numbers[k::_WIDTH].tolist()

    def frame(self, i: int, smoothed: np.ndarray | None = None) -> FrameAngles:
        """Frame ``i`` as appended; with ``smoothed`` (its 8 values in :data:`CHANNELS`
        order, NaN = None) those angles instead, confidence and source kept."""
        if not 0 <= i < len(self):
            raise IndexError(f"AngleStore: no frame {i} (of {len(self)})")
        row = self._numbers[i * _WIDTH:(i + 1) * _WIDTH].tolist()
        angles = None if smoothed is None else smoothed.tolist()
        sides = {}
        for j, side in enumerate(SIDES):
            k = 1 + j * _PER_SIDE
            values = row[k:k + len(SMOOTHED_FIELDS)] if angles is None else \
                angles[j * len(SMOOTHED_FIELDS):(j + 1) * len(SMOOTHED_FIELDS)]
            sides[side] = SideAngles(**dict(zip(SMOOTHED_FIELDS, map(_opt, values), strict=True)),
                                     confidence=row[k + _PER_SIDE - 1],
                                     rotation_source=self._names[self._sources[2 * i + j]])
        return FrameAngles(t=row[0], **sides)


def zero_phase_store(store: AngleStore, params: OneEuroParams | None = None) -> np.ndarray:
    """The zero-phase smoothing (:func:`posecheck.filters.zero_phase_frames`) of every frame
    of ``store``: (T, 8) float64 degrees, columns :data:`CHANNELS`, NaN = None. Raises
    ValueError when the times decrease."""
    params = params or OneEuroParams()
    times = store.times()
    check_times(times)
    out = np.empty((len(times), len(CHANNELS)))
    for k, (side, name) in enumerate(CHANNELS):
        out[:, k] = [_nan(v) for v in zero_phase_values(times, store.column(side, name), params)]
    return out


class ArrayReplaySmoother:
    """A precomputed smoothing given back frame by frame in the
    :class:`posecheck.filters.Smoother` interface (analyse's offline pass feeds it to the
    same :class:`posecheck.session.Session` code): frame ``i``'s angles of an
    :class:`AngleStore`'s :func:`zero_phase_store` array, built when asked. Raises
    ValueError when the frames fed are not the ones it was computed for (time mismatch)."""

    def __init__(self, store: AngleStore, smoothed: np.ndarray) -> None:
        if smoothed.shape != (len(store), len(CHANNELS)):
            raise ValueError(f"ArrayReplaySmoother: {smoothed.shape} smoothed values for "
                             f"{len(store)} frames")
        self._store = store
        self._smoothed = smoothed
        self._i = 0

    def update(self, angles: FrameAngles) -> FrameAngles:
        """The precomputed frame for ``angles`` (which must have the same ``t``)."""
        if self._i >= len(self._store) or self._store.time(self._i) != angles.t:
            raise ValueError(f"ReplaySmoother: no precomputed frame for t={angles.t}")
        out = self._store.frame(self._i, self._smoothed[self._i])
        self._i += 1
        return out

    def reset(self) -> None:
        """Back to the first frame."""
        self._i = 0
