"""The offline promise, checked at the system-call level (issue 11).

MediaPipe 1.x has a native usage-logging client (google-ai-edge/mediapipe#6291) that a
Python-level block does not see. These tests run ``analyse`` and ``live --headless`` on a
video under ``strace -f`` and fail when any connect/send* call on an internet socket (any
address, DNS on port 53 included) succeeds. posecheck runs those commands in an empty
network namespace (:mod:`posecheck.offline`), so MediaPipe's attempts must all fail with
"network is unreachable": nothing leaves the machine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VIDEO = ROOT / "samples" / "tfjs_pose_squats.mp4"
CALLS = "connect,sendto,sendmsg,sendmmsg"
# an internet socket: an AF_INET/AF_INET6 address, or an fd strace -yy shows as TCP/UDP
INET = re.compile(r"AF_INET6?\b|<(TCP|UDP)(v6)?:")
FAILED = re.compile(r"= -1 E[A-Z]+")

pytestmark = [pytest.mark.model, pytest.mark.slow]


def _strace_usable() -> str | None:
    if shutil.which("strace") is None:
        return "strace is not installed (CI installs it: apt-get install strace)"
    probe = subprocess.run(["strace", "-f", "-qq", "-o", os.devnull, "true"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        return f"strace cannot trace here ({probe.stderr.strip()[:80]})"
    return None


def traced(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run ``python -m posecheck ARGS`` under strace; (process, network call lines)."""
    why = _strace_usable()
    if why:
        pytest.skip(why)
    log = tmp_path / "strace.txt"
    env = {k: v for k, v in os.environ.items() if k != "POSECHECK_ALLOW_NETWORK"}
    proc = subprocess.run(["strace", "-f", "-qq", "-yy", "-e", f"trace={CALLS}", "-o",
                           str(log), sys.executable, "-m", "posecheck", *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env)
    lines = [line for line in log.read_text().splitlines() if INET.search(line)]
    return proc, lines


def assert_nothing_sent(proc: subprocess.CompletedProcess[str], lines: list[str]) -> None:
    assert proc.returncode == 0, proc.stderr
    assert "Warning: cannot run without network" not in proc.stderr
    sent = [line for line in lines if not FAILED.search(line)]
    assert not sent, "network calls that went out:\n" + "\n".join(sent[:10])
    # what MediaPipe tried (if anything) was refused by the empty namespace
    assert all("ENETUNREACH" in line or "ENETDOWN" in line for line in lines), lines[:10]


def test_analyse_sends_nothing(tmp_path: Path) -> None:
    proc, lines = traced(tmp_path, "analyse", str(VIDEO), "--no-video", "--no-store",
                         "--out", str(tmp_path / "out"))
    assert_nothing_sent(proc, lines)
    assert (tmp_path / "out" / VIDEO.stem / "summary.json").is_file()


def test_live_headless_sends_nothing(tmp_path: Path) -> None:
    proc, lines = traced(tmp_path, "live", "--source", str(VIDEO), "--headless",
                         "--stretch", "internal-rotation", "--countdown", "0", "--no-sound",
                         "--no-store", "--out", str(tmp_path / "s"))
    assert_nothing_sent(proc, lines)
    assert (tmp_path / "s" / "summary.json").is_file()
