"""The records a history query returns (sessions, results, holds, people) and the rules for
the values they hold: person names, and times (stored as UTC ISO 8601 text ending in ``Z``,
shown in local time).

Conventions: angles in degrees, positive = internal rotation; times in seconds.
Standard library only: the report and the CLI read records without opening a database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from posecheck.errors import StoreError
from posecheck.store_schema import DEFAULT_PERSON, HOLD_FIELDS, RESULT_FIELDS

PERSON_ENV_VAR = "POSECHECK_PERSON"
MAX_PERSON_LEN = 60
SIDES = ("left", "right")


@dataclass(frozen=True, slots=True)
class HoldRecord:
    """One stored hold (seconds; degrees in the stretch's direction, deeper = larger)."""

    start_s: float | None
    end_s: float | None
    duration_s: float | None
    peak_deg: float | None
    mean_deg: float | None


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """One stretch x side of a session (degrees, IR positive; seconds)."""

    stretch: str
    side: str
    threshold_deg: float | None
    peak_rotation_deg: float | None
    peak_internal_deg: float | None
    peak_external_deg: float | None
    peak_measured_deg: float | None
    total_hold_s: float | None
    time_in_target_s: float | None
    mean_confidence: float | None
    frames_measured: int | None
    neutral_offset_deg: float | None
    end_range_s: float | None = None  # seconds within summary.END_RANGE_DEG of the peak
    holds: tuple[HoldRecord, ...] = ()

    @property
    def range_gained_deg(self) -> float | None:
        """Range gained across repeated holds of this session: the last hold's peak minus the
        first hold's (degrees in the stretch's direction, + = deeper later); None with fewer
        than two holds with a peak."""
        peaks = [h.peak_deg for h in self.holds if h.peak_deg is not None]
        return peaks[-1] - peaks[0] if len(peaks) > 1 else None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One stored session with its results (see ``docs/history.md``)."""

    id: int
    uid: str
    started_at: str  # UTC ISO 8601, "...Z"
    kind: str
    input: str | None
    content_sha256: str | None
    stretch: str | None
    threshold_deg: float | None
    fps: float | None
    frames: int | None
    frames_with_pose: int | None
    duration_s: float | None
    interrupted: bool
    app_version: str | None
    model_name: str | None
    model_sha256: str | None
    person: str = DEFAULT_PERSON
    image_width: int | None = None  # camera set-up (None for sessions stored before schema 3)
    image_height: int | None = None
    view_yaw_deg: float | None = None  # how far the person faced away from the camera
    results: tuple[ResultRecord, ...] = field(default=())

    @property
    def started(self) -> datetime:
        """``started_at`` as an aware UTC datetime."""
        return parse_utc(self.started_at)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (used by ``history --json``)."""
        out = {k: getattr(self, k) for k in SESSION_KEYS}
        out["results"] = [
            {
                **{k: getattr(r, k) for k in RESULT_KEYS},
                "holds": [{k: getattr(h, k) for k in HOLD_FIELDS} for h in r.holds],
            }
            for r in self.results
        ]
        return out


SESSION_KEYS = (
    "id", "uid", "started_at", "kind", "input", "content_sha256", "stretch", "threshold_deg",
    "fps", "frames", "frames_with_pose", "duration_s", "interrupted", "app_version",
    "model_name", "model_sha256", "person", "image_width", "image_height", "view_yaw_deg",
)  # fmt: skip
RESULT_KEYS = ("stretch", "side", "threshold_deg", *RESULT_FIELDS)


@dataclass(frozen=True, slots=True)
class PersonSummary:
    """One person of the history: how many sessions and over which dates (UTC ISO text)."""

    name: str
    sessions: int
    first_started_at: str
    last_started_at: str


def clean_person(name: str | None) -> str:
    """A person's name as stored: surrounding spaces removed; None or empty = the default
    person. StoreError for names too long or with control characters."""
    text = (name or "").strip()
    if not text:
        return DEFAULT_PERSON
    if len(text) > MAX_PERSON_LEN:
        raise StoreError(f"The person name {text[:20]!r}... is longer than {MAX_PERSON_LEN} "
                         "characters.")  # fmt: skip
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise StoreError(f"The person name {text!r} contains control characters.")
    return text


def parse_utc(text: str) -> datetime:
    """Parse an ISO 8601 time (``Z`` or offset; naive = UTC) into an aware UTC datetime."""
    try:
        value = datetime.fromisoformat(text.strip())
    except (AttributeError, ValueError) as exc:
        raise StoreError(f"started_at {text!r} is not an ISO 8601 date-time.") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def local_time(value: datetime) -> datetime:
    """An aware datetime in the computer's local time zone (``$TZ`` or the system's)."""
    return value.astimezone()


def zone_label(values: Iterable[datetime] = ()) -> str:
    """The local zone's name(s) over ``values`` (e.g. ``CET/CEST``; now when empty), with
    the UTC offset when there is one zone: ``CET, UTC+01:00``."""
    local = [local_time(v) for v in values] or [datetime.now().astimezone()]
    names = sorted({v.tzname() or "local time" for v in local})
    if len(names) == 1:
        offset = local[0].strftime("%z")
        return f"{names[0]}, UTC{offset[:3]}:{offset[3:]}" if offset else names[0]
    return "/".join(names)


def format_utc(value: datetime) -> str:
    """An aware datetime as UTC ISO 8601 text ending in ``Z`` (seconds, or microseconds)."""
    spec = "microseconds" if value.microsecond else "seconds"
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec=spec) + "Z"
