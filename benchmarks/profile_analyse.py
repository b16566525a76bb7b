"""Where ``analyse`` spends its CPU: each stage of the per-frame work timed on its own.

Run: ``python benchmarks/profile_analyse.py VIDEO [--infer-max-side PX]``.

The stages run one after another in one thread, frame by frame, nothing kept (as in the
real pipeline, so memory is reused): decode (one FFmpeg thread), cvtColor, pose inference
(on the full frame, or with ``--infer-max-side`` on a copy downscaled with INTER_AREA, as
analyse did before issue 14, the resize timed apart), session (the geometry of
GEOMETRY_BATCH frames at once, as analyse runs it), per-frame writers, and for the frames
the annotated video shows (at most VIDEO_MAX_FPS) shrink, overlay and encoding. Each is
timed with ``process_time`` around the call: with the loop sequential, the other threads
(FFmpeg's, MediaPipe's) work only for the call being timed. Prints CPU ms per frame per
stage; on a shared machine the absolute figures move with the load (printed), their
proportions much less.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2

from posecheck.analyse_input import GEOMETRY_BATCH, AnalyseOptions, _new_session
from posecheck.annotated_video import VIDEO_MAX_FPS, shrink, video_size
from posecheck.folder import FrameWriters
from posecheck.outputs import VideoSink
from posecheck.pose import PoseEstimator
from posecheck.render import Annotator, OverlayInfo
from posecheck.sources import FileSource

STAGES = ("decode", "cvtColor", "resize for the model", "inference", "session", "writers",
          "shrink for the video", "overlay", "encode")


def profile(video: Path, infer_max_side: int) -> tuple[int, dict[str, float]]:
    spent = dict.fromkeys(STAGES, 0.0)
    clock = time.process_time
    cap = cv2.VideoCapture(str(video), cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    with FileSource(video) as probe:
        size = probe.size
    small = video_size(size)
    model_size = size
    if infer_max_side and max(size) > infer_max_side:  # exactly that side, as analyse did
        scale = infer_max_side / max(size)
        model_size = (round(size[0] * scale), round(size[1] * scale))
    session = _new_session(AnalyseOptions())
    annotator, info = Annotator(), OverlayInfo(stretch=None, mirrored=False)
    n = 0
    with PoseEstimator() as est, tempfile.TemporaryDirectory() as d:
        writers = FrameWriters(Path(d), mot=False, landmarks=True, gate_rotation=True)
        sink = VideoSink(Path(d) / "annotated.mp4",
                         min(cap.get(cv2.CAP_PROP_FPS) or 30.0, VIDEO_MAX_FPS), small)

        def timed(stage: str, fn, *args):  # type: ignore[no-untyped-def]
            c = clock()
            out = fn(*args)
            spent[stage] += clock() - c
            return out

        pace = VideoSink.Pace(sink.fps)
        batch: list = []

        def feed() -> None:  # as analyse: the geometry of a batch at once, video <= 30 fps
            results = timed("session", lambda b: list(session.updates(b)),
                            [p for _, p in batch])
            for (small_rgb, _), result in zip(batch, results, strict=True):
                timed("writers", writers.frame, result)
                if small_rgb is not None:
                    drawn = timed("overlay", annotator.annotate, small_rgb, result, info)
                    timed("encode", sink.write, drawn, result.t)
            batch.clear()

        while True:
            ok, bgr = timed("decode", cap.read)
            if not ok:
                break
            t = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            rgb = timed("cvtColor", cv2.cvtColor, bgr, cv2.COLOR_BGR2RGB)
            image = timed("resize for the model", lambda im: cv2.resize(
                im, model_size, interpolation=cv2.INTER_AREA), rgb) if model_size != size \
                else rgb
            pose = timed("inference", est.detect, image, t)
            small_rgb = timed("shrink for the video", shrink, rgb, small) \
                if pace.due(t) else None
            batch.append((small_rgb, pose.__class__(pose.t, size, pose.landmarks,
                                                    pose.world_landmarks)))
            if len(batch) == GEOMETRY_BATCH:
                feed()
            n += 1
        feed()
        sink.close()
        writers.finish()
    cap.release()
    return n, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--infer-max-side", type=int, default=0, metavar="PX",
                        help="hand the model a copy downscaled to this longest side "
                        "(0 = the full frame, as analyse does)")
    args = parser.parse_args()
    n, spent = profile(args.video, args.infer_max_side)
    print(f"{args.video.name}: {n} frames, model input "
          f"{'full frame' if not args.infer_max_side else f'<= {args.infer_max_side} px'}, "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; CPU ms/frame:")
    for stage in STAGES:
        print(f"  {stage:22s} {spent[stage] * 1000 / max(1, n):6.1f}")
    print(f"  {'total':22s} {sum(spent.values()) * 1000 / max(1, n):6.1f}")


if __name__ == "__main__":
    main()
