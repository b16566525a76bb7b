"""CLI tests of people: --person and $POSECHECK_PERSON on history, report, export, import and
forget; ``posecheck people`` and ``--rename``; a report never mixes people."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from test_cli_history import assert_one_error_line, run_cli
from test_store import START, make_summary

from posecheck.store import DEFAULT_PERSON, PERSON_ENV_VAR, Store

pytestmark = pytest.mark.usefixtures("berlin_time")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """Anna: 3 IR sessions over two weeks (right 21.5 -> 33.5); Ben: 2 sessions (right 47.25)."""
    path = tmp_path / "h.sqlite3"
    with Store.open(path) as store:
        for week, right in enumerate((21.5, 27.5, 33.5)):
            when = START + timedelta(days=7 * week)
            store.add_session(make_summary(right=right, started_at=when, content=f"a{week}",
                                           input_name=f"clips/anna_{week}.mp4"), person="Anna")
        for day in (0, 3):
            store.add_session(make_summary(right=47.25, left=41.75, content=f"b{day}",
                                           started_at=START + timedelta(days=day, hours=2),
                                           input_name=f"clips/ben_{day}.mp4"), person="Ben")
    return path


def test_people_lists_counts_and_local_date_ranges(db: Path, capsys: pytest.CaptureFixture[str]
                                                   ) -> None:  # fmt: skip
    code, out, _ = run_cli(["people", "--db", str(db)], capsys)
    assert code == 0
    assert "Dates in local time (CEST, UTC+02:00)" in out
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[3:]}
    assert rows["Anna"] == ["3", "2026-10-01", "2026-10-15"]
    assert rows["Ben"] == ["2", "2026-10-01", "2026-10-04"]


def test_rename_then_refuse_merging_into_someone_else(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(["people", "--db", str(db), "--rename", "anna", "Anna Berg"], capsys)
    assert code == 0 and "3 session(s)" in out
    code, _, err = run_cli(["people", "--db", str(db), "--rename", "Ben", "anna berg"], capsys)
    assert_one_error_line(code, err, "already has sessions")
    code, _, err = run_cli(["people", "--db", str(db), "--rename", "Carl", "X"], capsys)
    assert_one_error_line(code, err, "people: Anna Berg, Ben")


def test_history_is_per_person(db: Path, capsys: pytest.CaptureFixture[str],
                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    code, out, _ = run_cli(["history", "--db", str(db), "--person", "ben"], capsys)
    assert code == 0 and "ben_0.mp4" in out and "anna" not in out.lower()
    monkeypatch.setenv(PERSON_ENV_VAR, "Anna")
    code, out, _ = run_cli(["history", "--db", str(db)], capsys)
    assert code == 0 and "anna_2.mp4" in out and "ben" not in out.lower()
    monkeypatch.delenv(PERSON_ENV_VAR)
    code, out, _ = run_cli(["history", "--db", str(db)], capsys)
    assert "== Anna (3 session(s)) ==" in out and "== Ben (2 session(s)) ==" in out
    # local time: 18:30 UTC on 1 October is 20:30 in Berlin
    assert "2026-10-01 20:30" in out
    code, _, err = run_cli(["history", "--db", str(db), "--person", "Carl"], capsys)
    assert_one_error_line(code, err, "No sessions of 'Carl'")


def test_report_without_person_is_refused_listing_people(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "r.html"
    code, _, err = run_cli(["report", "--db", str(db), "--out", str(out_file)], capsys)
    assert_one_error_line(code, err, "Anna (3 session(s)), Ben (2 session(s))")
    assert not out_file.exists()


def test_report_for_one_person_has_nothing_of_the_other(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file = tmp_path / "anna.html"
    code, _, _ = run_cli(["report", "--db", str(db), "--person", "anna", "--out", str(out_file)],
                         capsys)  # fmt: skip
    assert code == 0
    page = out_file.read_text(encoding="utf-8")
    assert "Anna" in page and "anna_0.mp4" in page and "33.5" in page
    for of_ben in ("Ben", "ben_0", "ben_3", "47.2", "41.8", "41.7"):
        assert of_ben not in page, of_ben


def test_export_and_forget_one_person(db: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    csv_file = tmp_path / "ben.csv"
    code, out, _ = run_cli(["export", "--db", str(db), "--person", "Ben", "--csv", str(csv_file)],
                           capsys)  # fmt: skip
    assert code == 0 and "Exported 2 session(s)" in out
    assert "anna" not in csv_file.read_text(encoding="utf-8").lower()
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # not a terminal: the answer is no
    code, _, err = run_cli(["forget", "--db", str(db), "--person", "Ben"], capsys)
    assert code == 1 and "Not deleted: all 2 session(s) of Ben" in err
    code, _, err = run_cli(["forget", "--db", str(db), "--session", "1", "--person", "Ben"],
                           capsys)  # fmt: skip
    assert_one_error_line(code, err, "is not 'Ben''s")
    code, out, _ = run_cli(["forget", "--db", str(db), "--person", "ben", "--yes"], capsys)
    assert code == 0 and "Deleted 2 session(s) of Ben" in out
    with Store.open(db) as store:
        assert [p.name for p in store.people()] == ["Anna"]
    code, _, err = run_cli(["forget", "--db", str(db)], capsys)
    assert_one_error_line(code, err, "--session ID or --person NAME")
    # import under a new name; the CSV's own person column otherwise
    code, out, _ = run_cli(["import", "--db", str(db), "--csv", str(csv_file)], capsys)
    assert code == 0 and "Imported 2" in out
    with Store.open(db) as store:
        assert [p.name for p in store.people()] == ["Anna", "Ben"]


def test_default_person_when_none_given(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:  # fmt: skip
    path = tmp_path / "h.sqlite3"
    with Store.open(path) as store:
        store.add_session(make_summary())
    code, out, _ = run_cli(["people", "--db", str(path)], capsys)
    assert code == 0 and out.splitlines()[3].split()[:2] == [DEFAULT_PERSON, "1"]
    code, _, _ = run_cli(["report", "--db", str(path), "--out", str(tmp_path / "r.html")],
                         capsys)  # fmt: skip
    assert code == 0


def test_live_stores_for_the_person_given(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from posecheck.cli import build_parser, cmd_live

    monkeypatch.setenv(PERSON_ENV_VAR, "Dora")
    args = build_parser().parse_args(["live", "--headless"])
    assert args.person is None  # the flag's default; $POSECHECK_PERSON is read at run time
    cmd_live._store(make_summary(kind="live"), str(tmp_path / "h.sqlite3"), "Dora", tmp_path)
    assert "for Dora" in capsys.readouterr().err
    with Store.open(tmp_path / "h.sqlite3") as store:
        assert [p.name for p in store.people()] == ["Dora"]


def test_report_each_person_writes_one_page_per_person(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "reports"
    code, out, _ = run_cli(["report", "--db", str(db), "--each-person", str(folder)], capsys)
    assert code == 0 and "Anna, 3 session(s)" in out and "Ben, 2 session(s)" in out
    anna, ben = (folder / "anna.html").read_text("utf-8"), (folder / "ben.html").read_text("utf-8")
    assert "anna_0.mp4" in anna and "ben_" not in anna and "Ben" not in anna
    assert "ben_0.mp4" in ben and "anna" not in ben.lower()
    code, _, err = run_cli(["report", "--db", str(db), "--each-person", str(folder),
                            "--person", "Ben"], capsys)  # fmt: skip
    assert_one_error_line(code, err, "--each-person")
