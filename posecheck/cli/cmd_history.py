"""``posecheck history``: list stored sessions, newest first, as a table or JSON.

Per person: with ``--person`` (or ``$POSECHECK_PERSON``) that person's sessions; otherwise
one table per person, never one mixed list. One table row per session, stretch and side.
Angles in degrees (IR positive), times in seconds, dates in local time (zone named). Only
prints; queries go through :class:`posecheck.store.Store`.
"""

from __future__ import annotations

import argparse
import json

from posecheck.cli._store_args import (
    add_db_argument,
    add_person_argument,
    open_store,
    parse_date,
    person_from,
)
from posecheck.safe_text import printable
from posecheck.store import Store
from posecheck.store_records import SIDES, SessionRecord, local_time, zone_label
from posecheck.stretches import get_stretch, load_catalogue

COLUMNS = ("id", "date", "kind", "stretch", "side", "peak IR", "peak ER", "measured",
           "hold s", "holds", "source")  # fmt: skip
RIGHT_ALIGNED = {"id", "peak IR", "peak ER", "measured", "hold s", "holds"}
MAX_SOURCE = 40


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``history`` command."""
    parser = subparsers.add_parser(
        "history",
        help="list stored sessions",
        description="List stored sessions, newest first: peak internal (IR) and external (ER) "
        "rotation, the stretch's measured peak (degrees), total hold time (seconds).",
    )
    parser.add_argument("--stretch", metavar="NAME", help="only this stretch id")
    parser.add_argument("--side", choices=SIDES, help="only this side")
    parser.add_argument("--since", metavar="DATE", help="only sessions from DATE (YYYY-MM-DD, UTC)")
    parser.add_argument("--json", action="store_true", help="print a JSON list of sessions")
    add_person_argument(parser, "whose sessions to list; without it, one table per person")
    add_db_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the history."""
    since = parse_date(args.since) if args.since else None
    person = person_from(args)
    with open_store(args, readonly=True) as store:
        if args.stretch:
            _check_stretch(args.stretch, store)
        if person is not None:
            person = store.require_person(person)
        sessions = store.sessions(stretch=args.stretch, side=args.side, since=since,
                                  person=person)  # fmt: skip
    if args.json:
        print(json.dumps([s.to_dict() for s in sessions], indent=2))
    elif not sessions and (args.stretch or args.side or since):
        print(f"No sessions in the history ({store.path}) match.")
    elif not sessions:
        print(f"The history ({store.path}) is empty. Sessions are added by "
              "'posecheck analyse' and 'posecheck live'.")  # fmt: skip
    else:
        print(format_by_person(sessions))
    return 0


def _check_stretch(stretch_id: str, store: Store) -> None:
    """An unknown stretch id is an error (as everywhere): ConfigError listing the valid ids.

    Known: the catalogue's ids and any id stored in the history (a stretch from a user
    file that is no longer loaded can still be listed)."""
    catalogue = load_catalogue()
    if stretch_id in catalogue or store.sessions(stretch=stretch_id):
        return
    get_stretch(stretch_id, catalogue)  # raises, naming the valid stretches


def format_by_person(sessions: list[SessionRecord]) -> str:
    """One table per person (a heading line before each when there are several)."""
    people: dict[str, list[SessionRecord]] = {}
    for s in sessions:
        people.setdefault(s.person, []).append(s)
    if len(people) == 1:
        return format_table(sessions)
    return "\n\n".join(f"== {name} ({len(group)} session(s)) ==\n" + format_table(group)
                        for name, group in sorted(people.items(), key=lambda kv: kv[0].lower()))


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _rows(sessions: list[SessionRecord]) -> list[tuple[str, ...]]:
    rows = []
    for s in sessions:
        date = local_time(s.started).strftime("%Y-%m-%d %H:%M")
        kind = s.kind + ("*" if s.interrupted else "")
        source = printable(s.input or "-")
        if len(source) > MAX_SOURCE:
            source = "…" + source[-(MAX_SOURCE - 1) :]
        for r in s.results or ():
            rows.append((str(s.id), date, kind, printable(r.stretch), r.side,
                         _num(r.peak_internal_deg), _num(r.peak_external_deg),
                         _num(r.peak_measured_deg), _num(r.total_hold_s), str(len(r.holds)),
                         source))  # fmt: skip
        if not s.results:
            rows.append((str(s.id), date, kind, printable(s.stretch or "-"), "-", "-", "-",
                         "-", "-", "0", source))  # fmt: skip
    return rows


def format_table(sessions: list[SessionRecord]) -> str:
    """A plain-text table, one line per session x stretch x side."""
    rows = _rows(sessions)
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.rjust(w) if name in RIGHT_ALIGNED else cell.ljust(w)
            for cell, w, name in zip(cells, widths, COLUMNS, strict=True)
        ).rstrip()

    out = [line(COLUMNS), line(tuple("-" * w for w in widths)), *map(line, rows)]
    if any(s.interrupted for s in sessions):
        out.append("* interrupted (stopped early); its values cover the part recorded.")
    out.append("Angles in degrees (IR = internal, ER = external rotation); hold in seconds; "
               f"dates in local time ({zone_label(s.started for s in sessions)}).")
    return "\n".join(out)
