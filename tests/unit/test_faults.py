"""Fault injection (issue 11): what the user has is never destroyed, and every failure is
one line with a non-zero exit, never a traceback.

Each case checks the exit status, that stderr is one line without "Traceback", and that
every file that existed before is byte-identical afterwards. Most cases run the CLI in
this process (fast); signal cases run it as a process; cases that run the pose model are
marked ``model``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
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
