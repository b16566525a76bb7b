"""Locate and check the pose model bundle (a MediaPipe Pose Landmarker ``.task`` file).

The bundled default is ``models/pose_landmarker_full.task`` at the repository root (see
``models/README.md``); the environment variable ``POSECHECK_MODEL`` overrides it. The
default is checked against its recorded sha256; a user-supplied bundle (``--model PATH``,
any official lite/full/heavy pose landmarker) is checked to be an undamaged zip (every
member's CRC) holding the two TFLite graphs.

Must not import mediapipe or cv2 (standard library only), so checking the model is cheap
and the error is clear before any heavy import.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from posecheck.errors import ModelError
from posecheck.summary import file_sha256

ENV_VAR = "POSECHECK_MODEL"
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
DEFAULT_MODEL = MODELS_DIR / "pose_landmarker_full.task"
REQUIRED_ENTRIES = ("pose_detector.tflite", "pose_landmarks_detector.tflite")
TFLITE_MAGIC = b"TFL3"  # bytes 4..8 of a TFLite flatbuffer
REBUILD_HINT = "rebuild it with `python models/build_model.py`"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """A checked model bundle: ``name`` is the file name, ``sha256`` its hex digest."""

    name: str
    path: Path
    sha256: str


def default_model_path() -> Path:
    """The model to use when none is given: ``$POSECHECK_MODEL`` or the bundled default."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return DEFAULT_MODEL


def expected_sha256(path: Path = DEFAULT_MODEL) -> str | None:
    """The sha256 recorded next to ``path`` (``<name>.sha256``), or None if there is none."""
    record = path.with_name(path.name + ".sha256")
    try:
        text = record.read_text(encoding="utf-8").split()
    except OSError:
        return None
    return text[0].lower() if text else None


def _check_bundle(path: Path, hint: str) -> None:
    """Raise ModelError unless ``path`` is an undamaged zip holding both TFLite graphs.

    Every member's CRC-32 is checked (a flipped byte in the weights would otherwise load
    and give wrong landmarks), and both graphs must be TFLite flatbuffers ("TFL3").
    """
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            missing = [name for name in REQUIRED_ENTRIES if name not in names]
            if missing:
                raise ModelError(f"Pose model {path} is not a pose landmarker bundle "
                                 f"(missing {', '.join(missing)}): {hint}.")
            bad = zf.testzip()
            if bad is not None:
                raise ModelError(f"Pose model {path} is damaged ({bad} fails its CRC "
                                 f"check): {hint}.")
            for name in REQUIRED_ENTRIES:
                with zf.open(name) as fh:
                    if fh.read(8)[4:8] != TFLITE_MAGIC:
                        raise ModelError(f"Pose model {path} is damaged ({name} is not a "
                                         f"TFLite model): {hint}.")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise ModelError(f"Pose model {path} is not a MediaPipe .task bundle (not a "
                         f"readable zip file: {exc or 'truncated'}; truncated or corrupt?): "
                         f"{hint}.") from None
    except OSError as exc:
        raise ModelError(f"Cannot read pose model {path} ({exc.strerror or exc}); "
                         f"{hint}.") from None


def verify_model(path: Path | str | None = None, *, expect_sha256: bool | None = None
                 ) -> ModelInfo:
    """Check that ``path`` (default: :func:`default_model_path`) is a usable pose bundle.

    ``expect_sha256`` compares the file with its recorded checksum; by default (None) this
    is done only for the bundled default model. Raises :class:`ModelError` with one line
    naming the fix when the file is missing, unreadable, not a bundle or does not match.
    """
    path = Path(path).expanduser() if path is not None else default_model_path()
    is_default = path.resolve() == DEFAULT_MODEL.resolve()
    hint = REBUILD_HINT if is_default else "pass an official MediaPipe pose landmarker .task"
    if expect_sha256 is None:
        expect_sha256 = is_default
    if not path.exists():
        raise ModelError(f"Pose model not found: {path}; {hint}.")
    if not path.is_file():
        raise ModelError(f"Pose model {path} is not a file; {hint}.")
    try:
        digest = file_sha256(path)
    except OSError as exc:
        raise ModelError(f"Cannot read pose model {path} ({exc.strerror}); {hint}.") from None
    if expect_sha256:
        want = expected_sha256(path) or expected_sha256(DEFAULT_MODEL)
        if want is None:
            raise ModelError(f"No checksum file next to pose model {path}; {REBUILD_HINT}.")
        if digest != want:
            raise ModelError(f"Pose model {path} does not match its checksum (sha256 "
                             f"{digest[:12]}..., expected {want[:12]}...); {REBUILD_HINT}.")
    _check_bundle(path, hint)
    return ModelInfo(name=path.name, path=path, sha256=digest)
