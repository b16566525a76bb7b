"""A physiotherapist's history: three clients, a few sessions each over weeks.

``make_clinic(path)`` writes it with :class:`posecheck.store.Store` (summary dicts as in
docs/summary.md) and returns the summaries' facts the tests check against:

* **Anna Berg**: five weekly sessions measuring both rotation stretches on both sides in one
  video each; right IR 22 -> 34°, left IR 14 -> 18° (the left lags), same camera set-up.
* **Ben Okafor**: internal rotation, one side per session on different days (left on
  Mondays, right on Thursdays), so no session has both sides; in week 3 the camera moved
  (he faced it 24° differently).
* **Chris Lee**: three external-rotation sessions on one afternoon.

Run as a script to write ``clinic.sqlite3`` and the three reports into a folder::

    python tests/clinic.py OUT_DIR
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from posecheck.store import Store

MONDAY = datetime(2026, 10, 5, 16, 0, tzinfo=UTC)


def side(peak: float, hold_s: float, *, direction: int = 1, gain: float = 2.0,
         end_range_s: float | None = None) -> dict[str, Any]:  # fmt: skip
    """One SIDE dict: two holds, the second ``gain`` degrees deeper (its peak = ``peak``)."""
    holds = [
        {"start_s": 4.0, "end_s": 4.0 + hold_s / 2, "duration_s": hold_s / 2,
         "peak_deg": peak - gain, "mean_deg": peak - gain - 3.0},
        {"start_s": 60.0, "end_s": 60.0 + hold_s / 2, "duration_s": hold_s / 2,
         "peak_deg": peak, "mean_deg": peak - 3.0},
    ]  # fmt: skip
    return {
        "peak_rotation_deg": direction * peak, "peak_internal_deg": max(direction * peak, 0.0),
        "peak_external_deg": max(-direction * peak, 0.0), "peak_measured_deg": peak,
        "total_hold_s": hold_s, "time_in_target_s": hold_s + 2.0, "mean_confidence": 0.85,
        "frames_measured": 2400, "neutral_offset_deg": 1.5,
        "end_range_s": end_range_s if end_range_s is not None else round(hold_s * 0.35, 1),
        "holds": holds,
    }  # fmt: skip


def summary(when: datetime, by_stretch: dict[str, dict[str, Any]], *, name: str,
            yaw: float = 2.0, size: tuple[int, int] = (1280, 720)) -> dict[str, Any]:  # fmt: skip
    """A video summary.json dict with the given per-stretch sides."""
    single = len(by_stretch) == 1
    stretch = next(iter(by_stretch)) if single else None
    thresholds = {"internal-rotation": 20.0, "external-rotation": 25.0}
    entries = {sid: {"threshold_deg": thresholds.get(sid, 15.0), "sides": sides}
               for sid, sides in by_stretch.items()}  # fmt: skip
    return {
        "schema": 1, "posecheck_version": "0.1.0", "kind": "video",
        "input": f"/home/physio/clips/{name}.mp4", "content_sha256": f"{name:0>64}"[-64:],
        "started_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "model": {"name": "pose_landmarker_full.task", "sha256": "ab" * 32},
        "fps": 30.0, "frames": 2700, "frames_with_pose": 2690, "duration_s": 90.0,
        "interrupted": False, "stretch": stretch,
        "threshold_deg": entries[stretch]["threshold_deg"] if stretch else None,
        "sides": entries[stretch]["sides"] if stretch else entries["internal-rotation"]["sides"],
        "by_stretch": entries,
        "setup": {"image_width": size[0], "image_height": size[1], "view_yaw_deg": yaw},
    }  # fmt: skip


def anna() -> list[dict[str, Any]]:
    out = []
    for week in range(5):
        when = MONDAY + timedelta(days=7 * week, hours=1)
        out.append(summary(when, {
            "internal-rotation": {"left": side(14.0 + week, 20 + 3 * week),
                                  "right": side(22.0 + 3 * week, 25 + 4 * week)},
            "external-rotation": {"left": side(31.0 + 0.5 * week, 30, direction=-1),
                                  "right": side(35.0 + week, 30, direction=-1)},
        }, name=f"anna_week{week + 1}", yaw=3.0 + (week % 2)))  # fmt: skip
    return out


def ben() -> list[dict[str, Any]]:
    out = []
    for week in range(4):
        yaw = 1.0 if week < 2 else 25.0  # the camera moved in week 3
        left = MONDAY + timedelta(days=7 * week, hours=3)
        right = left + timedelta(days=3)
        out.append(summary(left, {"internal-rotation": {"left": side(27.0 + week, 30)}},
                           name=f"ben_left_{week + 1}", yaw=yaw))  # fmt: skip
        out.append(summary(right, {"internal-rotation": {"right": side(36.0 + 0.5 * week, 35)}},
                           name=f"ben_right_{week + 1}", yaw=yaw))  # fmt: skip
    return out


def chris() -> list[dict[str, Any]]:
    start = MONDAY + timedelta(days=16, hours=-2)
    return [summary(start + timedelta(minutes=40 * i),
                    {"external-rotation": {"left": side(38.0 + i, 28, direction=-1),
                                           "right": side(40.0 + 0.5 * i, 30, direction=-1)}},
                    name=f"chris_{i + 1}") for i in range(3)]  # fmt: skip


CLIENTS = {"Anna Berg": anna, "Ben Okafor": ben, "Chris Lee": chris}


def make_clinic(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Write the three clients' sessions to a new history at ``path``."""
    made = {}
    with Store.open(path) as store:
        for person, build in CLIENTS.items():
            made[person] = build()
            for s in made[person]:
                store.add_session(s, person=person)
    return made


if __name__ == "__main__":
    from posecheck.cli import main

    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    db = out / "clinic.sqlite3"
    db.unlink(missing_ok=True)
    make_clinic(db)
    for person in CLIENTS:
        slug = person.split()[0].lower()
        main(["report", "--db", str(db), "--person", person, "--out", str(out / f"{slug}.html")])
