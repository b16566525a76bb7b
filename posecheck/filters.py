"""Smoothing of angle time series: the One Euro filter and a per-angle ``AngleSmoother``.

Time is always an argument (seconds, from the stream: frame index / fps for files,
capture time live); nothing here reads the wall clock, so a replay gives exactly the
numbers of the live run. ``None`` (or NaN) means "no measurement in this frame": it passes
through as ``None`` and does not move the filter; a gap longer than ``max_gap_s`` resets
the filter, so an old value never bleeds into a new hold.

One Euro filter (Casiez, Roussel, Vogel, CHI 2012): an adaptive first-order low-pass,
``f_c = min_cutoff + beta * |dx/dt|`` (Hz; dx/dt filtered at ``d_cutoff``), smoothing factor
``alpha = 1 / (1 + tau / dt)`` with ``tau = 1 / (2 pi f_c)``. Slow signals get a low cutoff
(little jitter), fast ones a high cutoff (little lag).

Defaults are for angles in degrees during a stretch hold at 30 fps (static most of the
time): ``min_cutoff = 0.4 Hz``, ``beta = 0.02 /deg``, ``d_cutoff = 0.2 Hz`` (a slow
derivative filter keeps landmark jitter from opening the cutoff while the angle is still).
Measured lag (tests/unit/test_filters.py pins it): a 20 deg step at 30 fps reaches 50 % after
0.10 s and 90 % after 0.23 s; a 5 deg step 50 % after 0.17 s and 90 % after 0.47 s (small
changes are smoothed harder). A hold timer that needs ~1 s of stability hardly notices
these lags. On the synthetic benchmark (benchmarks/bench_geometry.py) it brings the mean
rotation error under MediaPipe-like noise from about 9 deg to about 3 deg.

Convention: degrees for angles, seconds for time; no angle wrapping is done (hip angles
stay well inside +-180). Pure: standard library + the shared types; must not import numpy
-heavy stacks, mediapipe or cv2.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from posecheck.errors import ConfigError
from posecheck.types import FrameAngles, SideAngles

SMOOTHED_FIELDS: tuple[str, ...] = (
    "rotation_deg", "knee_flexion_deg", "hip_flexion_deg", "hip_abduction_deg",
)


def _alpha(cutoff_hz: float, dt: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / dt)


@dataclass(frozen=True, slots=True)
class OneEuroParams:
    """One Euro parameters: cutoffs in Hz, ``beta`` in 1/unit, ``max_gap_s`` seconds."""

    min_cutoff: float = 0.4
    beta: float = 0.02
    d_cutoff: float = 0.2
    max_gap_s: float = 0.5

    def __post_init__(self) -> None:
        for name in ("min_cutoff", "d_cutoff", "max_gap_s"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        if not self.beta >= 0:
            raise ConfigError(f"beta must be >= 0, got {self.beta}")


class OneEuroFilter:
    """One Euro filter of a scalar with explicit time (see module docstring).

    ``filter(t, x)`` returns the smoothed value, or None when ``x`` is None/NaN.
    """

    def __init__(self, params: OneEuroParams = OneEuroParams()) -> None:
        self.params = params
        self.reset()

    def reset(self) -> None:
        """Forget the state; the next sample is passed through unchanged."""
        self._t: float | None = None
        self._x = 0.0
        self._dx = 0.0

    def filter(self, t: float, x: float | None) -> float | None:
        """Feed the sample at time ``t`` (seconds, non-decreasing); returns the estimate.

        A sample with the same ``t`` as the previous one is ignored (the current estimate is
        returned): a duplicated timestamp carries no time to filter over.
        """
        if self._t is not None and t < self._t:
            raise ValueError(f"time must not go backwards: got t={t} after t={self._t}")
        if x is None or math.isnan(x):
            return None
        if self._t is not None and t == self._t:
            return self._x
        p = self.params
        if self._t is None or t - self._t > p.max_gap_s:
            self._t, self._x, self._dx = t, float(x), 0.0
            return self._x
        dt = t - self._t
        self._dx += _alpha(p.d_cutoff, dt) * ((x - self._x) / dt - self._dx)
        cutoff = p.min_cutoff + p.beta * abs(self._dx)
        self._x += _alpha(cutoff, dt) * (x - self._x)
        self._t = t
        return self._x


class AngleSmoother:
    """Smooths :class:`FrameAngles` in time order, each side and angle independently.

    ``confidence`` and ``rotation_source`` pass through; ``None`` stays ``None``.
    """

    def __init__(self, params: OneEuroParams = OneEuroParams()) -> None:
        self.params = params
        self._filters = {(side, name): OneEuroFilter(params)
                         for side in ("left", "right") for name in SMOOTHED_FIELDS}
        self._last_t: float | None = None

    def update(self, angles: FrameAngles) -> FrameAngles:
        """The smoothed angles of this frame (``angles.t`` must not decrease)."""
        if self._last_t is not None and angles.t < self._last_t:
            raise ValueError(f"time must not go backwards: got t={angles.t} after "
                             f"t={self._last_t}")
        self._last_t = angles.t
        return FrameAngles(t=angles.t, left=self._side(angles.t, "left", angles.left),
                           right=self._side(angles.t, "right", angles.right))

    def _side(self, t: float, side: str, angles: SideAngles) -> SideAngles:
        values = {name: self._filters[(side, name)].filter(t, getattr(angles, name))
                  for name in SMOOTHED_FIELDS}
        return replace(angles, **values)

    def reset(self) -> None:
        """Forget all state (e.g. a new session)."""
        for f in self._filters.values():
            f.reset()
        self._last_t = None


def smooth_frames(frames: list[FrameAngles],
                  params: OneEuroParams = OneEuroParams()) -> list[FrameAngles]:
    """Smooth a whole sequence in order with a fresh :class:`AngleSmoother`."""
    smoother = AngleSmoother(params)
    return [smoother.update(f) for f in frames]


def check_times(times: Sequence[float]) -> None:
    """ValueError (the :class:`AngleSmoother` message) when ``times`` (seconds) decrease."""
    for a, b in itertools.pairwise(times):
        if b < a:
            raise ValueError(f"time must not go backwards: got t={b} after t={a}")


def one_euro_values(times: Sequence[float], values: Sequence[float | None],
                    params: OneEuroParams = OneEuroParams()) -> list[float | None]:
    """One angle series (degrees; None or NaN = no measurement) smoothed in order by a
    fresh :class:`OneEuroFilter`; ``times`` in seconds, non-decreasing."""
    f = OneEuroFilter(params)
    return [f.filter(t, x) for t, x in zip(times, values, strict=True)]


def _mean(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else 0.5 * (a + b)


def zero_phase_values(times: Sequence[float], values: Sequence[float | None],
                      params: OneEuroParams = OneEuroParams()) -> list[float | None]:
    """Offline zero-lag smoothing of one angle series (see :func:`zero_phase_frames`, which
    runs this on every side and angle): the mean of the One Euro filter run forwards and
    backwards (backwards as a forward run with t -> -t). Degrees, seconds; None or NaN in
    ``values`` gives None. ``times`` must not decrease (ValueError)."""
    check_times(times)
    fwd = one_euro_values(times, values, params)
    bwd = one_euro_values([-t for t in reversed(times)], values[::-1], params)
    bwd.reverse()
    return [_mean(a, b) for a, b in zip(fwd, bwd, strict=True)]


def zero_phase_frames(frames: list[FrameAngles],
                      params: OneEuroParams = OneEuroParams()) -> list[FrameAngles]:
    """Offline zero-lag smoothing: the mean of the One Euro filter run forwards and backwards.

    The forward (causal) filter lags a moving angle by some delay, the backward one leads it
    by the same delay, so on a ramp their mean has no lag; on a still angle it averages two
    filtered estimates. ``None`` stays ``None`` and a gap of ``max_gap_s`` or more resets both
    filters, so nothing is smeared across a gap. Needs the whole sequence (``analyse``, never
    ``live``). Frames must be in increasing ``t``. ``confidence`` and ``rotation_source``
    pass through. Each side and angle is one :func:`zero_phase_values` series
    (``posecheck.angle_store`` runs the same on compact arrays).
    """
    times = [f.t for f in frames]
    check_times(times)
    means = {(side, name): zero_phase_values(
        times, [getattr(f.side(side), name) for f in frames], params)
        for side in ("left", "right") for name in SMOOTHED_FIELDS}
    return [FrameAngles(t=f.t, **{side: replace(f.side(side), **{
        name: means[(side, name)][i] for name in SMOOTHED_FIELDS}) for side in ("left", "right")})
        for i, f in enumerate(frames)]


class Smoother(Protocol):
    """What :class:`posecheck.session.Session` asks of a smoother (``AngleSmoother``,
    :class:`posecheck.angle_store.ArrayReplaySmoother`)."""

    def update(self, angles: FrameAngles) -> FrameAngles:
        """The smoothed angles of this frame (degrees)."""
        ...

    def reset(self) -> None:
        """Forget all state."""
        ...
