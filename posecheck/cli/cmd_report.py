"""``posecheck report``: a self-contained HTML progress report (and/or the trend PNGs).

Only prints and writes files; the content comes from :mod:`posecheck.report`, which is
imported inside :func:`run` (it loads matplotlib).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from posecheck.cli._store_args import add_db_argument, add_person_argument, open_store, person_from
from posecheck.errors import ConfigError, StoreError
from posecheck.guard import db_files, refuse_overwrite
from posecheck.store import Store, resolve_db_path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` command."""
    parser = subparsers.add_parser(
        "report",
        help="write an HTML progress report",
        description="Write a self-contained HTML page with, per stretch and side, the trend "
        "of peak angle and hold time, left-right asymmetry, and whether changes exceed the "
        "measurement noise (MDC95).",
    )
    parser.add_argument(
        "--out", metavar="FILE", default=None,
        help="HTML file to write (default: report.html; none when only --png is given)",
    )  # fmt: skip
    parser.add_argument("--png", metavar="DIR_OR_FILE", default=None,
                        help="also write the trend plots: one PNG per stretch into DIR, or all "
                        "in one FILE ending in .png")  # fmt: skip
    add_person_argument(parser, "whose progress to report; needed when the history has "
                        "several people")
    parser.add_argument("--each-person", metavar="DIR", default=None,
                        help="instead: one report per person, DIR/<name>.html")
    add_db_argument(parser)
    parser.set_defaults(func=run)


def choose_person(store: Store, wanted: str | None) -> str | None:
    """The one person a report is about: ``wanted`` (as stored), the only person there is,
    or None for an empty history. ConfigError listing everyone when several people have
    sessions and none was chosen: one report never mixes people."""
    if wanted is not None:
        return store.require_person(wanted)
    people = store.people()
    if len(people) <= 1:
        return people[0].name if people else None
    listing = ", ".join(f"{p.name} ({p.sessions} session(s))" for p in people)
    raise ConfigError(f"The history has {len(people)} people: {listing}. A report covers one "
                      "person: add --person NAME.")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Write the report and/or the plots."""
    from posecheck.outputs import atomic_write_text
    from posecheck.report_html import render_html
    from posecheck.report_plots import write_pngs

    if args.each_person is not None:
        return _each_person(args)
    out = Path(args.out) if args.out else (None if args.png else Path("report.html"))
    protected = db_files(resolve_db_path(args.db))
    png = Path(args.png) if args.png else None
    # a folder gets trend_<stretch>.png files, never the history's name
    refuse_overwrite([out, png if png is not None and png.suffix.lower() == ".png" else None],
                     protected)
    with open_store(args, readonly=True) as store:
        person = choose_person(store, person_from(args))
        sessions = store.sessions(person=person) if person is not None else []
        source = str(store.path)
    names = _stretch_names()
    if not sessions:
        print(f"The history ({source}) is empty: the report says so. Record a session with "
              "'posecheck live' or 'posecheck analyse'.")  # fmt: skip
    try:
        if out is not None:
            atomic_write_text(out, render_html(sessions, person=person, stretch_names=names))
            print(f"Wrote {out} ({len(sessions)} session(s)).")
        if args.png:
            for path in write_pngs(sessions, Path(args.png)):
                print(f"Wrote {path}")
    except OSError as exc:
        raise StoreError(f"Cannot write the report: {exc.strerror} ({exc.filename}).") from exc
    return 0


def _stretch_names() -> dict[str, str]:
    """Stretch id -> name from the catalogue (ids alone when a user catalogue is broken)."""
    from posecheck.errors import PosecheckError
    from posecheck.stretches import load_catalogue

    try:
        return {sid: st.name for sid, st in load_catalogue().items()}
    except PosecheckError:
        return {}


def _each_person(args: argparse.Namespace) -> int:
    """One report per person into a folder (file names from the names, made file-safe)."""
    from posecheck.outputs import atomic_write_text
    from posecheck.report_html import render_html

    if args.out or args.png or person_from(args):
        raise ConfigError("--each-person writes every person's report: use it without --out, "
                          "--png and --person.")  # fmt: skip
    folder = Path(args.each_person)
    with open_store(args, readonly=True) as store:
        people = [p.name for p in store.people()]
        files = _file_names(people, folder)
        refuse_overwrite(list(files.values()), db_files(store.path))
        pages = {p: store.sessions(person=p) for p in people}
    if not people:
        print("The history is empty: nobody to report on.")
        return 0
    names = _stretch_names()
    try:
        for person, path in files.items():
            atomic_write_text(path, render_html(pages[person], person=person,
                                                stretch_names=names))  # fmt: skip
            print(f"Wrote {path} ({person}, {len(pages[person])} session(s)).")
    except OSError as exc:
        raise StoreError(f"Cannot write the report: {exc.strerror} ({exc.filename}).") from exc
    return 0


def _file_names(people: list[str], folder: Path) -> dict[str, Path]:
    """person -> folder/<slug>.html, with -2, -3 ... when two names make the same slug."""
    from posecheck.report_plots import slug

    out: dict[str, Path] = {}
    used: set[str] = set()
    for person in people:
        base = slug(person).lower()
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}-{n}"
        used.add(name)
        out[person] = folder / f"{name}.html"
    return out
