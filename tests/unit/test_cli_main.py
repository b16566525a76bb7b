"""The CLI dispatcher: every command has help, errors are one line, pipes may close."""

from __future__ import annotations

import subprocess
import sys

import pytest

from posecheck.cli import _command_modules, build_parser, main


def commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)


@pytest.mark.parametrize("command", commands())
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    name = "analyse" if command == "analyze" else command  # "analyze" is an alias
    assert f"posecheck {name}" in out and len(out.splitlines()) > 3


def test_all_command_modules_register() -> None:
    assert len(_command_modules()) == 11
    assert {"analyse", "live", "landmarks", "angles", "stretches", "history", "report",
            "export", "import", "forget", "people"} <= set(commands())


def test_version_and_no_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0 and "posecheck 0." in capsys.readouterr().out
    assert main([]) == 2


def test_help_does_not_import_mediapipe_or_cv2() -> None:
    code = ("import sys; from posecheck.cli import build_parser; build_parser(); "
            "print('mediapipe' in sys.modules, 'cv2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


def test_closed_pipe_is_not_a_traceback(tmp_path) -> None:
    proc = subprocess.run(f"{sys.executable} -m posecheck stretches --json | head -c 10",
                          shell=True, capture_output=True, text=True)
    assert "Traceback" not in proc.stderr and len(proc.stdout) == 10
