"""posecheck.analyse_input and posecheck.batch without the pose model: inputs, output
folders, the threads, and whole analyses of synthetic landmark files (the same code path as
a video after pose) and of synthetic videos with a stand-in model."""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from skeleton import Camera, LegPose, make_sequence, ramp_profile

from posecheck.analyse_input import AnalyseOptions, InputResult, analyse_file
from posecheck.annotated_video import shrink, video_size
from posecheck.batch import analyse_many, expand_inputs, output_dirs
from posecheck.errors import ModelError
from posecheck.landmark_io import write_landmarks
from posecheck.result_line import result_line
from posecheck.session import Session
from posecheck.stretches import load_catalogue
from posecheck.threads import Consumer, Prefetch
from posecheck.types import PoseFrame

FPS = 30.0


def stretch_frames(seconds: float = 18.0) -> list[PoseFrame]:
    """Seated, facing the camera: left hip 30° IR, right hip 35° ER, held 12 s."""
    left, right = (ramp_profile(peak, rest_s=2.0, ramp_s=1.0, hold_s=12.0)
                   for peak in (30.0, -35.0))
    return make_sequence(
        int(seconds * FPS),
        left=lambda t: LegPose(hip_flex=90, knee_flex=90, rot=left(t)),
        right=lambda t: LegPose(hip_flex=90, knee_flex=90, rot=right(t)),
        fps=FPS, camera=Camera())


@pytest.fixture(scope="module")
def landmark_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lm") / "seated.jsonl"
    write_landmarks(path, stretch_frames())
    return path


def opts(tmp_path: Path, **kw) -> AnalyseOptions:
    return AnalyseOptions(out_dir=tmp_path / "out", progress=False, **kw)


# ----------------------------------------------------------------------------- inputs
def test_expand_inputs_takes_videos_and_jsonl_from_folders_and_globs(tmp_path: Path):
    for name in ("b.mp4", "a.MOV", "c.jsonl", "notes.txt", "d.webm"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "e.mp4").write_bytes(b"x")
    got = expand_inputs([tmp_path])
    assert [p.name for p in got] == ["a.MOV", "b.mp4", "c.jsonl", "d.webm"]  # not recursive
    assert [p.name for p in expand_inputs([str(tmp_path / "*.mp4")])] == ["b.mp4"]
    # a file given twice (directly and through its folder) is analysed once
    assert len(expand_inputs([tmp_path / "b.mp4", tmp_path])) == 4


def test_a_missing_input_is_kept_so_that_it_fails_on_its_own(tmp_path: Path):
    assert expand_inputs([tmp_path / "nope.mp4"]) == [tmp_path / "nope.mp4"]
    result = analyse_file(tmp_path / "nope.mp4", tmp_path / "o", opts(tmp_path))
    assert not result.ok and "not found" in result.error


def test_output_dirs_never_share_a_folder(tmp_path: Path):
    inputs = [Path("x/cam01.mp4"), Path("y/cam01.mp4"), Path("cam01.jsonl"), Path("b.mov")]
    dirs = output_dirs(inputs, tmp_path)
    assert [d.name for d in dirs] == ["cam01", "cam01-2", "cam01-3", "b"]
    assert all(d.parent == tmp_path for d in dirs)


@pytest.mark.parametrize(("size", "expected"), [
    ((1080, 1920), (540, 960)),    # portrait phone video: halved
    ((1768, 994), (884, 497)),     # Sports2D's demo: halved (a whole factor), not 960 wide
    ((3840, 2160), (960, 540)),    # 4K: a quarter
    ((1280, 720), (640, 360)),
    ((640, 480), (640, 480)),      # never enlarged
])
def test_video_size_divides_by_a_whole_factor(size, expected):
    assert video_size(size) == expected
    assert max(video_size(size)) <= 960


def test_shrink_keeps_the_image_when_the_size_is_its_own():
    img = np.zeros((1920, 1080, 3), np.uint8)
    assert shrink(img, (540, 960)).shape == (960, 540, 3)
    assert shrink(img, (1080, 1920)) is img


# ----------------------------------------------------------------------------- threads
def test_prefetch_keeps_order_and_runs_the_iterable_in_its_thread():
    seen_threads = set()

    def items():
        for i in range(50):
            seen_threads.add(threading.current_thread().name)
            yield i * i

    assert list(Prefetch(items(), maxsize=2, name="pf")) == [i * i for i in range(50)]
    assert seen_threads == {"pf"}


def test_prefetch_raises_the_producer_error_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for item in Prefetch(items()):
            got.append(item)
    assert got == [1, 2]


def test_prefetch_close_stops_an_endless_producer():
    before = threading.active_count()

    def endless():
        i = 0
        while True:
            yield i
            i += 1

    pf = Prefetch(endless(), maxsize=2)
    assert next(iter(pf)) == 0
    pf.close()  # must return, with the thread gone
    assert threading.active_count() == before


def test_consumer_handles_every_item_in_order_and_reports_its_failure():
    seen: list[int] = []
    c = Consumer(seen.append, maxsize=2)
    for i in range(20):
        c.put(i)
    c.finish()
    assert seen == list(range(20))

    def fail(x: int) -> None:
        if x == 3:
            raise ValueError("bad frame")

    c = Consumer(fail, maxsize=2)
    with pytest.raises(ValueError, match="bad frame"):
        for i in range(100):
            c.put(i)
        c.finish()


# ----------------------------------------------------------------------------- landmark files
def test_landmark_file_gives_summary_csv_and_plot(tmp_path: Path, landmark_file: Path):
    out = tmp_path / "seated"
    result = analyse_file(landmark_file, out, opts(tmp_path))
    assert result.ok, result.error
    names = sorted(p.name for p in out.iterdir())
    assert names == ["angles.png", "frames.csv", "summary.json"]  # no video, no landmarks
    summary = json.loads((out / "summary.json").read_text())
    assert summary == json.loads(json.dumps(result.summary))
    assert summary["kind"] == "landmarks" and summary["model"] is None
    assert summary["input"] == str(landmark_file) and len(summary["content_sha256"]) == 64
    assert summary["fps"] == pytest.approx(FPS)
    assert summary["frames"] == summary["frames_with_pose"] == int(18 * FPS)
    assert summary["stretch"] is None  # both rotation stretches
    left, right = summary["sides"]["left"], summary["sides"]["right"]
    assert left["peak_internal_deg"] == pytest.approx(30.0, abs=1.5)
    assert right["peak_external_deg"] == pytest.approx(35.0, abs=1.5)
    assert [h["stretch"] for h in left["holds"]] == ["internal-rotation"]
    assert [h["stretch"] for h in right["holds"]] == ["external-rotation"]
    with (out / "frames.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == summary["frames"]
    assert max(float(r["left_rotation_deg"]) for r in rows) == pytest.approx(
        left["peak_internal_deg"], abs=0.01)
    assert (out / "angles.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _rotation_rows(out: Path) -> list[tuple[str, str]]:
    with (out / "frames.csv").open() as fh:
        return [(r["left_rotation_deg"], r["right_rotation_deg"]) for r in csv.DictReader(fh)]


def test_causal_analyse_gives_the_live_numbers_and_the_default_is_zero_phase(
        tmp_path: Path, landmark_file: Path):
    """--causal: exactly what a live Session shows; default: the offline zero-lag pass,
    whose rotation differs during the ramps but whose raw angles are the same."""
    from posecheck.landmark_io import read_landmarks

    causal = analyse_file(landmark_file, tmp_path / "c", opts(tmp_path, causal=True))
    zero = analyse_file(landmark_file, tmp_path / "z", opts(tmp_path))
    assert causal.ok and zero.ok
    cat = load_catalogue()
    live = Session([cat["internal-rotation"], cat["external-rotation"]])
    for pose in read_landmarks(landmark_file):
        live.update(pose)
    live.finish()
    assert causal.summary["sides"] == json.loads(json.dumps(live.summary()["sides"]))
    c, z = _rotation_rows(tmp_path / "c"), _rotation_rows(tmp_path / "z")
    assert len(c) == len(z) and c != z
    with (tmp_path / "c" / "frames.csv").open() as a, (tmp_path / "z" / "frames.csv").open() as b:
        assert [r["left_rotation_raw_deg"] for r in csv.DictReader(a)] == \
            [r["left_rotation_raw_deg"] for r in csv.DictReader(b)]
    # the zero-lag hold starts no later than the causal one (the causal filter lags)
    assert zero.summary["sides"]["left"]["holds"][0]["start_s"] <= \
        causal.summary["sides"]["left"]["holds"][0]["start_s"]


def test_result_line_names_peaks_holds_and_folder(tmp_path: Path, landmark_file: Path):
    result = analyse_file(landmark_file, tmp_path / "seated", opts(tmp_path))
    line = result_line(result)
    s = result.summary
    ir = round(s["sides"]["left"]["peak_internal_deg"])
    er = round(s["sides"]["right"]["peak_external_deg"])
    assert line.startswith(f"seated.jsonl: {s['frames']} frames, person in {s['frames']}; ")
    assert f"L peak IR {ir}°/ER" in line and f"/ER {er}°" in line
    assert line.endswith(f" -> {tmp_path / 'seated'}/")
    # the neutral reference: taken on both sides (seated still for 2 s), when and how large
    n = s["neutral"]["left"]
    assert n["captured"] and n["t"] is not None and n["window_s"][1] == n["t"]
    assert f"; 2 holds; neutral L {n['offset_deg']:+.1f}° at {n['t']:.1f} s, R " in line


def test_one_stretch_threshold_and_mot(tmp_path: Path, landmark_file: Path):
    out = tmp_path / "ir"
    result = analyse_file(landmark_file, out, opts(tmp_path, stretch="internal-rotation",
                                                   threshold_deg=32.0, mot=True))
    s = result.summary
    assert s["stretch"] == "internal-rotation" and s["threshold_deg"] == 32.0
    assert s["sides"]["left"]["holds"] == []  # a 30° stretch never reaches 32°
    mot = (out / "angles.mot").read_text()
    assert f"nRows={s['frames']}" in mot and "hip_rotation_l" in mot


def test_variable_frame_rate_landmarks_use_their_own_times(tmp_path: Path):
    frames = stretch_frames()
    rng = np.random.default_rng(3)
    t = np.cumsum(rng.uniform(0.02, 0.05, len(frames)))  # irregular, 20-50 ms apart
    vfr = [PoseFrame(t=float(ti), image_size=f.image_size, landmarks=f.landmarks,
                     world_landmarks=f.world_landmarks) for f, ti in zip(frames, t, strict=True)]
    path = tmp_path / "vfr.jsonl"
    write_landmarks(path, vfr)
    result = analyse_file(path, tmp_path / "vfr", opts(tmp_path))
    assert result.ok, result.error
    s = result.summary
    assert s["duration_s"] == pytest.approx(t[-1] - t[0])
    assert 1 / 0.05 < s["fps"] < 1 / 0.02
    assert s["sides"]["left"]["holds"]  # the hold is still found


@pytest.mark.parametrize(("content", "message"), [
    ("", "contains no frames"),
    ("\n\n", "contains no frames"),
    ("{not json\n", "line 1"),
    ('{"t": 1.0, "image_size": [640, 480], "landmarks": null, "world_landmarks": null}\n'
     '{"t": 0.5, "image_size": [640, 480], "landmarks": null, "world_landmarks": null}\n',
     "backwards"),
])
def test_malformed_landmark_file_fails_alone_and_leaves_no_partial_output(
        tmp_path: Path, content: str, message: str):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    result = analyse_file(path, tmp_path / "bad", opts(tmp_path))
    assert not result.ok and message in result.error and result.summary is None
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())


def test_no_person_in_any_frame_is_a_note_not_a_failure(tmp_path: Path):
    path = tmp_path / "empty_room.jsonl"
    write_landmarks(path, [PoseFrame(t=i / FPS, image_size=(640, 480)) for i in range(30)])
    result = analyse_file(path, tmp_path / "e", opts(tmp_path))
    assert result.ok and "no person" in result.note
    assert result.summary["frames_with_pose"] == 0
    assert "person in 0" in result_line(result) and "--" in result_line(result)


def zero_frame_video(path: Path) -> bytes:
    """The bytes of an mp4 the encoder was opened and closed on without any frame."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    writer.release()
    return path.read_bytes() if path.exists() else b""


@pytest.mark.parametrize(("name", "data", "message"), [
    ("notes.mp4", b"this is not a video\n" * 10, "cannot be opened"),
    ("empty.mp4", b"", "empty"),
    ("zero_frames.mp4", None, "video"),
])
def test_files_that_are_not_videos_fail_with_a_clear_message(tmp_path: Path, name, data,
                                                              message):
    path = tmp_path / name
    path.write_bytes(zero_frame_video(tmp_path / "z.mp4") if data is None else data)
    result = analyse_file(path, tmp_path / "o", opts(tmp_path))  # refused before the model
    assert not result.ok and message in result.error
    line = result_line(result)  # the file named once
    assert line.startswith(f"{name}: error: ") and line.count(name) == 1
    assert line.endswith(result.error.removeprefix(str(path)).lstrip(": "))
    assert not (tmp_path / "o").exists()


def test_a_broken_landmark_file_names_the_file_once_and_the_line(tmp_path: Path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"bad json\n')
    result = analyse_file(path, tmp_path / "o", opts(tmp_path))
    assert not result.ok
    line = result_line(result)  # not "broken.jsonl: error: , line 1: ..."
    assert line.startswith("broken.jsonl: error: line 1: invalid JSON"), line


def test_a_batch_keeps_going_after_a_bad_input_and_reports_in_order(tmp_path: Path,
                                                                     landmark_file: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("nonsense\n")
    seen: list[InputResult] = []
    results = analyse_many([bad, landmark_file], opts(tmp_path), jobs=1, on_result=seen.append)
    assert [r.ok for r in results] == [False, True]
    assert seen == results
    assert (tmp_path / "out" / "seated" / "summary.json").exists()


def test_parallel_jobs_give_the_same_summaries(tmp_path: Path, landmark_file: Path):
    copy = tmp_path / "again" / "seated.jsonl"
    copy.parent.mkdir()
    copy.write_bytes(landmark_file.read_bytes())
    results = analyse_many([landmark_file, copy], opts(tmp_path), jobs=2)
    assert [r.out_dir.name for r in results] == ["seated", "seated-2"]
    a, b = (r.summary for r in results)
    keys = ("frames", "sides", "by_stretch", "neutral", "content_sha256")
    assert {k: a[k] for k in keys} == {k: b[k] for k in keys}


# ----------------------------------------------------------------------------- video path
class FakeEstimator:
    """Stands in for PoseEstimator: the synthetic seated pose on every frame, or an error
    from frame ``fail_at`` on. Counts its resets and the times it saw since the last one."""

    fail_at: int | None = None
    error: type[Exception] = ModelError

    def __init__(self, model_path=None, **kw) -> None:
        self.model = SimpleNamespace(name="fake.task", sha256="0" * 64)
        self.calls = 0
        self.resets = 0
        self.closed = False
        self.times: list[float] = []
        self.pose = stretch_frames(0.1)[0]

    def reset(self) -> None:
        self.resets += 1
        self.times = []

    def close(self) -> None:
        self.closed = True

    def detect(self, image: np.ndarray, t: float) -> PoseFrame:
        if self.fail_at is not None and self.calls >= self.fail_at:
            raise self.error("the model broke")
        self.calls += 1
        self.times.append(t)
        h, w = image.shape[:2]
        return PoseFrame(t=t, image_size=(w, h), landmarks=self.pose.landmarks,
                         world_landmarks=self.pose.world_landmarks)

    def stream(self, frames, tracks: int = 1):
        for frame in frames:
            yield frame, self.detect(frame.image, frame.t)


@pytest.fixture
def small_video(tmp_path: Path) -> Path:
    """20 frames, 1200x640 (wider than 960 px: the annotated video is halved), 10 fps."""
    import cv2

    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (1200, 640))
    for i in range(20):
        writer.write(np.full((640, 1200, 3), 10 * i, np.uint8))
    writer.release()
    return path


def test_video_pipeline_writes_every_output_in_frame_order(tmp_path, small_video):
    import cv2

    out = tmp_path / "clip"
    result = analyse_file(small_video, out, opts(tmp_path), FakeEstimator())
    assert result.ok, result.error
    names = sorted(p.name for p in out.iterdir())
    assert names == ["angles.png", "annotated.mp4", "frames.csv", "landmarks.jsonl",
                     "summary.json"]
    s = result.summary
    assert s["kind"] == "video" and s["model"] == {"name": "fake.task", "sha256": "0" * 64}
    assert s["frames"] == s["frames_with_pose"] == 20 and s["fps"] == pytest.approx(10.0)
    lines = (out / "landmarks.jsonl").read_text().splitlines()
    times = [json.loads(line)["t"] for line in lines]
    assert times == sorted(times) and len(times) == 20
    assert json.loads(lines[0])["image_size"] == [1200, 640]  # the model saw the full frame
    cap = cv2.VideoCapture(str(out / "annotated.mp4"))
    assert (cap.get(cv2.CAP_PROP_FRAME_WIDTH), cap.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (600, 320)
    assert cap.get(cv2.CAP_PROP_FRAME_COUNT) == 20
    cap.release()


def _outputs(out: Path) -> dict[str, object]:
    summary = json.loads((out / "summary.json").read_text())
    summary.pop("started_at")  # the one field that may differ: the clock
    return {"landmarks": (out / "landmarks.jsonl").read_text(),
            "frames": (out / "frames.csv").read_text(), "summary": summary}


def test_a_given_model_is_reset_for_every_video_and_left_open(tmp_path, small_video):
    est = FakeEstimator()
    first = analyse_file(small_video, tmp_path / "a", opts(tmp_path, video=False), est)
    second = analyse_file(small_video, tmp_path / "b", opts(tmp_path, video=False), est)
    assert first.ok and second.ok
    assert est.resets == 2 and not est.closed  # the caller owns it
    assert est.times[0] == 0.0 and len(est.times) == 20  # the second video from its start
    assert _outputs(tmp_path / "a") == _outputs(tmp_path / "b")


def test_a_batch_loads_the_model_once_for_all_its_videos(tmp_path, small_video, monkeypatch):
    made: list[FakeEstimator] = []

    def new_estimator(options):
        made.append(FakeEstimator())
        return made[-1]

    monkeypatch.setattr("posecheck.batch.new_estimator", new_estimator)
    other = tmp_path / "other" / "clip.mp4"
    other.parent.mkdir()
    other.write_bytes(small_video.read_bytes())
    results = analyse_many([small_video, other], opts(tmp_path, video=False), jobs=1)
    assert [r.ok for r in results] == [True, True]
    assert len(made) == 1 and made[0].resets == 2 and made[0].closed
    assert made[0].calls == 40


@pytest.mark.parametrize("video", [True, False])
def test_a_failure_mid_video_stops_every_thread_and_discards_the_results(
        tmp_path, small_video, monkeypatch, video):
    monkeypatch.setattr(FakeEstimator, "fail_at", 5)
    out = tmp_path / "clip"
    before = threading.active_count()
    result = analyse_file(small_video, out, opts(tmp_path, video=video), FakeEstimator())
    assert not result.ok and "the model broke" in result.error
    left = sorted(p.name for p in out.iterdir())
    assert left == ["landmarks.jsonl"]  # the poses found before the failure; no temp files
    assert threading.active_count() == before


def test_a_programming_error_mid_video_propagates_without_hanging(tmp_path, small_video,
                                                                    monkeypatch):
    monkeypatch.setattr(FakeEstimator, "fail_at", 3)
    monkeypatch.setattr(FakeEstimator, "error", RuntimeError)
    before = threading.active_count()
    with pytest.raises(RuntimeError, match="the model broke"):
        analyse_file(small_video, tmp_path / "clip", opts(tmp_path), FakeEstimator())
    assert threading.active_count() == before


# ----------------------------------------------------------------------------- outputs agree
def bend_then_stretch_frames() -> list[PoseFrame]:
    """Knees straight-ish (20°) bending to 90° at 1.5-2.5 s (the rotation gate opens while
    the smoothed knee still lags under it), a neutral rest reading +3.5° (left) / -3° (right)
    rotation (a shank still within the 5° the image neutral allows), then 20° IR left and
    25° ER right beyond that rest, held 6 s."""
    def knee(t: float) -> float:
        return 20.0 if t < 1.5 else min(90.0, 20.0 + 70.0 * (t - 1.5))

    left = ramp_profile(20.0, rest_s=6.0, ramp_s=1.0, hold_s=6.0)
    right = ramp_profile(-25.0, rest_s=6.0, ramp_s=1.0, hold_s=6.0)
    return make_sequence(
        int(16 * FPS),
        left=lambda t: LegPose(hip_flex=90, knee_flex=knee(t), rot=3.5 + left(t)),
        right=lambda t: LegPose(hip_flex=90, knee_flex=knee(t), rot=-3.0 + right(t)),
        fps=FPS, camera=Camera())


@pytest.mark.parametrize("stretch", [None, "external-rotation"])
def test_frames_csv_plot_and_summary_show_one_corrected_number(tmp_path: Path, monkeypatch,
                                                               stretch: str | None):
    import posecheck.plots

    path = tmp_path / "bend.jsonl"
    write_landmarks(path, bend_then_stretch_frames())
    plotted: dict = {}
    real_plot = posecheck.plots.plot_angles

    def spy(out, t, rotation, **kw):
        plotted.update(t=np.asarray(t), rotation=rotation, measured=kw.get("measured"))
        return real_plot(out, t, rotation, **kw)

    monkeypatch.setattr(posecheck.plots, "plot_angles", spy)
    out = tmp_path / "bend"
    result = analyse_file(path, out, opts(tmp_path, stretch=stretch, mot=True))
    assert result.ok, result.error
    summary = result.summary
    from posecheck.mot import read_mot

    _, mot_columns, mot = read_mot(out / "angles.mot")
    with (out / "frames.csv").open() as fh:
        rows = list(csv.DictReader(fh))

    def cell(row: dict, name: str) -> float:
        return float(row[name]) if row[name] != "" else np.nan

    for side in ("left", "right"):
        s = summary["sides"][side]
        assert summary["neutral"][side]["captured"], "the rest must give a neutral reference"
        measured_rows = [r for r in rows if r[f"{side}_measured_deg"] != ""]
        assert measured_rows
        corrected = [cell(r, f"{side}_rotation_deg") for r in measured_rows]
        peak = max(corrected, key=abs)
        assert peak == pytest.approx(s["peak_rotation_deg"], abs=2e-3)
        shown = summary["by_stretch"][stretch or "internal-rotation"]["sides"][side]
        assert max(cell(r, f"{side}_measured_deg") for r in measured_rows) == pytest.approx(
            shown["peak_measured_deg"], abs=2e-3)
        # the neutral offset is not zero here, so uncorrected and corrected differ
        unc = [cell(r, f"{side}_rotation_uncorrected_deg") for r in measured_rows]
        assert max(unc, key=abs) == pytest.approx(s["peak_rotation_uncorrected_deg"], abs=2e-3)
        assert abs(s["peak_rotation_uncorrected_deg"] - s["peak_rotation_deg"]) > 3.0
        # the plotted series is that column (NaN where the stretch was not measured)
        column = np.array([cell(r, f"{side}_rotation_deg")
                           if r[f"{side}_measured_deg"] != "" else np.nan for r in rows])
        np.testing.assert_allclose(plotted["rotation"][side], column, atol=2e-3)
        np.testing.assert_allclose(plotted["t"], [float(r["t"]) for r in rows], atol=1e-4)
        # the OpenSim file holds the same corrected rotation in every row
        every = np.array([cell(r, f"{side}_rotation_deg") for r in rows])
        np.testing.assert_allclose(mot[:, mot_columns.index(f"hip_rotation_{side[0]}")],
                                   every, atol=2e-3)
        # a rotation value only where its own (smoothed) knee flexion meets the gate
        gated = [r for r in rows if r[f"{side}_rotation_deg"] != ""]
        assert gated and all(float(r[f"{side}_knee_flexion_deg"]) >= 45.0 for r in gated)
        assert any(float(r[f"{side}_knee_flexion_deg"]) < 45.0 for r in rows)


def test_deep_glute_result_line_names_the_adduction_it_measures(tmp_path: Path,
                                                                landmark_file: Path):
    result = analyse_file(landmark_file, tmp_path / "dg", opts(tmp_path, stretch="deep-glute"))
    line = result_line(result)
    s = result.summary["sides"]
    left = round(s["left"]["peak_measured_deg"])
    assert f"L peak adduction {left}°" in line and "R peak adduction" in line
    assert "IR" not in line and "ER" not in line


def test_an_error_line_names_the_file_once(tmp_path: Path):
    result = analyse_file(tmp_path / "nope.mp4", tmp_path / "nope", opts(tmp_path))
    line = result_line(result)
    assert line.startswith("nope.mp4: error: ") and line.count("nope.mp4") == 1, line


def test_without_a_stretch_the_status_names_both_targets(tmp_path: Path, landmark_file: Path):
    from posecheck.landmark_io import read_landmarks

    session = Session([load_catalogue()[i] for i in ("internal-rotation", "external-rotation")])
    statuses = {session.update(f).status for f in list(read_landmarks(landmark_file))[:20]}
    assert "Targets: internal rotation 20°, external rotation 25°" in statuses
    assert not any("Seated hip internal rotation: stretch to" in s for s in statuses)
