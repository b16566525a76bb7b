"""Sound cues: waveforms, the real missing-PortAudio import, and a fake sounddevice module."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import io
import sys
import types

import numpy as np
import pytest

from posecheck import cues
from posecheck.cues import CUES, KINDS, SAMPLERATE, make_cue_player, waveform

BRIEF_KINDS = {"countdown", "go", "start", "tick", "target", "end"}


class FakeSoundDevice(types.ModuleType):
    """Stands in for ``sounddevice``: records play() calls instead of making sound."""

    class PortAudioError(Exception):
        pass

    def __init__(self, *, fail_play: bool = False, no_device: bool = False) -> None:
        super().__init__("sounddevice")
        self.calls: list[tuple[tuple, dict]] = []
        self.fail_play = fail_play
        self.no_device = no_device

    def play(self, *args, **kwargs) -> None:
        if self.fail_play:
            raise self.PortAudioError("Error opening OutputStream: device unavailable")
        self.calls.append((args, kwargs))

    def query_devices(self, kind: str | None = None) -> dict:
        if self.no_device:
            raise self.PortAudioError("Error querying device -1")
        return {"name": "fake", "max_output_channels": 2}


class TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


class _RaisingLoader(importlib.abc.Loader):
    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise OSError("PortAudio library not found")


class _RaisingFinder(importlib.abc.MetaPathFinder):
    """Makes ``import sounddevice`` fail exactly as it does without libportaudio."""

    def find_spec(self, name, path=None, target=None):
        if name == "sounddevice":
            return importlib.machinery.ModuleSpec(name, _RaisingLoader())
        return None


@pytest.fixture
def no_portaudio(monkeypatch):
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_RaisingFinder(), *sys.meta_path])


def test_every_kind_of_the_brief_has_a_distinct_cue():
    assert set(KINDS) == BRIEF_KINDS
    waves = {kind: waveform(kind) for kind in KINDS}
    signatures = {(w.shape[0], float(np.abs(np.fft.rfft(w)).argmax())) for w in waves.values()}
    assert len(signatures) == len(BRIEF_KINDS)  # no two cues share length and main pitch


@pytest.mark.parametrize("kind", sorted(BRIEF_KINDS))
def test_waveform_shape_length_level_and_fades(kind: str):
    wave = waveform(kind, samplerate=8000)
    expected_n = sum(round(t.duration_s * 8000) for t in CUES[kind])
    assert wave.shape == (expected_n,) and wave.dtype == np.float32
    assert np.abs(wave).max() <= cues.AMPLITUDE + 1e-6
    assert np.abs(wave).max() > 0.9 * cues.AMPLITUDE
    assert abs(wave[0]) < 1e-3 and abs(wave[-1]) < 1e-3  # faded: no click


def test_tick_pitch_is_what_the_table_says():
    wave = waveform("tick", samplerate=SAMPLERATE)
    spectrum = np.abs(np.fft.rfft(wave))
    peak_hz = spectrum.argmax() * SAMPLERATE / wave.shape[0]
    assert peak_hz == pytest.approx(CUES["tick"][0].freq_hz, abs=SAMPLERATE / wave.shape[0])


def test_real_import_here_degrades_to_silence_with_a_reason():
    try:
        import sounddevice  # noqa: F401
    except OSError as exc:
        player = make_cue_player(True, stream=io.StringIO())
        assert player.available is False
        assert "PortAudio" in player.reason or str(exc) in player.reason
        assert player.play("tick") is False  # silent, and no exception
    else:  # a machine with PortAudio: then the player is real or says why not
        player = make_cue_player(True, stream=io.StringIO())
        assert player.available or player.reason.startswith("sound off")


def test_missing_portaudio_gives_silent_player_with_ui_reason(no_portaudio):
    player = make_cue_player(True, stream=io.StringIO())
    assert (player.available, player.reason) == (
        False, "sound off: PortAudio not found (Debian/Ubuntu: sudo apt install libportaudio2)")
    for kind in BRIEF_KINDS | {"nonsense"}:
        assert player.play(kind) is False


def test_missing_portaudio_on_a_terminal_rings_the_bell(no_portaudio):
    tty = TtyStream()
    player = make_cue_player(True, stream=tty)
    assert player.available is False and "terminal bell" in player.reason
    assert player.play("tick") is True and player.play("bogus") is False
    assert tty.getvalue() == "\a"


def test_package_not_installed(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # import raises ImportError
    player = make_cue_player(True, stream=io.StringIO())
    assert not player.available and "not installed" in player.reason


def test_disabled_is_silent_and_never_imports(monkeypatch):
    fake = FakeSoundDevice()
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    player = make_cue_player(False)
    assert not player.available and player.play("go") is False
    assert fake.calls == []


def test_fake_sounddevice_plays_non_blocking_with_the_cue_waveform(monkeypatch):
    fake = FakeSoundDevice()
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    player = make_cue_player(True)
    assert player.available and player.reason == ""
    for kind in ("countdown", "go", "target"):
        assert player.play(kind) is True
    assert len(fake.calls) == 3
    for (args, kwargs), kind in zip(fake.calls, ("countdown", "go", "target"), strict=True):
        data, rate = args
        assert kwargs == {"blocking": False}
        assert rate == SAMPLERATE
        assert data.ndim == 1 and data.dtype == np.float32
        np.testing.assert_array_equal(data, waveform(kind))
    assert player.play("unknown") is False and len(fake.calls) == 3


def test_fake_device_failure_turns_sound_off_without_raising(monkeypatch):
    fake = FakeSoundDevice(fail_play=True)
    monkeypatch.setitem(sys.modules, "sounddevice", fake)
    player = make_cue_player(True)
    assert player.play("start") is False
    assert not player.available and "device failed" in player.reason
    assert player.play("tick") is False


def test_no_output_device_falls_back(monkeypatch):
    monkeypatch.setitem(sys.modules, "sounddevice", FakeSoundDevice(no_device=True))
    player = make_cue_player(True, stream=io.StringIO())
    assert not player.available and "no audio output device" in player.reason
