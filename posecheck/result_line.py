"""The one line ``posecheck analyse`` prints per input: frames, peaks per side, holds, the
neutral taken and the output folder (or why the input failed).

API: ``result_line(result) -> str``. Degrees; rotation positive = internal rotation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from posecheck.analyse_input import InputResult
from posecheck.landmarks import SIDES
from posecheck.plots import measured_label
from posecheck.stretches import load_catalogue
from posecheck.summary import deg_text


def _neutral_text(summary: dict[str, Any]) -> str:
    """E.g. ``neutral L +2.1° at 2.0 s, R none`` (the offset subtracted, when it was taken)."""
    parts = []
    for side in SIDES:
        info = summary.get("neutral", {}).get(side, {})
        if info.get("captured") and info.get("t") is not None:
            parts.append(f"{side[0].upper()} {info['offset_deg']:+.1f}\u00b0 at {info['t']:.1f} s")
        else:
            parts.append(f"{side[0].upper()} none")
    return "neutral " + ", ".join(parts)


def _without_name(error: str | None, path: Path) -> str:
    """An error message without the file name it starts with (the line names it once)."""
    text = error or "failed"
    for prefix in (f"{path}: ", f"{path.name}: ", f"{path}", f"{path.name}"):
        if text.startswith(prefix) and len(text) > len(prefix):
            return text[len(prefix):].lstrip(":, ")
    return text


def result_line(result: InputResult) -> str:
    """One line per input: frames, person frames, peak IR/ER per side, holds, output folder.

    E.g. ``cam01.mp4: 100 frames, person in 100; L peak IR 12°/ER 5°, R peak IR 3°/ER 8°;
    0 holds; neutral L +2.1° at 2.0 s, R none -> posecheck-out/cam01/``; a failed input
    gives ``name: error: <why>``.
    """
    name = result.input.name
    s = result.summary
    if s is None:
        return f"{name}: error: {_without_name(result.error, result.input)}"
    stretch = load_catalogue().get(s.get("stretch") or "")
    sides = []
    for side in SIDES:
        d = s["sides"][side]
        if stretch is not None and stretch.measure != "rotation_deg":  # e.g. deep-glute
            sides.append(f"{side[0].upper()} peak {measured_label(stretch).removeprefix('hip ')}"
                         f" {deg_text(d.get('peak_measured_deg'))}")
            continue
        sides.append(f"{side[0].upper()} peak IR {deg_text(d.get('peak_internal_deg'))}"
                     f"/ER {deg_text(d.get('peak_external_deg'))}")
    holds = sum(len(s["sides"][side]["holds"]) for side in SIDES)
    line = (f"{name}: {s['frames']} frames, person in {s['frames_with_pose']}; "
            f"{', '.join(sides)}; {holds} hold{'s' if holds != 1 else ''}; "
            f"{_neutral_text(s)} -> {result.out_dir}{os.sep}")
    camera = (s.get("setup") or {}).get("camera_message")
    if camera:
        line += f" (set-up: {camera})"
    if result.note:
        line += f" (note: {result.note})"
    if result.error:
        line += f" (error: {result.error})"
    return line
