"""CLI wording: one description per shared option, unknown ids are errors, help that reads."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from posecheck.cli import build_parser, main
from posecheck.store import Store


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def _help_of(parser: argparse.ArgumentParser, flag: str) -> str | None:
    for action in parser._actions:
        if flag in action.option_strings:
            return action.help
    return None


def test_db_and_model_options_are_described_once_and_the_same_everywhere() -> None:
    subs = _subparsers()
    db = {name: _help_of(p, "--db") for name, p in subs.items() if _help_of(p, "--db")}
    model = {name: _help_of(p, "--model") for name, p in subs.items() if _help_of(p, "--model")}
    assert {"live", "analyse", "history", "report"} <= set(db)
    assert {"live", "analyse", "landmarks"} <= set(model)
    assert len(set(db.values())) == 1, db
    assert len(set(model.values())) == 1, model
    assert "$POSECHECK_DB" in next(iter(db.values()))
    assert "$POSECHECK_MODEL" in next(iter(model.values()))


def test_live_help_sentences_are_separated_and_name_the_keys() -> None:
    text = " ".join(_subparsers()["live"].description.split())
    assert ") Keys" not in text and "live Keys" not in text
    assert "Keys in the window: space pause" in text and "f full screen" in text


def test_unknown_stretch_in_history_is_an_error(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "h.sqlite3"
    Store.open(db).close()
    assert main(["history", "--stretch", "nope", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: Unknown stretch 'nope'") and "internal-rotation" in err
    assert main(["history", "--stretch", "internal-rotation", "--db", str(db)]) == 0


def test_stretches_names_the_deep_glute_measure_adduction(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stretches", "deep-glute"]) == 0
    out = capsys.readouterr().out
    assert "Measures:  hip adduction, deeper = more adduction" in out
    assert "abduction" not in out.split("Measures:")[1].split("\n")[0]
