"""Measurement noise: when is a change in hip rotation real?

A change between two sessions only means something when it is larger than the minimal
detectable change (MDC95), the smallest difference that a repeated measurement of an
unchanged hip exceeds in only 5 % of cases.

Default (literature): seated hip rotation measured with a goniometer
or an inclinometer has MDC95 between 5.4° (Krause et al. 2015, digital inclinometer,
seated IR) and 6.1–8.6° (Gradoz et al. 2018, goniometer, seated and supine 90/90). We use
:data:`DEFAULT_MDC_DEG` = 6°, inside that range. A camera is unlikely to be *less* noisy
than a goniometer, so when a person has at least :data:`MIN_SESSIONS_FOR_PERSONAL` sessions
we also estimate their own noise (:func:`personal_mdc`) and use the larger of the two.

Formulae: MDC95 = 1.96 · √2 · SEM, where SEM is the standard error of one measurement.

Pure: standard library only; must not import numpy, matplotlib, mediapipe or cv2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_MDC_DEG = 6.0
DEFAULT_MDC_SOURCE = (
    "literature default 6° (seated hip rotation MDC95 5.4° Krause et al. 2015, "
    "6.1–8.6° Gradoz et al. 2018)"
)
MIN_SESSIONS_FOR_PERSONAL = 3
Z95_TIMES_SQRT2 = 1.96 * math.sqrt(2.0)


@dataclass(frozen=True, slots=True)
class Mdc:
    """The minimal detectable change used for one series (degrees) and why."""

    value_deg: float
    source: str
    personal_deg: float | None  # the person's own estimate, when there were enough sessions
    n_sessions: int


def mdc_from_sem(sem_deg: float) -> float:
    """MDC95 in degrees from a standard error of measurement in degrees."""
    if not math.isfinite(sem_deg) or sem_deg < 0:
        raise ValueError(f"sem_deg must be finite and >= 0, got {sem_deg!r}")
    return Z95_TIMES_SQRT2 * sem_deg


def personal_mdc(days: Sequence[float], values_deg: Sequence[float]) -> float | None:
    """The person's own MDC95 (degrees) from the scatter of their sessions around a trend.

    A straight line over time (``days``, any origin) is fitted to ``values_deg`` by least
    squares, so steady progress is not counted as noise; the residual standard deviation
    (n − 2 degrees of freedom) is taken as the SEM. Returns None with fewer than
    :data:`MIN_SESSIONS_FOR_PERSONAL` values. With few sessions the estimate is rough;
    callers use it only to *raise* the literature default, never to lower it.
    """
    if len(days) != len(values_deg):
        raise ValueError(f"days and values_deg differ in length: {len(days)} != {len(values_deg)}")
    n = len(values_deg)
    if n < MIN_SESSIONS_FOR_PERSONAL:
        return None
    mean_t = sum(days) / n
    mean_v = sum(values_deg) / n
    sxx = sum((t - mean_t) ** 2 for t in days)
    slope = (
        0.0
        if sxx == 0
        else sum((t - mean_t) * (v - mean_v) for t, v in zip(days, values_deg, strict=True)) / sxx
    )
    residuals = [v - (mean_v + slope * (t - mean_t)) for t, v in zip(days, values_deg, strict=True)]
    dof = n - 2 if sxx > 0 else n - 1
    sem = math.sqrt(sum(r * r for r in residuals) / dof)
    return mdc_from_sem(sem)


def choose_mdc(days: Sequence[float], values_deg: Sequence[float]) -> Mdc:
    """The MDC to use for a series: the literature default, raised by a larger personal one."""
    personal = personal_mdc(days, values_deg)
    n = len(values_deg)
    if personal is not None and personal > DEFAULT_MDC_DEG:
        source = (
            f"your own session-to-session noise ({n} sessions, scatter around the trend), "
            f"larger than the {DEFAULT_MDC_SOURCE}"
        )
        return Mdc(personal, source, personal, n)
    return Mdc(DEFAULT_MDC_DEG, DEFAULT_MDC_SOURCE, personal, n)


def is_real_change(change_deg: float, mdc_deg: float) -> bool:
    """True when ``|change_deg|`` exceeds the MDC (both in degrees)."""
    return abs(change_deg) > mdc_deg
