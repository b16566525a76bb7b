"""Rebuild ``models/pose_landmarker_full.task`` reproducibly from the mediapipe 0.10.21 wheel.

Why this exists: mediapipe 1.x only has the Tasks API and ships no pose model, and the
official ``.task`` download is not reachable from the machines we build on. The mediapipe
0.10.21 wheel (Apache-2.0) contains the two BlazePose TFLite graphs of the legacy
``mp.solutions.pose`` (``pose_detection.tflite`` and ``pose_landmark_full.tflite``). The
Tasks API accepts them once they carry image-input metadata (NormalizationOptions), which
the 0.10.21 metadata writer can add (its copy in mediapipe 1.x cannot be imported).

Steps:

1. create a temporary venv and install the 0.10.21 wheel there with ``--no-deps`` plus the
   few packages its metadata writer needs (flatbuffers, numpy<2, absl-py, protobuf<5): the
   full dependency set (jax, opencv, ...) is not needed to write metadata;
2. in that venv (``--worker`` mode of this same file) read the two TFLite files from the
   installed package and add the normalization metadata
   (detector: mean 127.5 / std 127.5; landmark model: mean 0 / std 255, RGB input);
3. back in the calling interpreter, zip them STORED (not deflated) as
   ``pose_detector.tflite`` + ``pose_landmarks_detector.tflite`` with fixed timestamps,
   order, permissions and 4-byte data alignment, so the output is byte-for-byte
   reproducible, and print its sha256.

Usage (network needed only to fetch the wheel and the helper packages)::

    python models/build_model.py                      # pip installs mediapipe==0.10.21
    python models/build_model.py --wheel /path/to/mediapipe-0.10.21-cp311-...whl

The build runs once, at development time; posecheck never imports the 0.10.21 wheel.
This script imports only the standard library in the calling interpreter.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import struct
import subprocess
import sys
import tempfile
import venv
import zipfile
from pathlib import Path

MEDIAPIPE_VERSION = "0.10.21"
HELPER_PACKAGES = ("flatbuffers>=2.0", "numpy<2", "absl-py", "protobuf>=4.25.3,<5")
HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "pose_landmarker_full.task"

# bundle entry -> (path inside the mediapipe package, norm mean, norm std, description)
MODELS: dict[str, tuple[str, float, float, str]] = {
    "pose_detector.tflite": (
        "modules/pose_detection/pose_detection.tflite", 127.5, 127.5,
        "BlazePose person detector (mediapipe 0.10.21 pose_detection.tflite)",
    ),
    "pose_landmarks_detector.tflite": (
        "modules/pose_landmark/pose_landmark_full.tflite", 0.0, 255.0,
        "BlazePose GHUM 3D full landmark model (mediapipe 0.10.21 pose_landmark_full.tflite)",
    ),
}
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
ALIGNMENT = 4  # MediaPipe memory-maps bundle entries; keep data 4-byte aligned as it does.


def _run(cmd: list[str]) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def make_build_venv(tmp: Path, wheel: Path | None) -> Path:
    """Create the throw-away venv with mediapipe 0.10.21; returns its python."""
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / "bin" / "python"
    target = str(wheel) if wheel else f"mediapipe=={MEDIAPIPE_VERSION}"
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run([*pip, "--no-deps", target])
    _run([*pip, *HELPER_PACKAGES])
    return python


def _aligned_zipinfo(name: str, offset: int) -> zipfile.ZipInfo:
    """A STORED ZipInfo with fixed metadata whose data starts on an ALIGNMENT boundary.

    The padding goes in an extra field (id 0xD935, as Android's zipalign does) so the
    archive stays standard.
    """
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
    info.compress_type = zipfile.ZIP_STORED
    info.create_system = 3
    info.external_attr = 0o100644 << 16
    base = offset + 30 + len(name.encode()) + 4  # local header + name + extra header
    pad = (-base) % ALIGNMENT
    info.extra = struct.pack("<HH", 0xD935, pad) + b"\x00" * pad
    return info


def write_bundle(entries: dict[str, bytes], output: Path) -> str:
    """Write the STORED, aligned, fixed-timestamp zip; returns its sha256 (hex)."""
    tmp_out = output.with_suffix(".tmp")
    with zipfile.ZipFile(tmp_out, "w", compression=zipfile.ZIP_STORED) as zf:
        for name in sorted(entries):
            assert zf.fp is not None
            info = _aligned_zipinfo(name, zf.fp.tell())
            zf.writestr(info, entries[name])
    tmp_out.replace(output)
    return hashlib.sha256(output.read_bytes()).hexdigest()


def build(wheel: Path | None, output: Path) -> str:
    """Run the whole build; returns the sha256 of ``output``."""
    with tempfile.TemporaryDirectory(prefix="posecheck-model-") as tmp_name:
        tmp = Path(tmp_name)
        python = make_build_venv(tmp, wheel)
        out_dir = tmp / "out"
        out_dir.mkdir()
        _run([str(python), str(Path(__file__).resolve()), "--worker", str(out_dir)])
        report = json.loads((out_dir / "sources.json").read_text())
        entries = {name: (out_dir / name).read_bytes() for name in MODELS}
    digest = write_bundle(entries, output)
    output.with_name(output.name + ".sha256").write_text(f"{digest}  {output.name}\n")
    for name, info in report.items():
        print(f"source {info['path']}: sha256 {info['sha256']} -> {name}")
    return digest


# ---------------------------------------------------------------- worker (inside the venv)

def _import_metadata_writer() -> tuple[Path, object]:
    """Import the 0.10.21 metadata writer without running ``mediapipe/__init__.py``.

    The package ``__init__`` files import the whole framework (and cv2); stub them as bare
    namespace modules so only the metadata writer and its compiled helpers load.
    """
    import importlib.util
    import types

    spec = importlib.util.find_spec("mediapipe")
    assert spec is not None and spec.submodule_search_locations is not None
    root = Path(next(iter(spec.submodule_search_locations)))
    for dotted in ("mediapipe", "mediapipe.tasks", "mediapipe.tasks.python"):
        module = types.ModuleType(dotted)
        module.__path__ = [str(root.joinpath(*dotted.split(".")[1:]))]
        sys.modules[dotted] = module
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer

    return root, metadata_writer


def worker(out_dir: Path) -> None:
    """Add the normalization metadata to both TFLite files; write them to ``out_dir``."""
    root, metadata_writer = _import_metadata_writer()
    sources = {}
    for name, (rel, mean, std, description) in MODELS.items():
        raw = (root / rel).read_bytes()
        sources[name] = {"path": f"mediapipe/{rel}", "sha256": hashlib.sha256(raw).hexdigest()}
        writer = metadata_writer.MetadataWriter.create(bytearray(raw))
        writer.add_general_info(Path(rel).stem, description)
        writer.add_image_input(norm_mean=[mean], norm_std=[std])
        model, _json = writer.populate()
        (out_dir / name).write_bytes(bytes(model))
    (out_dir / "sources.json").write_text(json.dumps(sources, indent=1, sort_keys=True))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="use this mediapipe 0.10.21 wheel file "
                        "instead of installing mediapipe==0.10.21 from PyPI")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker)
        return 0
    digest = build(args.wheel.resolve() if args.wheel else None, args.output.resolve())
    print(f"{args.output.name}: sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
