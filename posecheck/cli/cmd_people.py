"""``posecheck people``: who is in the history (session counts, date ranges); ``--rename``.

Only prints; the queries and the rename are :class:`posecheck.store.Store` methods. Dates are
shown in the computer's local time zone, named in the header.
"""

from __future__ import annotations

import argparse

from posecheck.cli._store_args import add_db_argument, open_store
from posecheck.store_records import (
    PERSON_ENV_VAR,
    PersonSummary,
    local_time,
    parse_utc,
    zone_label,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``people`` command."""
    parser = subparsers.add_parser(
        "people",
        help="list the people in the history, or rename one",
        description="List everyone with sessions in the history: number of sessions, first "
        "and latest session. Sessions are stored for a person with --person NAME (or "
        f"${PERSON_ENV_VAR}) on live, analyse and import.",
    )
    parser.add_argument("--rename", nargs=2, metavar=("OLD", "NEW"),
                        help="give all sessions of OLD to NEW (NEW must not have sessions yet)")
    add_db_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the people, or rename one."""
    with open_store(args, readonly=not args.rename) as store:
        if args.rename:
            old, new = args.rename
            stored = store.require_person(old)
            count = store.rename_person(old, new)
            print(f"Renamed {stored!r} to {new.strip()!r} ({count} session(s)).")
            return 0
        people = store.people()
    if not people:
        print("The history is empty: nobody has sessions yet.")
        return 0
    print(format_people(people))
    return 0


def local_date(utc_text: str) -> str:
    """A stored UTC time as a local date (YYYY-MM-DD)."""
    return local_time(parse_utc(utc_text)).strftime("%Y-%m-%d")


def format_people(people: list[PersonSummary]) -> str:
    """A plain-text table: person, sessions, first and latest session date (local)."""
    times = [parse_utc(t) for p in people for t in (p.first_started_at, p.last_started_at)]
    zone = zone_label(times)
    head = ("person", "sessions", "first session", "latest session")
    rows = [(p.name, str(p.sessions), local_date(p.first_started_at),
             local_date(p.last_started_at)) for p in people]  # fmt: skip
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    lines = [head, tuple("-" * w for w in widths), *rows]
    return f"Dates in local time ({zone}).\n" + "\n".join(
        "  ".join(c.rjust(w) if i == 1 else c.ljust(w)
                  for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()
        for cells in lines
    )  # fmt: skip
