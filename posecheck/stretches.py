"""The stretch catalogue: what each stretch measures, how, and when a hold counts.

Stretches are data (``stretches.toml`` next to this module, or a user TOML file) so a user
or physio can add their own. Pure: standard library + numpy only.

Convention: a stretch measures one field of :class:`posecheck.types.SideAngles`
(``measure``) in a direction (``direction`` = +1 when a larger value is deeper into the
stretch, -1 when a smaller value is). :meth:`Stretch.value` returns the measured angle in
the stretch's direction, degrees, positive = deeper.
"""

from __future__ import annotations

from dataclasses import dataclass

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

    def value(self, angles: SideAngles) -> float | None:
        """The measured angle in the stretch's direction (deeper = larger), or None."""
        raw = getattr(angles, self.measure)
        return None if raw is None else self.direction * raw
