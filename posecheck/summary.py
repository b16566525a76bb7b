"""Complete a session summary with its metadata, and format it for people.

The measurement part comes from :meth:`posecheck.session.Session.summary`; this module adds
what the run was (docs/summary.md) and renders the short text printed at the end of a run.
Pure: standard library only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from posecheck import __version__

SCHEMA = 1
END_RANGE_DEG = 5.0  # "end range": time within this many degrees of a side's peak


def utc_now_iso() -> str:
    """The current UTC time as ISO 8601 with a Z (seconds)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def complete_summary(measured: dict[str, Any], *, kind: str, input: str,
                     content_sha256: str | None, started_at: str,
                     model: dict[str, str] | None, fps: float | None,
                     interrupted: bool = False, **extra: Any) -> dict[str, Any]:
    """The full summary.json dict: metadata first, then the session's measurements."""
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "posecheck_version": __version__,
        "kind": kind,
        "input": input,
        "content_sha256": content_sha256,
        "started_at": started_at,
        "model": model,
        "fps": fps,
        "interrupted": interrupted,
    }
    out.update(extra)
    out.update(measured)
    return out


def deg_text(value: float | None, signed: bool = False) -> str:
    """An angle for people: whole degrees with the sign when ``signed``, ``--`` for None."""
    if value is None:
        return "--"
    return f"{value:+.0f}°" if signed else f"{value:.0f}°"


def format_summary(summary: dict[str, Any], nothing: str | None = None) -> list[str]:
    """Short human-readable lines: per stretch and side, peaks, holds and hold time.
    ``nothing``: the line when nothing was measured (default: no suitable view)."""
    lines = []
    for sid, entry in summary.get("by_stretch", {}).items():
        for side, s in entry["sides"].items():
            holds = s.get("holds", [])
            if not s.get("frames_measured") and not holds:
                continue
            lines.append(
                f"{sid:<18} {side:<5}  peak IR {deg_text(s.get('peak_internal_deg'))}"
                f"  ER {deg_text(s.get('peak_external_deg'))}"
                f"  measured {deg_text(s.get('peak_measured_deg'))}"
                f"  holds {len(holds)}  held {s.get('total_hold_s', 0.0):.1f} s"
            )
    if not lines:
        lines.append(nothing or "nothing measured (no suitable view of the legs)")
    lines.extend(_neutral_lines(summary))
    return lines


def _neutral_lines(summary: dict[str, Any]) -> list[str]:
    """How much the neutral reference changed the rotation peaks (uncorrected vs corrected)."""
    parts = []
    for side, info in summary.get("neutral", {}).items():
        if not info.get("captured"):
            continue
        side_summary = summary.get("sides", {}).get(side, {})
        unc, corrected = side_summary.get("peak_rotation_uncorrected_deg"), side_summary.get(
            "peak_rotation_deg")
        change = f", peak {unc:+.0f}° uncorrected -> {corrected:+.0f}°" if (
            unc is not None and corrected is not None) else ""
        parts.append(f"{side} {info['offset_deg']:+.1f}°{change}")
    if not parts:
        return ["neutral reference: none taken (angles uncorrected)"]
    return ["neutral reference subtracted: " + "; ".join(parts)]
