"""The stretch catalogue: built-in contents, user layering, validation, and the CLI command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posecheck.cli import main
from posecheck.errors import ConfigError
from posecheck.stretches import (
    BUILTIN_PATH,
    ENV_VAR,
    MEASURES,
    Stretch,
    get_stretch,
    load_catalogue,
)
from posecheck.types import SideAngles

NEW_STRETCH = """
[stretches.prone-ir]
name = "Prone internal rotation"
instructions = "Lie face down, knee bent to 90°, let the foot fall outward."
camera = "At the foot end of the mat, lens at shin height."
view = "front"
measure = "rotation_deg"
direction = 1
threshold_deg = 25
"""


@pytest.fixture(autouse=True)
def _no_user_file(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)


def write(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_routine():
    cat = load_catalogue()
    assert list(cat) == ["internal-rotation", "external-rotation", "deep-glute"]
    ir, er, glute = cat.values()
    assert (ir.measure, ir.direction, ir.threshold_deg) == ("rotation_deg", 1, 20.0)
    assert (er.measure, er.direction, er.threshold_deg) == ("rotation_deg", -1, 25.0)
    assert (glute.measure, glute.direction, glute.threshold_deg) == ("hip_abduction_deg", -1, 12.0)
    for s in cat.values():
        assert s.view == "front"  # one camera place for the whole routine
        assert s.hysteresis_deg == 3.0 and s.hold_target_s == 30.0
        assert s.instructions and s.camera and s.neutral and s.notes
        assert isinstance(s.threshold_deg, float)


def test_convention_value_is_positive_deeper():
    # IR 30° is 30° deep into the IR stretch and -30° for the ER stretch; 12° of adduction
    # (abduction -12°) is 12° deep into the deep-glute stretch.
    cat = load_catalogue()
    angles = SideAngles(rotation_deg=30.0, hip_abduction_deg=-12.0)
    assert cat["internal-rotation"].value(angles) == 30.0
    assert cat["external-rotation"].value(angles) == -30.0
    assert cat["deep-glute"].value(angles) == 12.0
    assert cat["deep-glute"].value(SideAngles()) is None


def test_user_file_overrides_one_key_and_adds_a_stretch(tmp_path):
    user = write(tmp_path, "[stretches.internal-rotation]\nthreshold_deg = 15\n" + NEW_STRETCH)
    cat = load_catalogue(user)
    assert cat["internal-rotation"].threshold_deg == 15.0
    assert cat["internal-rotation"].name == load_catalogue()["internal-rotation"].name
    prone = cat["prone-ir"]
    assert (prone.threshold_deg, prone.hysteresis_deg, prone.hold_target_s) == (25.0, 3.0, 30.0)
    assert prone.exit_deg == 22.0


def test_env_var_names_the_user_file(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV_VAR, str(write(tmp_path, NEW_STRETCH)))
    assert "prone-ir" in load_catalogue()


@pytest.mark.parametrize(("body", "key", "words"), [
    ("threshold = 20", "threshold", "unknown key"),
    ("threshold_deg = 'twenty'", "threshold_deg", "expected a number, got a string"),
    ("threshold_deg = true", "threshold_deg", "expected a number, got a boolean"),
    ("name = 3", "name", "expected a string"),
    ("direction = 2", "direction", "must be 1 or -1"),
    ("direction = 1.0", "direction", "must be 1 or -1"),
    ("direction = true", "direction", "must be 1 or -1"),
    ("measure = 'knee_twist_deg'", "measure", "unknown measure"),
    ("view = 'overhead'", "view", "unknown view"),
    ("hold_target_s = -5", "hold_target_s", "must be in (0"),
    ("hold_target_s = 0", "hold_target_s", "must be in (0"),
    ("hysteresis_deg = -1", "hysteresis_deg", "must be in [0"),
    ("threshold_deg = nan", "threshold_deg", "must be in"),
])
def test_bad_values_name_file_stretch_and_key(tmp_path, body, key, words):
    path = write(tmp_path, f"[stretches.internal-rotation]\n{body}\n")
    with pytest.raises(ConfigError) as info:
        load_catalogue(path)
    message = str(info.value)
    assert str(path) in message
    assert "stretch 'internal-rotation'" in message
    assert f"key '{key}'" in message
    assert words in message


@pytest.mark.parametrize(("text", "words"), [
    ("[stretches.new-one]\nname = 'x'\n", "missing required keys: camera, direction"),
    ("[stretches.Bad_Id]\nname = 'x'\n", "lowercase"),
    ("version = 2\n", "unknown top-level key"),
    ("stretches = 3\n", "expected [stretches.<id>] tables"),
    ("[stretches\n", "not valid TOML"),
])
def test_bad_files(tmp_path, text, words):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match="^" + str(path).replace("\\", "\\\\")) as info:
        load_catalogue(path)
    assert words in str(info.value)


def test_missing_user_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_catalogue(tmp_path / "nope.toml")


def test_get_stretch_lists_valid_ids():
    assert get_stretch("deep-glute").id == "deep-glute"
    with pytest.raises(ConfigError, match="Valid stretches: deep-glute, external-rotation, "
                       "internal-rotation"):
        get_stretch("pigeon")


def test_measures_are_sideangles_fields():
    for name in MEASURES:
        assert hasattr(SideAngles(), name)
    assert BUILTIN_PATH.is_file()
    assert set(Stretch.__dataclass_fields__) >= {"id", "measure", "direction", "threshold_deg"}


# -- CLI --------------------------------------------------------------------------------------

def test_cli_lists_every_stretch_with_instructions(capsys):
    assert main(["stretches"]) == 0
    out = capsys.readouterr().out
    for s in load_catalogue().values():
        assert s.id in out and s.name in out
        assert f"starts at {s.threshold_deg:g}°" in out
    assert "deeper = more adduction" in out and "target 30 s" in out


def test_cli_json_round_trips(capsys, tmp_path):
    assert main(["stretches", "--json", "--file", str(write(tmp_path, NEW_STRETCH))]) == 0
    data = json.loads(capsys.readouterr().out)
    by_id = {d["id"]: d for d in data}
    assert set(by_id) == {"internal-rotation", "external-rotation", "deep-glute", "prone-ir"}
    assert by_id["external-rotation"]["direction"] == -1
    assert by_id["prone-ir"]["exit_deg"] == 22.0


def test_cli_one_stretch(capsys):
    assert main(["stretches", "external-rotation"]) == 0
    out = capsys.readouterr().out
    assert "external-rotation" in out and "internal-rotation —" not in out


@pytest.mark.parametrize("argv", [
    ["stretches", "pigeon"], ["stretches", "--file", "/no/such.toml"],
])
def test_cli_bad_input_is_one_error_line(capsys, argv):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_cli_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["stretches", "--help"])
    assert info.value.code == 0
    assert "--json" in capsys.readouterr().out
