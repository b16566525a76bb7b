"""Sound cues for the live mode: get-ready countdown, go, hold start, every 10 s, target, end.

Beeps are numpy sine tones, one distinct pattern per cue (:data:`CUES`), played through
``sounddevice`` without blocking the caller. ``sounddevice`` is imported lazily, inside
:func:`make_cue_player`, because its import raises ``OSError`` on a machine without the
PortAudio library. Then the player degrades: a terminal bell ("\\a") when stdout is a
terminal, else silence, and it says why, and how to get PortAudio, in ``.reason`` ("sound
off: PortAudio not found (Debian/Ubuntu: sudo apt install libportaudio2)") so the UI can
show it. ``play()`` never raises. Must not import mediapipe, cv2 or matplotlib.

API::

    player = make_cue_player(enabled=True)   # -> CuePlayer
    player.play("tick")                       # True when a sound was started
    player.available, player.reason
    waveform("target", samplerate=44100)      # the float32 samples of a cue
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

import numpy as np

SAMPLERATE = 44100
AMPLITUDE = 0.3  # of full scale: audible without being harsh
FADE_S = 0.005  # raised-cosine fade in/out of every tone, so no click


@dataclass(frozen=True, slots=True)
class Tone:
    """One segment of a cue: ``freq_hz`` 0 is a silence; ``duration_s`` in seconds."""

    freq_hz: float
    duration_s: float


# Distinct pitch and length per cue: short high ticks, a rising pair to start, a bright
# three-note figure for the target, a falling pair to end.
CUES: dict[str, tuple[Tone, ...]] = {
    "countdown": (Tone(660.0, 0.12),),
    "go": (Tone(990.0, 0.45),),
    "start": (Tone(523.3, 0.12), Tone(0.0, 0.04), Tone(784.0, 0.18)),
    "tick": (Tone(1046.5, 0.06),),
    "target": (Tone(784.0, 0.12), Tone(0.0, 0.03), Tone(987.8, 0.12), Tone(0.0, 0.03),
               Tone(1318.5, 0.3)),
    "end": (Tone(784.0, 0.15), Tone(0.0, 0.04), Tone(523.3, 0.25)),
}
KINDS: frozenset[str] = frozenset(CUES)


def _tone(tone: Tone, samplerate: int) -> np.ndarray:
    n = round(tone.duration_s * samplerate)
    if tone.freq_hz <= 0:
        return np.zeros(n, dtype=np.float32)
    t = np.arange(n) / samplerate
    wave = AMPLITUDE * np.sin(2 * np.pi * tone.freq_hz * t)
    fade = min(round(FADE_S * samplerate), n // 2)
    if fade:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade))
        wave[:fade] *= ramp
        wave[n - fade:] *= ramp[::-1]
    return wave.astype(np.float32)


def waveform(kind: str, samplerate: int = SAMPLERATE) -> np.ndarray:
    """The mono samples of cue ``kind``: shape (N,), float32 in [-AMPLITUDE, AMPLITUDE].

    N = samplerate x the cue's total duration. Raises KeyError for an unknown kind.
    """
    return np.concatenate([_tone(tone, samplerate) for tone in CUES[kind]])


class CuePlayer(Protocol):
    """Plays cues; ``available`` is False when no real sound can be made (see ``reason``)."""

    available: bool
    reason: str

    def play(self, kind: str) -> bool:
        """Start cue ``kind`` without waiting; True if a sound (or bell) was started."""
        ...


class SilentPlayer:
    """Plays nothing; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.available = False
        self.reason = reason

    def play(self, kind: str) -> bool:
        """Do nothing (never raises)."""
        return False


class BellPlayer:
    """Rings the terminal bell ("\\a") for every cue: the fallback when PortAudio is missing."""

    def __init__(self, reason: str, stream: TextIO) -> None:
        self.available = False  # no real sound: the UI still says "sound off"
        self.reason = reason
        self._stream = stream

    def play(self, kind: str) -> bool:
        """Ring the bell for a known cue; False (and no bell) for an unknown one."""
        if kind not in KINDS:
            return False
        try:
            self._stream.write("\a")
            self._stream.flush()
        except (OSError, ValueError):  # closed or broken terminal: stay quiet
            return False
        return True


class SoundDevicePlayer:
    """Plays the numpy cues through ``sounddevice`` (non-blocking)."""

    def __init__(self, sd: Any, samplerate: int = SAMPLERATE) -> None:
        self.available = True
        self.reason = ""
        self._sd = sd
        self._samplerate = samplerate
        self._waves = {kind: waveform(kind, samplerate) for kind in CUES}

    def play(self, kind: str) -> bool:
        """Start the cue and return at once; a new cue cuts the one still playing.

        A failure of the audio device turns the player off (``available`` False, ``reason``
        set) instead of raising.
        """
        wave = self._waves.get(kind)
        if wave is None or not self.available:
            return False
        try:
            self._sd.play(wave, self._samplerate, blocking=False)
        except (self._sd.PortAudioError, OSError, ValueError) as exc:
            self.available = False
            self.reason = f"sound off: the audio device failed ({exc})"
            return False
        return True


def _fallback(reason: str, stream: TextIO) -> CuePlayer:
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return BellPlayer(reason + "; using the terminal bell", stream)
    return SilentPlayer(reason)


#: What the user is told when PortAudio is missing, with how to get it (README: Sound).
PORTAUDIO_MISSING = "PortAudio not found (Debian/Ubuntu: sudo apt install libportaudio2)"


def make_cue_player(enabled: bool, *, stream: TextIO | None = None) -> CuePlayer:
    """A cue player: real beeps when possible, else a bell or silence; never raises.

    ``enabled`` False gives a silent player. ``stream`` (default ``sys.stdout``) receives the
    terminal bell when sound is unavailable and it is a terminal.
    """
    if not enabled:
        return SilentPlayer("sound off (disabled)")
    out = sys.stdout if stream is None else stream
    try:
        import sounddevice as sd
    except OSError as exc:  # raised by sounddevice itself when libportaudio is missing
        text = str(exc)
        why = PORTAUDIO_MISSING if "portaudio" in text.lower() else text
        return _fallback(f"sound off: {why}", out)
    except ImportError:
        return _fallback("sound off: the sounddevice package is not installed", out)
    try:
        sd.query_devices(kind="output")
    except (sd.PortAudioError, ValueError) as exc:
        return _fallback(f"sound off: no audio output device ({exc})", out)
    return SoundDevicePlayer(sd)
