"""``posecheck stretches``: list the stretch catalogue with its instructions.

Reads the built-in catalogue plus the user's file (``--file`` or ``$POSECHECK_STRETCHES``).
Light: imports only posecheck.stretches (no mediapipe, cv2 or matplotlib).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from posecheck.stretches import ENV_VAR, Stretch, get_stretch, load_catalogue

_MEASURE_WORDS = {
    "rotation_deg": ("hip rotation", {1: "internal rotation", -1: "external rotation"}),
    "hip_abduction_deg": ("hip abduction", {1: "abduction", -1: "adduction"}),
    "hip_flexion_deg": ("hip flexion", {1: "flexion", -1: "extension"}),
    "knee_flexion_deg": ("knee flexion", {1: "flexion", -1: "extension"}),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``stretches`` command."""
    parser = subparsers.add_parser(
        "stretches", help="list the stretches with their instructions",
        description="List the stretches of the routine: instructions, camera placement, the "
        "angle measured, the entry threshold and the hold target. Your own TOML file "
        f"(--file or ${ENV_VAR}) can add stretches or change these.",
    )
    parser.add_argument("stretch", nargs="?", help="show only this stretch id")
    parser.add_argument("--json", action="store_true", help="print JSON for machines")
    parser.add_argument("--file", type=Path, metavar="TOML",
                        help=f"user stretch file layered on the built-in one (default ${ENV_VAR})")
    parser.set_defaults(func=run)


def describe_measure(stretch: Stretch) -> str:
    """The angle measured, named in the stretch's direction, in plain words: e.g. "hip
    rotation, deeper = more external rotation", "hip adduction, deeper = more adduction"."""
    name, directions = _MEASURE_WORDS.get(stretch.measure, (stretch.measure, {}))
    deeper = directions.get(stretch.direction, "larger" if stretch.direction > 0 else "smaller")
    if stretch.measure != "rotation_deg" and stretch.direction < 0:
        name = f"{name.split()[0]} {deeper}"  # "hip adduction", not "hip abduction"
    return f"{name}, deeper = more {deeper}"


def _paragraph(label: str, text: str) -> list[str]:
    wrapped = textwrap.wrap(" ".join(text.split()), width=78, initial_indent=f"  {label:<11}",
                            subsequent_indent=" " * 13)
    return wrapped or [f"  {label}"]


def format_stretch(stretch: Stretch) -> str:
    """A readable block for one stretch."""
    lines = [f"{stretch.id} — {stretch.name}"]
    lines += _paragraph("Do:", stretch.instructions)
    lines += _paragraph("Camera:", f"{stretch.camera} (view: {stretch.view})")
    lines += _paragraph("Measures:", describe_measure(stretch))
    lines += _paragraph("Hold:", f"starts at {stretch.threshold_deg:g}° (continues down to "
                        f"{stretch.exit_deg:g}°), target {stretch.hold_target_s:g} s")
    if stretch.neutral:
        lines += _paragraph("Neutral:", stretch.neutral)
    if stretch.notes:
        lines += _paragraph("Why:", stretch.notes)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Print the catalogue (or one stretch) as text or JSON."""
    catalogue = load_catalogue(args.file)
    chosen = [get_stretch(args.stretch, catalogue)] if args.stretch else list(catalogue.values())
    if args.json:
        payload = [{**s.to_dict(), "exit_deg": s.exit_deg} for s in chosen]
        json.dump(payload, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    print("\n\n".join(format_stretch(s) for s in chosen))
    return 0
