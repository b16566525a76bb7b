"""Move a history between computers: every session as CSV rows (one per stretch and side,
the holds as JSON in one cell), and back, never storing a session twice (by its uid).

Standard library only; works on an open :class:`posecheck.store.Store`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from posecheck.csv_rules import check_row, export_row
from posecheck.errors import StoreError
from posecheck.store_records import RESULT_KEYS, ResultRecord, clean_person
from posecheck.store_rows import opt_float, opt_int, result_rows, session_row
from posecheck.store_schema import HOLD_FIELDS, RESULT_FIELDS

if TYPE_CHECKING:
    from posecheck.store import Store

CSV_SESSION_COLUMNS = (
    "session_uid", "started_at", "kind", "input", "content_sha256", "session_stretch",
    "session_threshold_deg", "fps", "frames", "frames_with_pose", "duration_s", "interrupted",
    "app_version", "model_name", "model_sha256", "person", "image_width", "image_height",
    "view_yaw_deg",
)  # fmt: skip
CSV_COLUMNS = (*CSV_SESSION_COLUMNS, "stretch", "side", "threshold_deg", *RESULT_FIELDS, "holds")
# Columns added with schema 3: an export of an older posecheck lacks them (read as empty).
CSV_OPTIONAL_COLUMNS = frozenset({"person", "image_width", "image_height", "view_yaw_deg",
                                  "end_range_s"})  # fmt: skip
_SESSION_ATTR = {"session_uid": "uid", "session_stretch": "stretch",
                 "session_threshold_deg": "threshold_deg"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What :func:`import_csv` did."""

    added: int
    skipped: int


def export_csv(store: Store, fh: Any, *, person: str | None = None) -> int:
    """Write every session (or only ``person``'s), oldest first, one row per stretch x side
    (holds as JSON); returns the number of sessions. Import of this file reproduces it."""
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    sessions = store.sessions(newest_first=False, person=person)
    for session in sessions:
        head = [_cell(getattr(session, _SESSION_ATTR.get(c, c))) for c in CSV_SESSION_COLUMNS]
        for result in session.results or (None,):
            writer.writerow(export_row(CSV_COLUMNS, head + _result_cells(result)))
    return len(sessions)


def _result_cells(result: ResultRecord | None) -> list[str]:
    if result is None:
        return [""] * (len(CSV_COLUMNS) - len(CSV_SESSION_COLUMNS))
    holds = [{k: getattr(h, k) for k in HOLD_FIELDS} for h in result.holds]
    cells = [_cell(getattr(result, k)) for k in RESULT_KEYS]
    return [*cells, json.dumps(holds, separators=(",", ":"))]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def import_csv(store: Store, fh: Iterable[str], *, person: str | None = None) -> ImportResult:
    """Add the sessions of an exported CSV, skipping those already stored (same uid, or
    same input, stretch and threshold as a session stored before this import). ``person``
    assigns every imported session to that person (else the CSV's ``person`` column, else
    the default person). The whole file is validated before anything is written."""
    if person is not None:
        clean_person(person)
    summaries = _summaries_from_csv(fh)
    before = store.max_id()
    added = skipped = 0
    for uid, summary in summaries:
        if store.has_uid(uid) or store.find_duplicate(summary, max_id=before) is not None:
            skipped += 1
            continue
        store.add_session(summary, force=True, uid=uid, person=person)
        added += 1
    return ImportResult(added, skipped)


def _summaries_from_csv(fh: Iterable[str]) -> list[tuple[str, dict[str, Any]]]:
    reader = csv.DictReader(fh)
    missing = set(CSV_COLUMNS) - set(reader.fieldnames or ()) - CSV_OPTIONAL_COLUMNS
    if missing:
        raise StoreError(f"The CSV is not a posecheck export: missing columns {sorted(missing)}.")
    grouped: dict[str, dict[str, Any]] = {}
    heads: dict[str, list[str]] = {}
    try:
        for line, raw in enumerate(reader, start=2):
            row = check_row(raw, line)  # ranges, types, formulas; text cells unescaped
            row = {c: row.get(c) or "" for c in CSV_COLUMNS}
            uid = row["session_uid"]
            if not uid:
                raise StoreError(f"CSV line {line}: empty session_uid.")
            head = [row[c] for c in CSV_SESSION_COLUMNS]
            if heads.setdefault(uid, head) != head:
                raise StoreError(f"CSV line {line}: session {uid} differs from its earlier rows.")
            summary = grouped.setdefault(uid, _summary_from_row(row))
            if row["stretch"]:
                _add_csv_result(summary, row, line)
    except csv.Error as exc:
        raise StoreError(f"The CSV cannot be read (line {reader.line_num}): {exc}; nothing "
                         "was imported.") from exc
    for summary in grouped.values():
        session_row(summary)  # validate everything before writing
        result_rows(summary)
    return list(grouped.items())


def _summary_from_row(row: dict[str, str]) -> dict[str, Any]:
    model = None
    if row["model_name"] or row["model_sha256"]:
        model = {"name": row["model_name"] or None, "sha256": row["model_sha256"] or None}
    return {
        "schema": 1,
        "posecheck_version": row["app_version"] or None,
        "kind": row["kind"],
        "input": row["input"] or None,
        "content_sha256": row["content_sha256"] or None,
        "started_at": row["started_at"],
        "model": model,
        "fps": opt_float(row["fps"]),
        "frames": opt_int(row["frames"]),
        "frames_with_pose": opt_int(row["frames_with_pose"]),
        "duration_s": opt_float(row["duration_s"]),
        "interrupted": row["interrupted"] == "true",
        "stretch": row["session_stretch"] or None,
        "threshold_deg": opt_float(row["session_threshold_deg"]),
        "person": row["person"] or None,
        "setup": {k: row[k] or None for k in ("image_width", "image_height", "view_yaw_deg")},
        "by_stretch": {},
    }


def _add_csv_result(summary: dict[str, Any], row: dict[str, str], line: int) -> None:
    try:
        holds = json.loads(row["holds"] or "[]")
    except json.JSONDecodeError as exc:
        raise StoreError(f"CSV line {line}: the holds column is not JSON ({exc.msg}).") from exc
    side: dict[str, Any] = {k: opt_float(row[k]) for k in RESULT_FIELDS}
    side["frames_measured"] = opt_int(row["frames_measured"])
    side["holds"] = holds
    entry = summary["by_stretch"].setdefault(
        row["stretch"], {"threshold_deg": opt_float(row["threshold_deg"]), "sides": {}}
    )
    entry["sides"][row["side"]] = side
    if summary["stretch"] == row["stretch"]:
        summary["sides"] = entry["sides"]
