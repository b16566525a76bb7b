"""``posecheck landmarks VIDEO -o FILE.jsonl``: extract pose landmarks to the replay format.

Runs MediaPipe on every frame of a video file and writes one JSON line per frame (see
``docs/landmark-format.md``), so later analyses can be replayed without the model.
Heavy imports (cv2, mediapipe, tqdm) happen inside :func:`run`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from posecheck.cli._store_args import add_model_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``landmarks`` command."""
    parser = subparsers.add_parser(
        "landmarks", help="extract pose landmarks of a video to a JSONL file",
        description="Run the pose model on every frame of VIDEO and write one JSON line per "
        "frame: time (s), image size, 33 normalized landmarks and 33 world landmarks (m), "
        "or null when no person is found.")
    parser.add_argument("video", metavar="VIDEO", help="video file to read")
    parser.add_argument("-o", "--output", metavar="FILE.jsonl", required=True, type=Path,
                        help="landmark file to write (replaced atomically)")
    add_model_argument(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Extract landmarks; prints a one-line result. Returns the exit status."""
    from tqdm import tqdm

    from posecheck.guard import inputs, refuse_overwrite
    from posecheck.landmark_io import LandmarkWriter
    from posecheck.model import verify_model
    from posecheck.pose import PoseEstimator, tracks_for
    from posecheck.sources import open_source

    model = verify_model(args.model)  # a bad model fails before any decoding
    refuse_overwrite([args.output], inputs([args.video], "the input video")
                     + inputs([model.path], "the pose model"))
    found = frames = 0
    last_t = 0.0
    with open_source(args.video) as source, PoseEstimator(args.model, mode="video") as est, \
            LandmarkWriter(args.output) as writer:
        bar = tqdm(total=source.frame_count, unit="frame", desc="landmarks",
                   disable=args.no_progress, file=sys.stderr, leave=False)
        with bar:
            # the same tracking as analyse (tracks_for), so replaying this file gives
            # exactly the numbers analyse gives on the video
            for frame, pose in est.stream(source, tracks_for(source.fps)):
                writer.write(pose)
                frames += 1
                found += pose.has_pose
                last_t = frame.t
                bar.update(1)
        error = source.error
    if error:
        print(f"Warning: {error}", file=sys.stderr)
    seconds = last_t + (1.0 / source.fps if source.fps else 0.0) if frames else 0.0
    print(f"{args.output}: {frames} frames, person found in {found} "
          f"({100.0 * found / max(frames, 1):.0f}%), {seconds:.2f} s of video")
    return 0
