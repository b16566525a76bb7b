"""CLI tests of history, report, export, import and forget: help text, output, and bad
inputs that must give one ``Error:`` line and a non-zero exit, never a traceback."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from test_store import START, make_history, make_summary

from posecheck.cli import main
from posecheck.store import Store

COMMANDS = ("history", "report", "export", "import", "forget", "people")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "h.sqlite3"
    with Store.open(path) as store:
        for summary in make_history(weeks=3):
            store.add_session(summary)
        early = START - timedelta(days=1)
        store.add_session(make_summary(kind="live", interrupted=True, started_at=early))
    return path


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code: int, err: str, fragment: str) -> None:
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and fragment in lines[0], err
    assert "Traceback" not in err


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exc.value.code == 0
    assert f"posecheck {command}" in out and "--db" in out and len(out.splitlines()) > 4


def test_history_table_newest_first(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["history", "--db", str(db)], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["id", "date", "kind"]
    ids = [int(line.split()[0]) for line in lines[2:] if line.split()[0].isdigit()]
    assert ids[:2] == [6, 6] and ids[-2:] == [7, 7]  # the live session started first
    assert "live*" in out and "interrupted" in out


def test_history_filters_and_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--json", "--side", "right", "--stretch", "internal-rotation", "--since", "2026-10-05"]
    code, out, _ = run_cli(["history", "--db", str(db), *args], capsys)
    data = json.loads(out)
    assert code == 0 and [s["id"] for s in data] == [5, 3]
    assert all(len(s["results"]) == 1 and s["results"][0]["side"] == "right" for s in data)
    assert data[0]["results"][0]["peak_measured_deg"] == pytest.approx(31.0)
    assert len(data[0]["results"][0]["holds"]) == 2


def test_history_empty_and_no_match(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["history", "--db", str(tmp_path / "new.sqlite3")], capsys)
    assert code == 0 and "is empty" in out
    code, out, _ = run_cli(["history", "--db", str(tmp_path / "new.sqlite3"), "--json"], capsys)
    assert code == 0 and json.loads(out) == []


def test_db_from_environment(db: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("POSECHECK_DB", str(db))
    code, out, _ = run_cli(["history", "--json"], capsys)
    assert code == 0 and len(json.loads(out)) == 7


def test_report_writes_html_and_pngs(db: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out_html, png_dir = tmp_path / "r" / "report.html", tmp_path / "plots"
    code, out, _ = run_cli(["report", "--db", str(db), "--out", str(out_html),
                            "--png", str(png_dir)], capsys)  # fmt: skip
    assert code == 0 and "Wrote" in out
    assert "Hip rotation progress" in out_html.read_text(encoding="utf-8")
    assert len(list(png_dir.glob("trend_*.png"))) == 2


def test_report_on_empty_history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "report.html"
    code, out, _ = run_cli(["report", "--db", str(tmp_path / "e.sqlite3"), "--out", str(page)],
                           capsys)  # fmt: skip
    assert code == 0 and "empty" in out
    assert "No sessions yet" in page.read_text(encoding="utf-8")


def test_export_import_round_trip(db: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    first, second, other = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "other.sqlite3"
    assert run_cli(["export", "--db", str(db), "--csv", str(first)], capsys)[0] == 0
    code, out, _ = run_cli(["import", "--db", str(other), "--csv", str(first)], capsys)
    assert code == 0 and "Imported 7 session(s); skipped 0" in out
    code, out, _ = run_cli(["import", "--db", str(other), "--csv", str(first)], capsys)
    assert "Imported 0 session(s); skipped 7" in out
    assert run_cli(["export", "--db", str(other), "--csv", str(second)], capsys)[0] == 0
    assert first.read_bytes() == second.read_bytes()


def test_forget_with_yes(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["forget", "--db", str(db), "--session", "2", "--yes"], capsys)
    assert code == 0 and "Deleted session 2" in out
    with Store.open(db) as store:
        assert 2 not in [s.id for s in store.sessions()]


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    "stdin, deleted",
    [(FakeTty("y\n"), True), (FakeTty("n\n"), False), (FakeTty(""), False),
     (io.StringIO("y\n"), False)],  # last: not a terminal = no
)  # fmt: skip
def test_forget_asks_first(db: Path, stdin: io.StringIO, deleted: bool,
                           monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setattr(sys, "stdin", stdin)
    code, _, err = run_cli(["forget", "--db", str(db), "--session", "3"], capsys)
    assert code == (0 if deleted else 1)
    if not deleted:
        assert "Not deleted" in err and "--yes" in err
    with Store.open(db) as store:
        assert (3 not in [s.id for s in store.sessions()]) == deleted


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["history", "--since", "yesterday"], "is not a date"),
        (["forget", "--session", "999", "--yes"], "no session 999"),
        (["import", "--csv", "/nonexistent/x.csv"], "Cannot read"),
        (["export", "--csv", "/dev/null/x.csv"], "Cannot write"),  # parent is a file
    ],
)
def test_bad_inputs_one_line(db: Path, args: list[str], fragment: str,
                             capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    code, _, err = run_cli([*args, "--db", str(db)], capsys)
    assert_one_error_line(code, err, fragment)


def test_import_of_a_foreign_csv(db: Path, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    bad = tmp_path / "bank.csv"
    bad.write_text("date,amount\n2026-01-01,12\n", encoding="utf-8")
    code, _, err = run_cli(["import", "--db", str(db), "--csv", str(bad)], capsys)
    assert_one_error_line(code, err, "not a posecheck export")


@pytest.mark.parametrize("command", ["history", "report", "export --csv -"])
def test_foreign_and_corrupt_databases_one_line(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(os.urandom(4096))
    other = tmp_path / "other.sqlite3"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    conn.close()
    for path, fragment in ((junk, "not a SQLite database"), (other, "another application")):
        before = path.read_bytes()
        code, _, err = run_cli([*command.split(), "--db", str(path)], capsys)
        assert_one_error_line(code, err, fragment)
        assert path.read_bytes() == before


def test_no_traceback_in_a_real_process(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"definitely not sqlite" * 100)
    proc = subprocess.run([sys.executable, "-m", "posecheck", "history", "--db", str(junk)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("Error: ")
