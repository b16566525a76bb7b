"""A ``summary.json`` dict (``docs/summary.md``) checked and mapped to the history's rows:
one ``sessions`` row, one ``results`` row per stretch and side with its holds.

Every value is checked before anything is written: a bad one is a
:class:`~posecheck.errors.StoreError` naming it. Standard library only.
"""

from __future__ import annotations

import json
from typing import Any

from posecheck.errors import StoreError
from posecheck.store_records import SIDES, format_utc, parse_utc
from posecheck.store_schema import HOLD_FIELDS, RESULT_FIELDS

KINDS = ("video", "live", "landmarks")


def session_row(summary: dict[str, Any]) -> dict[str, Any]:
    """Validate the top level of a summary dict and map it to the sessions columns."""
    if not isinstance(summary, dict):
        raise StoreError(f"A session summary must be a JSON object, got {type(summary).__name__}.")
    if summary.get("schema") != 1:
        raise StoreError(f"Unsupported summary schema {summary.get('schema')!r} (expected 1).")
    kind = summary.get("kind")
    if kind not in KINDS:
        raise StoreError(f"Summary kind {kind!r} is not one of {', '.join(KINDS)}.")
    if "started_at" not in summary:
        raise StoreError("The summary has no 'started_at'.")
    model = summary.get("model") or {}
    if not isinstance(model, dict):
        raise StoreError("The summary's 'model' must be an object or null.")
    return {
        "started_at": format_utc(parse_utc(str(summary["started_at"]))),
        "kind": kind,
        "input": opt_str(summary.get("input")),
        "content_sha256": opt_str(summary.get("content_sha256")),
        "stretch": opt_str(summary.get("stretch")),
        "threshold_deg": opt_float(summary.get("threshold_deg")),
        "fps": opt_float(summary.get("fps")),
        "frames": opt_int(summary.get("frames")),
        "frames_with_pose": opt_int(summary.get("frames_with_pose")),
        "duration_s": opt_float(summary.get("duration_s")),
        "interrupted": int(bool(summary.get("interrupted", False))),
        "app_version": opt_str(summary.get("posecheck_version")),
        "model_name": opt_str(model.get("name")),
        "model_sha256": opt_str(model.get("sha256")),
        **_setup_columns(summary.get("setup")),
        "summary_json": _to_json(summary),
    }


def _setup_columns(setup: Any) -> dict[str, Any]:
    """The camera set-up of a summary (``"setup"``; absent in older summaries)."""
    if setup is None:
        setup = {}
    if not isinstance(setup, dict):
        raise StoreError("The summary's 'setup' must be an object or null.")
    return {
        "image_width": opt_int(setup.get("image_width")),
        "image_height": opt_int(setup.get("image_height")),
        "view_yaw_deg": opt_float(setup.get("view_yaw_deg")),
    }


def _to_json(summary: dict[str, Any]) -> str:
    try:
        return json.dumps(summary, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"The summary cannot be stored as JSON: {exc}.") from exc


def result_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per stretch x side from ``by_stretch`` (or ``sides`` when it is absent)."""
    by_stretch = summary.get("by_stretch")
    if by_stretch is None and summary.get("stretch") and summary.get("sides") is not None:
        by_stretch = {
            summary["stretch"]: {"threshold_deg": summary.get("threshold_deg"),
                                 "sides": summary["sides"]}
        }  # fmt: skip
    if not isinstance(by_stretch, dict):
        raise StoreError("The summary's 'by_stretch' must be an object of stretch results.")
    rows = []
    for stretch, entry in by_stretch.items():
        sides = entry.get("sides") if isinstance(entry, dict) else None
        if not isinstance(sides, dict):
            raise StoreError(f"by_stretch[{stretch!r}] has no 'sides' object.")
        for side, values in sides.items():
            if side not in SIDES or not isinstance(values, dict):
                raise StoreError(f"by_stretch[{stretch!r}].sides has a bad entry {side!r}.")
            rows.append(_result_row(str(stretch), side, entry.get("threshold_deg"), values))
    return rows


def _result_row(stretch: str, side: str, threshold: Any, values: dict[str, Any]) -> dict[str, Any]:
    row: dict[str, Any] = {"stretch": stretch, "side": side, "threshold_deg": opt_float(threshold)}
    for key in RESULT_FIELDS:
        row[key] = (
            opt_int(values.get(key)) if key == "frames_measured" else opt_float(values.get(key))
        )
    holds = values.get("holds") or []
    if not isinstance(holds, list) or not all(isinstance(h, dict) for h in holds):
        raise StoreError(f"The {side} holds of {stretch!r} must be a list of objects.")
    row["holds"] = [{k: opt_float(h.get(k)) for k in HOLD_FIELDS} for h in holds]
    return row


def opt_float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise StoreError(f"Expected a number, got {value!r}.")
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"Expected a number, got {value!r}.") from exc


def opt_int(value: Any) -> int | None:
    number = opt_float(value)
    return None if number is None else int(number)


def opt_str(value: Any) -> str | None:
    return None if value is None else str(value)
