"""Fault injection (issue 11): what the user has is never destroyed, and every failure is
one line with a non-zero exit, never a traceback.

Each case checks the exit status, that stderr is one line without "Traceback", and that
every file that existed before is byte-identical afterwards. Most cases run the CLI in
this process (fast); signal cases run it as a process; cases that run the pose model are
marked ``model``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_store import make_history

from posecheck.cli import main
from posecheck.store import Store

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
LANDMARKS = SAMPLES / "pose2sim_cam01.landmarks.jsonl"
VIDEO = SAMPLES / "tfjs_pose_squats.mp4"


# ------------------------------------------------------------------------------ helpers
def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (symlinks by their target text)."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_symlink():
            out[str(p)] = "link:" + os.readlink(p)
        elif p.is_file():
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def assert_unchanged(before: dict[str, str], root: Path) -> None:
    after = snapshot(root)
    changed = [p for p, digest in before.items() if after.get(p) != digest]
    assert not changed, f"changed or deleted: {changed}"


def assert_one_line(code: int, err: str, status: int, *fragments: str) -> str:
    assert code == status, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def cli(capsys: pytest.CaptureFixture[str], *args: str | os.PathLike[str]) -> tuple[int, str]:
    code = main([os.fspath(a) for a in args])
    _, err = capsys.readouterr()
    return code, err


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a history H.db (3 weeks of sessions) and an input a.jsonl; cwd."""
    with Store.open(tmp_path / "H.db") as store:
        for summary in make_history(weeks=3):
            store.add_session(summary)
    shutil.copy(LANDMARKS, tmp_path / "a.jsonl")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("POSECHECK_DB", raising=False)
    return tmp_path


# ------------------------------------------------------------- outputs onto what we have
@pytest.mark.parametrize("args", [
    ("export", "--csv", "H.db", "--db", "H.db"),
    ("export", "--csv", "H.db-wal", "--db", "H.db"),
    ("export", "--csv", "link.csv", "--db", "H.db"),      # symlink to the history
    ("export", "--csv", "hard.csv", "--db", "H.db"),      # hard link: same inode
    ("report", "--out", "H.db", "--db", "H.db"),
    ("report", "--out", "sub/../H.db", "--db", "H.db"),
    ("report", "--png", "H.db-shm.png", "--db", "H.db-shm.png"),  # not existing yet
    ("angles", "a.jsonl", "-o", "a.jsonl"),
    ("angles", "a.jsonl", "-o", "link.jsonl"),
    ("landmarks", "a.jsonl", "-o", "a.jsonl"),
    ("analyse", "x/x.jsonl", "--out", ".", "--db", "H.db"),  # input inside its result folder
    ("analyse", "a.jsonl", "--out", ".", "--db", "a/H.db"),  # history inside a result folder
    ("live", "--source", "a.jsonl", "--out", ".", "--db", "summary.json", "--headless"),
    ("live", "--source", "clip.mp4", "--out", "o", "--record", "clip.mp4", "--headless"),
])
def test_an_output_never_overwrites_an_input_or_the_history(
        home: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]) -> None:
    (home / "link.csv").symlink_to("H.db")
    (home / "link.jsonl").symlink_to("a.jsonl")
    os.link(home / "H.db", home / "hard.csv")
    (home / "x").mkdir()
    shutil.copy(LANDMARKS, home / "x" / "x.jsonl")
    (home / "sub").mkdir()
    shutil.copy(LANDMARKS, home / "clip.mp4")
    before = snapshot(home)
    code, err = cli(capsys, *args)
    assert_one_line(code, err, 2, "Refusing to write")
    assert_unchanged(before, home)
    assert not (home / "H.db-shm.png").exists()


def test_a_different_output_is_still_written(home: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(home)
    assert cli(capsys, "export", "--csv", "out.csv", "--db", "H.db")[0] == 0
    assert cli(capsys, "report", "--out", "r.html", "--db", "H.db")[0] == 0
    assert (home / "out.csv").stat().st_size > 0 and (home / "r.html").stat().st_size > 0
    assert_unchanged(before, home)


# ------------------------------------------------------------------------ live signals
def _live(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "posecheck", "live", "--source", str(VIDEO), "--headless",
         "--stretch", "internal-rotation", "--countdown", "0", "--db", str(tmp_path / "L.db"),
         "--out", str(tmp_path / "s"), *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)


def _wait_for_frames(proc: subprocess.Popen[str], out: Path) -> None:
    deadline = time.monotonic() + 90
    while not list(out.glob(".landmarks*")):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    time.sleep(3.0)


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_live_killed_by_a_signal_saves_and_stores(tmp_path: Path, sig: int) -> None:
    proc = _live(tmp_path)
    _wait_for_frames(proc, tmp_path / "s")
    os.killpg(proc.pid, sig)  # the whole process group, as a terminal does
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err
    summary = (tmp_path / "s" / "summary.json").read_text()
    assert '"interrupted": true' in summary
    with Store.open(tmp_path / "L.db") as store:
        [session] = store.sessions()
    assert session.kind == "live" and session.interrupted and session.frames > 0
    if sig != signal.SIGHUP:  # after a hang-up nobody reads the terminal
        assert f"saved to history as session {session.id}" in err



# ------------------------------------------------------------------------------ offline
def test_the_network_namespace_leaves_no_way_out() -> None:
    """cut_network() in a fresh process: afterwards even a DNS packet cannot be sent."""
    code = ("import socket\nfrom posecheck.offline import cut_network\nwhy = cut_network()\n"
            "print(why)\nif why is None:\n    s = socket.socket(socket.AF_INET, "
            "socket.SOCK_DGRAM)\n    try:\n        s.connect(('192.0.2.1', 53))\n"
            "        print('connected')\n    except OSError as exc:\n"
            "        print(exc.errno)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    first, *rest = proc.stdout.splitlines()
    if first != "None":
        pytest.skip(f"no network namespace can be made here: {first}")
    import errno

    assert rest == [str(errno.ENETUNREACH)], proc.stdout + proc.stderr


@pytest.mark.parametrize("argv, warns", [
    (["history"], False),                                     # no model: nothing to do
    (["live", "--source", "rtsp://cam/1", "--headless"], True),  # needs the network
    (["analyse", "http://example.org/v.mp4"], True),
])
def test_commands_that_need_the_network_are_told_not_cut(argv: list[str], warns: bool) -> None:
    from posecheck.offline import offline_for

    warning = offline_for(argv)  # never cuts this (test) process: no model command runs
    assert (warning is not None) == warns
    if warns:
        assert "cannot cut" in warning and len(warning.splitlines()) == 1


def test_allow_network_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from posecheck.offline import offline_for

    monkeypatch.setenv("POSECHECK_ALLOW_NETWORK", "1")
    assert offline_for(["live", "--source", "rtsp://cam/1"]) is None


# ------------------------------------------------------------------ integrity of inputs
def test_angles_of_dev_zero_stops_at_once(home: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    code, err = cli(capsys, "angles", "/dev/zero", "-o", "z.jsonl")
    assert_one_line(code, err, 1, "/dev/zero, line 1", "longer than")
    assert not (home / "z.jsonl").exists() and not list(home.glob(".z.jsonl*"))


def test_angles_to_a_full_stdout_is_one_line(home: Path) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "posecheck", "angles", "a.jsonl"],
                              cwd=home, stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=60)
    assert_one_line(proc.returncode, proc.stderr, 1, "standard output",
                    "No space left on device")


def _damaged_model(tmp_path: Path) -> Path:
    from posecheck.model import DEFAULT_MODEL

    data = bytearray(DEFAULT_MODEL.read_bytes())
    data[5_000_000] ^= 0x01  # one bit inside the landmark graph's weights
    path = tmp_path / "damaged.task"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("via_env", [False, True])
def test_a_damaged_model_is_refused_before_use(home: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch,
                                               via_env: bool) -> None:
    model = _damaged_model(home)
    shutil.copy(VIDEO, home / "v.mp4")
    before = snapshot(home)
    if via_env:
        monkeypatch.setenv("POSECHECK_MODEL", str(model))
        code, err = cli(capsys, "landmarks", "v.mp4", "-o", "v.jsonl")
    else:
        code, err = cli(capsys, "landmarks", "v.mp4", "-o", "v.jsonl", "--model", model)
    assert_one_line(code, err, 1, "damaged.task is damaged",
                    "pose_landmarks_detector.tflite fails its CRC check")
    assert_unchanged(before, home)
    assert not (home / "v.jsonl").exists()


# ------------------------------------------------------------------ the history's faults
def _root_mount(*args: str) -> str | None:
    """Run mount(8); None on success, else why it cannot be used here."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return "needs root and mount(8) (CI runs as root)"
    proc = subprocess.run(["mount", *args], capture_output=True, text=True)
    return None if proc.returncode == 0 else f"mount failed: {proc.stderr.strip()[:80]}"


@pytest.fixture
def readonly(home: Path) -> Iterator[Path]:
    """``home`` made read-only by a read-only bind mount over it."""
    why = _root_mount("--bind", str(home), str(home))
    if why:
        pytest.skip(why)
    try:
        why = _root_mount("-o", "remount,ro,bind", str(home))
        if why:
            pytest.skip(why)
        yield home
    finally:
        subprocess.run(["umount", str(home)], check=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, to fill up."""
    disk = tmp_path / "disk"
    disk.mkdir()
    why = _root_mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk))
    if why:
        pytest.skip(why)
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def _fill(disk: Path) -> None:
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)


@pytest.mark.parametrize("args", [
    ("analyse", "a.jsonl", "--out", "/tmp/never-written", "--db", "H.db"),
    ("import", "--csv", "/dev/null", "--db", "H.db"),
    ("forget", "--session", "1", "--yes", "--db", "H.db"),
])
def test_a_read_only_history_is_one_line_not_corrupt(readonly: Path, args: tuple[str, ...],
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    before = snapshot(readonly)
    code, err = cli(capsys, *args)
    line = assert_one_line(code, err, 1, "H.db cannot be written", "read-only")
    assert "corrupt" not in line and "backup" not in line
    assert_unchanged(before, readonly)


@pytest.fixture
def immutable_db(home: Path) -> Iterator[Path]:
    db = home / "H.db"
    proc = subprocess.run(["chattr", "+i", str(db)], capture_output=True, text=True) \
        if shutil.which("chattr") else None
    if proc is None or proc.returncode != 0:
        pytest.skip("chattr +i is not possible here (needs root and ext4 or the like)")
    try:
        yield db
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)


def test_an_immutable_history_keeps_the_analysis_and_says_why(
        home: Path, immutable_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copy(LANDMARKS, home / "b.jsonl")
    before = snapshot(home)
    code = main(["analyse", "a.jsonl", "b.jsonl", "--jobs", "1", "--out", "o", "--db",
                 str(immutable_db)])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    lines = out.strip().splitlines()
    assert len(lines) == 2 and all("[not stored: The history database" in x and "read-only"
                                   in x for x in lines), out
    assert (home / "o" / "a" / "summary.json").is_file()  # the outputs stay
    assert (home / "o" / "b" / "summary.json").is_file()  # and the batch went on
    assert_unchanged(before, home)


def test_disk_full_at_commit_stores_nothing_and_says_so(
        home: Path, small_disk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv = home / "h.csv"
    assert cli(capsys, "export", "--csv", csv, "--db", "H.db")[0] == 0
    fresh = small_disk / "new.db"
    assert cli(capsys, "history", "--db", fresh)[0] == 0  # an empty history, created
    _fill(small_disk)
    before = snapshot(small_disk)
    code, err = cli(capsys, "import", "--csv", csv, "--db", fresh)
    assert_one_line(code, err, 1, "new.db is full", "Free some space")
    (small_disk / "filler").unlink()
    del before[str(small_disk / "filler")]
    assert_unchanged(before, small_disk)
    with Store.open(fresh) as store:
        assert store.sessions() == []  # all or nothing


def test_disk_full_during_the_commit_itself(home: Path, small_disk: Path) -> None:
    from test_store import make_summary

    from posecheck.errors import StoreError

    db = small_disk / "H.db"
    with Store.open(db) as store:  # open first: the -wal and -shm files exist
        store.add_session(make_summary())
        _fill(small_disk)
        summary = make_summary(content="big", input_name="x" * 200_000)
        with pytest.raises(StoreError, match=r"H\.db is full; nothing was stored"):
            store.add_session(summary)
        assert len(store.sessions()) == 1  # the history as it was


@pytest.mark.parametrize("setup, fragment", [
    ("file_parent", "its folder"),
    ("negative_schema", "schema version -3, which no posecheck writes"),
])
def test_unusable_history_paths_are_one_line(home: Path, setup: str, fragment: str,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    db = home / "H.db"
    if setup == "file_parent":
        db = home / "a.jsonl" / "H.db"
    else:
        import sqlite3

        conn = sqlite3.connect(home / "H.db")
        conn.execute("PRAGMA user_version = -3")
        conn.close()
    before = snapshot(home)
    for command in (["history"], ["analyse", "a.jsonl", "--out", "o"]):
        code, err = cli(capsys, *command, "--db", db)
        assert_one_line(code, err, 1, fragment)
    assert_unchanged(before, home)


# ------------------------------------------------------------------ CSV in and out
NASTY = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "-2", "@SUM(A1)", "\tx",
         "'=already", "'plain", "ok.mp4"]


def test_csv_export_neutralises_formulas_and_import_undoes_it_exactly(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import csv

    from test_store import make_summary

    from posecheck.safe_text import is_formula

    db = tmp_path / "H.db"
    with Store.open(db) as store:
        for i, name in enumerate(NASTY):
            store.add_session(make_summary(input_name=name, content=f"c{i}"))
    first = tmp_path / "1.csv"
    assert cli(capsys, "export", "--csv", first, "--db", db)[0] == 0
    rows = list(csv.DictReader(first.open(newline="")))
    for row in rows:
        assert not is_formula(row["input"]), row["input"]
        assert row["peak_rotation_deg"][0].isdigit() or row["peak_rotation_deg"][0] == "-"
    assert {r["input"] for r in rows} >= {"'=HYPERLINK(\"http://evil\",\"x\")", "''plain",
                                          "ok.mp4", "'-2+3", "-2"}  # a number is no formula
    copy = tmp_path / "copy.db"
    assert cli(capsys, "import", "--csv", first, "--db", copy)[0] == 0
    with Store.open(copy) as store:
        assert sorted(s.input for s in store.sessions()) == sorted(NASTY)
    second = tmp_path / "2.csv"
    assert cli(capsys, "export", "--csv", second, "--db", copy)[0] == 0
    assert second.read_bytes() == first.read_bytes()  # the round trip is exact


@pytest.mark.parametrize("column, value, why", [
    ("frames", "-5", "out of range"),
    ("frames", "1.5", "not a whole number"),
    ("mean_confidence", "7", "out of range"),
    ("threshold_deg", "-1e9", "out of range"),
    ("fps", "nan", "not a finite number"),
    ("started_at", "9999-01-01T00:00:00Z", "between 1970 and today"),
    ("started_at", "last tuesday", "not an ISO 8601"),
    ("interrupted", "yes", "not true or false"),
    ("input", "=cmd|' /C calc'!A0", "spreadsheet formula"),
    ("kind", "webcam", "not one of"),
    ("holds", "[[[", "not a JSON list"),
    ("holds", '[{"duration_s": -4}]', "out of range"),
    ("holds", '[{"duration_s": "4"}]', "non-number"),
])
def test_import_refuses_a_bad_cell_naming_line_and_column(
        home: Path, capsys: pytest.CaptureFixture[str], column: str, value: str,
        why: str) -> None:
    import csv

    good = home / "good.csv"
    assert cli(capsys, "export", "--csv", good, "--db", "H.db")[0] == 0
    rows = list(csv.DictReader(good.open(newline="")))
    rows[2][column] = value  # the fourth line of the file
    bad = home / "bad.csv"
    with bad.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    target = home / "other.db"
    assert cli(capsys, "history", "--db", target)[0] == 0  # an empty history
    before = snapshot(home)
    code, err = cli(capsys, "import", "--csv", bad, "--db", target)
    assert_one_line(code, err, 1, f"CSV line 4, column {column}", why, "nothing was imported")
    assert_unchanged(before, home)


def test_import_of_dev_zero_is_one_line(home: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    before = snapshot(home)
    code, err = cli(capsys, "import", "--csv", "/dev/zero", "--db", "H.db")
    assert_one_line(code, err, 1)
    assert_unchanged(before, home)


def test_control_sequences_in_names_are_printed_escaped(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    evil = "x\x1b[2J\x1b]0;pwned\x07\r.jsonl"
    shutil.copy(LANDMARKS, home / evil)
    assert main(["analyse", evil, "--out", "o", "--db", "H.db"]) == 0
    out, err = capsys.readouterr()
    assert "\x1b" not in out + err and "\r" not in out + err
    assert "x\\x1b[2J" in out
    assert main(["history", "--db", "H.db"]) == 0
    out, _ = capsys.readouterr()
    assert "\x1b" not in out and "\\x1b" in out


@pytest.mark.model
@pytest.mark.slow
def test_a_tiny_video_fails_alone_with_its_real_cause(tmp_path: Path) -> None:
    import cv2
    import numpy as np

    tiny = tmp_path / "a_tiny.avi"
    writer = cv2.VideoWriter(str(tiny), cv2.VideoWriter_fourcc(*"MJPG"), 10, (1, 1))
    for _ in range(5):
        writer.write(np.zeros((1, 1, 3), np.uint8))
    writer.release()
    shutil.copy(VIDEO, tmp_path / "b_good.mp4")
    proc = subprocess.run([sys.executable, "-m", "posecheck", "analyse", str(tiny),
                           str(tmp_path / "b_good.mp4"), "--jobs", "1", "--no-store", "--out",
                           str(tmp_path / "out")], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600)
    assert "Traceback" not in proc.stderr
    tiny_line, good_line = proc.stdout.strip().splitlines()
    # H.264 (PyAV's x264) takes the 1x1 video padded to 2x2; an encoder that refuses it
    # must say why, in the tiny input's own line, and not stop the good one
    if proc.returncode == 1:
        assert tiny_line.startswith("a_tiny.avi: error") and "1x1 frames" in tiny_line
    else:
        assert proc.returncode == 0 and tiny_line.startswith("a_tiny.avi: 5 frames, person in 0")
    assert good_line.startswith("b_good.mp4: 65 frames"), good_line
    assert (tmp_path / "out" / "b_good" / "annotated.mp4").stat().st_size > 0


# ------------------------------------------------------------------ outputs that fail
@pytest.mark.parametrize("where", ["file", "under_file"])
def test_live_out_at_a_file_is_one_line_before_the_camera(
        home: Path, capsys: pytest.CaptureFixture[str], where: str) -> None:
    out = home / "a.jsonl" if where == "file" else home / "a.jsonl" / "s"
    before = snapshot(home)
    code, err = cli(capsys, "live", "--source", "0", "--headless", "--no-store", "--out", out)
    assert_one_line(code, err, 1, str(out))
    assert_unchanged(before, home)


def test_live_out_in_a_read_only_folder_is_one_line(readonly: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    before = snapshot(readonly)
    code, err = cli(capsys, "live", "--source", "0", "--headless", "--no-store", "--out",
                    readonly / "s")
    assert_one_line(code, err, 1, "Cannot write the session folder", "Read-only file system")
    assert_unchanged(before, readonly)
    assert not (readonly / "s").exists()


def test_disk_full_while_writing_landmarks_leaves_no_part_file(small_disk: Path) -> None:
    from posecheck.errors import LandmarkFileError
    from posecheck.landmark_io import LandmarkWriter, read_landmarks

    frames = list(read_landmarks(LANDMARKS))
    (small_disk / "old.jsonl").write_text("kept\n")
    before = snapshot(small_disk)
    with pytest.raises(LandmarkFileError, match=r"old\.jsonl: No space left on device"), \
            LandmarkWriter(small_disk / "old.jsonl") as writer:
        for k in range(100):  # ~60 MB: far more than the 2 MiB disk
            for frame in frames:
                writer.write(dataclasses.replace(frame, t=frame.t + 10 * k))
    assert sorted(p.name for p in small_disk.iterdir()) == ["old.jsonl"]  # no .part
    assert_unchanged(before, small_disk)


@pytest.mark.model
def test_landmarks_command_on_a_full_disk_is_one_line(small_disk: Path, tmp_path: Path) -> None:
    _fill(small_disk)
    (small_disk / "filler").unlink()  # nearly nothing is left once the model starts
    with open(small_disk / "filler", "wb") as fh:
        fh.write(b"\0" * (2 * 1024 * 1024 - 64 * 1024))
    proc = subprocess.run([sys.executable, "-m", "posecheck", "landmarks", str(VIDEO), "-o",
                           str(small_disk / "v.jsonl"), "--no-progress"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert_one_line(proc.returncode, proc.stderr, 1, "v.jsonl", "No space left on device")
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]


@pytest.mark.model
@pytest.mark.slow
@pytest.mark.parametrize("delay_s, jobs", [(0.8, 1), (3.0, 1), (1.6, 2), (4.0, 2), (8.0, 2)])
def test_ctrl_c_to_the_whole_process_group_is_one_line(tmp_path: Path, delay_s: float,
                                                       jobs: int) -> None:
    """As a terminal does: every process of the group gets SIGINT, also worker processes
    still starting or waiting for work (each printed a traceback)."""
    shutil.copy(VIDEO, tmp_path / "b.mp4")
    proc = subprocess.Popen([sys.executable, "-m", "posecheck", "analyse", str(VIDEO),
                             str(tmp_path / "b.mp4"), "--jobs", str(jobs), "--no-video",
                             "--no-store", "--out", str(tmp_path / "out")],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    time.sleep(delay_s)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    if proc.returncode != 0:  # (a fast machine may have finished)
        assert proc.returncode in (130, -signal.SIGINT)
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("Interrupted")
    out = tmp_path / "out"
    assert not list(out.glob(".*")) if out.exists() else True  # no half-built folder left


# ------------------------------------------------------------- result folders, swapped
def _analyse_landmarks(home: Path) -> int:
    return main(["analyse", "a.jsonl", "--out", "o", "--no-store"])


def test_an_interrupted_rerun_leaves_the_previous_result_untouched(
        home: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
        ) -> None:
    import posecheck.batch as batch

    assert _analyse_landmarks(home) == 0
    before = snapshot(home)
    real = batch.analyse_file

    def interrupted(path: Path, out_dir: Path, *args: object) -> object:
        (out_dir / "landmarks.jsonl").write_text("42 lines of a second run\n")
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "analyse_file", interrupted)
    capsys.readouterr()
    code = _analyse_landmarks(home)
    _, err = capsys.readouterr()
    line = assert_one_line(code, err, 130, "previous result in o/a is untouched",
                           "what was done is in o/a.incomplete")
    assert line.startswith("Interrupted: ")
    assert_unchanged(before, home)  # the complete result, byte for byte
    assert sorted(p.name for p in (home / "o").iterdir()) == ["a", "a.incomplete"]
    assert (home / "o" / "a.incomplete" / "landmarks.jsonl").read_text().startswith("42")
    # a complete re-run replaces the result whole and drops the incomplete part
    monkeypatch.setattr(batch, "analyse_file", real)
    (home / "o" / "a" / "stray.txt").write_text("from the old result")
    assert _analyse_landmarks(home) == 0
    assert sorted(p.name for p in (home / "o").iterdir()) == ["a"]
    assert not (home / "o" / "a" / "stray.txt").exists()  # no mix of old and new files
    assert (home / "o" / "a" / "summary.json").read_bytes()  # the new one


def test_a_failed_rerun_keeps_the_previous_result(home: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert _analyse_landmarks(home) == 0
    (home / "a.jsonl").write_text("not json\n")  # the same input, now broken
    before = {k: v for k, v in snapshot(home).items() if not k.endswith("a.jsonl")}
    assert _analyse_landmarks(home) == 1
    out, _ = capsys.readouterr()
    assert "a.jsonl: error" in out and "line 1" in out
    assert_unchanged(before, home)
    assert sorted(p.name for p in (home / "o").iterdir()) == ["a"]


def test_a_symlink_loop_among_inputs_is_one_input_failing(
        home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (home / "loop.jsonl").symlink_to("loop.jsonl")
    code = main(["analyse", "loop.jsonl", "a.jsonl", "--out", "o", "--no-store", "--jobs", "1"])
    out, err = capsys.readouterr()
    assert code == 1 and "Traceback" not in err
    first, second = out.strip().splitlines()
    assert first == "loop.jsonl: error: a symlink loop"
    assert second.startswith("a.jsonl: 100 frames")


@pytest.mark.model
@pytest.mark.slow
def test_analyse_killed_by_sigterm_keeps_the_previous_result(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_analyse import make_long_video

    video = tmp_path / "long.mp4"
    make_long_video(SAMPLES / "pose2sim_cam01.mp4", 6, video)  # 600 frames
    out = tmp_path / "out"
    (out / "long").mkdir(parents=True)
    (out / "long" / "summary.json").write_text('{"previous": "complete result"}\n')
    before = snapshot(out)
    proc = subprocess.Popen([sys.executable, "-m", "posecheck", "analyse", str(video),
                             "--no-video", "--no-store", "--out", str(out)], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(any(d.iterdir()) for d in out.glob(".long.*.building")):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert_one_line(proc.returncode, err, 128 + signal.SIGTERM,
                    f"the previous result in {out / 'long'} is untouched")
    assert_unchanged(before, out)
    assert sorted(p.name for p in out.iterdir()) == ["long", "long.incomplete"]


@pytest.mark.model
@pytest.mark.slow
def test_live_with_a_read_only_history_keeps_the_session(
        readonly: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    before = snapshot(readonly)
    tmp_path = tmp_path_factory.mktemp("writable")  # (the read-only mount is over tmp_path)
    out = tmp_path / "session"
    proc = subprocess.run([sys.executable, "-m", "posecheck", "live", "--source", str(VIDEO),
                           "--headless", "--stretch", "internal-rotation", "--countdown", "0",
                           "--max-seconds", "3", "--db", str(readonly / "H.db"), "--out",
                           str(out)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert_one_line(proc.returncode, proc.stderr, 1, "H.db cannot be written", "read-only",
                    f"The session itself is saved in {out}")
    assert (out / "summary.json").is_file() and (out / "landmarks.jsonl").is_file()
    assert_unchanged(before, readonly)


# ------------------------------------------------ reading a history that cannot be written
_READS = [("history", "--json"), ("export", "--csv", "-"), ("people",)]


def _reads(capsys: pytest.CaptureFixture[str], db: Path) -> list[tuple[int, str]]:
    """stdout of each reading command (and of ``report``'s exit code) on the history ``db``."""
    out = []
    for args in _READS:
        code = main([*args, "--db", str(db)])
        printed, err = capsys.readouterr()
        assert "Traceback" not in err
        out.append((code, printed.replace(str(db), "DB")))
    return out


def _writable_answers(capsys: pytest.CaptureFixture[str], db: Path,
                      where: Path) -> list[tuple[int, str]]:
    """The reading commands' answers on a writable copy of ``db`` (what they must say)."""
    copy = where / "copy.db"
    shutil.copy(db, copy)
    return _reads(capsys, copy)


def test_a_history_on_read_only_media_can_still_be_read(
        readonly: Path, tmp_path_factory: pytest.TempPathFactory,
        capsys: pytest.CaptureFixture[str]) -> None:
    # H.db is in WAL mode (Store.open sets it) and has no -wal/-shm file left: SQLite must
    # read it without creating them (immutable=1), as it cannot on a read-only mount
    assert not (readonly / "H.db-shm").exists()
    before = snapshot(readonly)
    writable = tmp_path_factory.mktemp("writable")
    expected = _writable_answers(capsys, readonly / "H.db", writable)
    got = _reads(capsys, readonly / "H.db")
    assert got == expected
    assert all(code == 0 and text.strip() for code, text in got), got
    assert '"started_at"' in got[0][1] and "session_uid" in got[1][1]
    code = main(["report", "--db", str(readonly / "H.db"), "--out", str(writable / "r.html")])
    assert code == 0 and (writable / "r.html").stat().st_size > 0
    assert_unchanged(before, readonly)
    assert sorted(p.name for p in readonly.iterdir()) == ["H.db", "a.jsonl"]


def test_a_read_only_history_file_and_folder_can_still_be_read(
        home: Path, tmp_path_factory: pytest.TempPathFactory,
        capsys: pytest.CaptureFixture[str]) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes through chmod 0444/0555; the read-only mount test covers "
                    "a history that cannot be written")
    expected = _writable_answers(capsys, home / "H.db", tmp_path_factory.mktemp("writable"))
    before = snapshot(home)
    (home / "H.db").chmod(0o444)
    home.chmod(0o555)
    try:
        got = _reads(capsys, home / "H.db")
    finally:
        home.chmod(0o755)
        (home / "H.db").chmod(0o644)
    assert got == expected
    assert all(code == 0 and text.strip() for code, text in got), got
    assert_unchanged(before, home)
    assert not (home / "H.db-shm").exists()


def test_an_immutable_history_can_still_be_read(
        home: Path, immutable_db: Path, tmp_path_factory: pytest.TempPathFactory,
        capsys: pytest.CaptureFixture[str]) -> None:
    expected = _writable_answers(capsys, immutable_db, tmp_path_factory.mktemp("writable"))
    before = snapshot(home)
    got = _reads(capsys, immutable_db)
    assert got == expected
    assert all(code == 0 and text.strip() for code, text in got), got
    assert_unchanged(before, home)


def test_reading_a_missing_history_creates_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # history / export / report of a --db that does not exist: an empty history, and
    # neither the file nor its folder is made (a typo in --db must not litter the disk)
    db = tmp_path / "no" / "such" / "h.db"
    (c1, history), (c2, export), (c3, people) = _reads(capsys, db)
    assert (c1, c2, c3) == (0, 0, 0)
    assert history.strip() == "[]"
    assert export.count("\n") == 1 and export.startswith("session_uid,")  # the header only
    assert "session_uid" not in people
    assert not (tmp_path / "no").exists()
    code = main(["report", "--db", str(db), "--out", str(tmp_path / "r.html")])
    assert code == 0 and (tmp_path / "r.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]
