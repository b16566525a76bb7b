"""The shared session pipeline on synthetic seated stretches with known angles.

Each sequence is made by forward kinematics (tests/skeleton.py): the person sits facing
the camera, hips and knees at 90°, and rotates one hip by a known amount over time.
"""

from __future__ import annotations

import numpy as np
import pytest
from skeleton import Camera, LegPose, Noise, make_sequence, ramp_profile

from posecheck.session import Session
from posecheck.stretches import load_catalogue

FPS = 30.0
CAT = load_catalogue()
IR, ER, GLUTE = CAT["internal-rotation"], CAT["external-rotation"], CAT["deep-glute"]


def seated(rot_left=lambda t: 0.0, rot_right=lambda t: 0.0, seconds: float = 45.0,
           noise: bool = False, camera: Camera | None = None, abd_left=lambda t: 0.0):
    rng = np.random.default_rng(1) if noise else None
    return make_sequence(
        int(seconds * FPS),
        left=lambda t: LegPose(hip_flex=90, abd=abd_left(t), rot=rot_left(t), knee_flex=90),
        right=lambda t: LegPose(hip_flex=90, rot=rot_right(t), knee_flex=90),
        fps=FPS, camera=camera or Camera(), rng=rng, noise=Noise() if noise else None,
    )


def run(session: Session, frames) -> dict:
    for f in frames:
        session.update(f)
    session.finish()
    return session.summary()


def test_internal_rotation_hold_on_the_left_only():
    frames = seated(rot_left=ramp_profile(30.0))
    summary = run(Session([IR]), frames)
    left, right = summary["sides"]["left"], summary["sides"]["right"]
    assert left["peak_internal_deg"] == pytest.approx(30.0, abs=1.0)
    assert len(left["holds"]) == 1
    hold = left["holds"][0]
    # the angle first reaches the 20° threshold 2/3 of the way up the 2 s ramp (t = 4.33 s)
    # and leaves the exit level 17° at 3 + 2 + 35 + 2 * 13/30 = 40.87 s; the smoother lags a bit
    assert hold["start_s"] == pytest.approx(3 + 2 * 20 / 30, abs=0.3)
    assert hold["end_s"] == pytest.approx(40 + 2 * (1 - 17 / 30), abs=0.3)
    assert left["total_hold_s"] == pytest.approx(hold["duration_s"])
    assert right["holds"] == [] and right["peak_internal_deg"] == pytest.approx(0.0, abs=1.0)
    assert summary["stretch"] == "internal-rotation" and summary["frames"] == len(frames)


def test_external_rotation_is_measured_in_its_direction():
    frames = seated(rot_right=ramp_profile(-35.0))
    summary = run(Session([ER]), frames)
    right = summary["sides"]["right"]
    assert right["peak_external_deg"] == pytest.approx(35.0, abs=1.0)
    assert right["peak_rotation_deg"] == pytest.approx(-35.0, abs=1.0)
    assert right["holds"] and right["holds"][0]["peak_deg"] == pytest.approx(35.0, abs=1.0)
    assert summary["sides"]["left"]["holds"] == []


def test_without_a_stretch_both_rotation_stretches_are_reported():
    frames = seated(rot_left=ramp_profile(30.0), rot_right=ramp_profile(-35.0))
    summary = run(Session([IR, ER]), frames)
    assert summary["stretch"] is None
    assert set(summary["by_stretch"]) == {"internal-rotation", "external-rotation"}
    assert [h["stretch"] for h in summary["sides"]["left"]["holds"]] == ["internal-rotation"]
    assert [h["stretch"] for h in summary["sides"]["right"]["holds"]] == ["external-rotation"]


def test_threshold_override_changes_when_a_hold_counts():
    frames = seated(rot_left=ramp_profile(30.0))
    assert run(Session([IR], threshold_deg=35.0), frames)["sides"]["left"]["holds"] == []


def model_bias(frames, ankle_dx_px: float):
    """The pose model reads the left ankle ``ankle_dx_px`` pixels off (a model bias): the
    rotation reads off too while the shank still looks vertical to within a few degrees."""
    from posecheck.types import PoseFrame

    out = []
    for f in frames:
        lm = f.landmarks.copy()
        lm[27, 0] += ankle_dx_px / f.image_size[0]
        out.append(PoseFrame(f.t, f.image_size, lm, f.world_landmarks))
    return out


def test_neutral_offset_is_taken_before_the_first_hold_and_subtracted():
    # the model reads the neutral shank ~3.7 deg off (ankle 14 px off on a 217 px shank);
    # the image still shows a vertical shank, so it is taken as neutral and subtracted
    frames = model_bias(seated(rot_left=ramp_profile(25.0)), -14.0)
    with_neutral = run(Session([IR]), frames)["sides"]["left"]
    without = run(Session([IR], neutral=False), frames)["sides"]["left"]
    bias = without["peak_internal_deg"] - 25.0
    assert abs(bias) > 2.0
    assert with_neutral["neutral_offset_deg"] == pytest.approx(bias, abs=1.0)
    assert with_neutral["peak_internal_deg"] == pytest.approx(25.0, abs=1.0)
    assert with_neutral["peak_rotation_uncorrected_deg"] == pytest.approx(25.0 + bias, abs=1.0)
    assert without["neutral_offset_deg"] == 0.0


def test_a_leg_held_rotated_from_the_first_frame_reads_its_rotation():
    # 10 deg of ER from the first frame: the shank is never vertical, so no neutral is
    # taken and the leg reads 10 deg of ER, not 0 (the rule)
    frames = seated(rot_left=lambda t: -10.0, seconds=8)
    summary = run(Session([IR, ER]), frames)
    assert summary["neutral"]["left"]["captured"] is False
    assert summary["sides"]["left"]["peak_external_deg"] == pytest.approx(10.0, abs=1.0)
    assert summary["neutral"]["right"]["captured"] is True


def test_no_neutral_when_the_person_starts_already_stretched():
    frames = seated(rot_left=lambda t: 28.0, seconds=10)
    summary = run(Session([IR]), frames)
    assert summary["neutral"]["left"]["captured"] is False
    assert summary["sides"]["left"]["peak_internal_deg"] == pytest.approx(28.0, abs=1.0)


def test_noisy_landmarks_still_give_one_hold_and_a_close_peak():
    frames = seated(rot_left=ramp_profile(30.0), noise=True)
    left = run(Session([IR]), frames)["sides"]["left"]
    assert len(left["holds"]) == 1
    assert left["holds"][0]["duration_s"] == pytest.approx(36.5, abs=1.5)
    assert left["holds"][0]["mean_deg"] == pytest.approx(30.0, abs=3.0)


def test_frames_without_a_person_are_gaps_not_numbers():
    frames = seated(rot_left=ramp_profile(30.0))
    from posecheck.types import PoseFrame

    # 2 s with nobody in view in the middle of the hold: longer than the 1 s bridge
    cut = [PoseFrame(f.t, f.image_size) if 20.0 <= f.t < 22.0 else f for f in frames]
    session = Session([IR])
    results = [session.update(f) for f in cut]
    session.finish()
    assert all(r.measured["left"] is None for r in results if 20.0 <= r.t < 22.0)
    holds = session.summary()["sides"]["left"]["holds"]
    assert len(holds) == 2
    assert holds[0]["end_s"] == pytest.approx(20.0, abs=0.05)
    assert session.summary()["frames_with_pose"] == len(frames) - 60


def test_side_view_shows_dashes_and_says_face_the_camera():
    frames = seated(rot_left=lambda t: 25.0, seconds=2, camera=Camera(yaw=85))
    session = Session([IR])
    result = [session.update(f) for f in frames][-1]
    assert result.measured["left"] is None
    assert any(w.code == "facing" for w in result.warnings)
    assert "Face the camera" in result.status


def test_deep_glute_measures_adduction():
    frames = seated(abd_left=lambda t: -25.0 * min(1.0, max(0.0, t - 3.0) / 2.0), seconds=40)
    left = run(Session([GLUTE]), frames)["sides"]["left"]
    assert left["peak_measured_deg"] == pytest.approx(25.0, abs=2.0)


def test_a_deep_glute_stretch_read_4_deg_short_still_counts_as_a_hold():
    # an 18 deg stretch that MediaPipe reads as 14 deg (seen on rendered people) is a hold:
    # the threshold sits a measurement error below the stretch a stiff hip reaches
    frames = seated(abd_left=lambda t: -14.0 * min(1.0, max(0.0, t - 3.0) / 1.5), seconds=12)
    holds = run(Session([GLUTE]), frames)["sides"]["left"]["holds"]
    assert len(holds) == 1 and holds[0]["duration_s"] > 5.0


def test_replay_gives_identical_results():
    frames = seated(rot_left=ramp_profile(30.0), noise=True, seconds=20)
    a, b = Session([IR]), Session([IR])
    ra = [a.update(f).measured["left"] for f in frames]
    rb = [b.update(f).measured["left"] for f in frames]
    assert ra == rb


def test_raw_angles_from_an_earlier_pass_give_the_same_results():
    """analyse's offline pass hands the first pass's raw angles back instead of running the
    geometry again: every number must be as if it had been recomputed."""
    frames = seated(rot_left=ramp_profile(30.0), rot_right=ramp_profile(-35.0), noise=True,
                    seconds=20)
    first = Session([IR, ER])
    results = [first.update(f) for f in frames]
    again, reused = Session([IR, ER]), Session([IR, ER])
    for r in results:
        a, b = again.update(r.pose), reused.update(r.pose, r.raw)
        assert (a.measured, a.rotation_deg, a.raw, a.status) == \
            (b.measured, b.rotation_deg, b.raw, b.status)
    again.finish()
    reused.finish()
    assert again.summary() == reused.summary()
    # raw angles of another frame are refused, not silently used
    with pytest.raises(ValueError, match="raw angles of t="):
        Session([IR]).update(results[3].pose, results[4].raw)


def test_frames_out_of_order_are_rejected():
    frames = seated(seconds=1)
    session = Session([IR])
    session.update(frames[5])
    with pytest.raises(ValueError, match="time order"):
        session.update(frames[0])


def test_neutral_offset_applies_to_frames_seen_before_it_was_taken():
    # 1 s at 11 deg, then still at 0 with the model reading it 3.7 deg off (taken as
    # neutral): the early frames are corrected by the same offset
    frames = model_bias(seated(rot_left=lambda t: 11.0 if t < 1.0 else 0.0, seconds=6), -14.0)
    summary = run(Session([IR]), frames)
    left = summary["sides"]["left"]
    assert summary["neutral"]["left"]["captured"]
    assert summary["neutral"]["left"]["t"] > 2.0
    offset = left["neutral_offset_deg"]
    assert abs(offset) > 2.0
    uncorrected = left["peak_rotation_uncorrected_deg"]
    assert left["peak_internal_deg"] == pytest.approx(uncorrected - offset)
    assert left["peak_measured_deg"] == pytest.approx(uncorrected - offset)


def test_left_right_label_swaps_are_repaired():
    from posecheck.landmarks import MIRROR
    from posecheck.types import PoseFrame

    frames = seated(rot_left=ramp_profile(30.0), seconds=20)
    # the model swaps the labels of the two sides for a third of a second, twice
    swapped = [
        PoseFrame(f.t, f.image_size, f.landmarks[list(MIRROR)], f.world_landmarks[list(MIRROR)])
        if (8.0 <= f.t < 8.33 or 12.0 <= f.t < 12.33) else f for f in frames]
    clean, repaired = Session([IR]), Session([IR])
    a = [clean.update(f).measured["left"] for f in frames]
    b = [repaired.update(f).measured["left"] for f in swapped]
    assert a == b
    assert repaired.summary()["swaps_repaired"] == 20
    assert clean.summary()["swaps_repaired"] == 0


def test_end_range_time_and_camera_setup_are_in_the_summary():
    # 35 s held flat at 30° plus the top 5° of both 2 s ramps (2 x 2 x 5/30 s = 0.67 s)
    frames = seated(rot_left=ramp_profile(30.0))
    left = run(Session([IR], smooth=False), frames)["sides"]["left"]
    assert left["end_range_s"] == pytest.approx(35.0 + 4 * 5 / 30, abs=0.15)
    # a peak of a single frame: end range is that short moment, not the hold
    spike = run(Session([IR], smooth=False),
                seated(rot_left=lambda t: 30.0 + (10.0 if 20.0 <= t < 20.02 else 0.0)
                       if t >= 3 else 0.0))["sides"]["left"]
    assert spike["end_range_s"] < 0.2
    front = run(Session([IR]), frames)["setup"]
    assert (front["image_width"], front["image_height"]) == (1280, 720)
    assert abs(front["view_yaw_deg"]) < 3.0
    turned = run(Session([IR]), seated(rot_left=ramp_profile(30.0), seconds=10,
                                      camera=Camera(yaw=30)))["setup"]
    assert abs(turned["view_yaw_deg"] - front["view_yaw_deg"]) == pytest.approx(30.0, abs=3.0)


@pytest.mark.parametrize(("yaw", "side"), [(45.0, "right"), (-45.0, "left")])
def test_a_camera_45_degrees_to_the_side_is_named_in_the_status_and_summary(yaw, side):
    frames = seated(rot_left=lambda t: 25.0, seconds=3, camera=Camera(yaw=yaw))
    session = Session([IR])
    results = [session.update(f) for f in frames]
    late = [r for r in results if r.t >= 1.0]
    # rotation reads low from there: `--` (no value, no hold, no peak) with the message
    assert all(r.rotation_deg["left"] is None and r.measured["left"] is None for r in late)
    camera = [w for w in late[-1].warnings if w.code == "camera_angle"]
    assert camera and f"to your {side}" in camera[0].text
    assert late[-1].status == camera[0].text
    summary = session.summary()
    assert f"to your {side}" in summary["setup"]["camera_message"]
    assert summary["sides"]["left"]["holds"] == []


def test_a_camera_20_degrees_to_the_side_is_measured():
    frames = seated(rot_left=lambda t: 25.0, seconds=3, camera=Camera(yaw=20))
    session = Session([IR])
    results = [session.update(f) for f in frames]
    assert all(r.rotation_deg["left"] is not None for r in results if r.t >= 1.0)
    assert session.summary()["setup"]["camera_message"] is None


def test_updates_in_batches_give_exactly_the_frame_by_frame_results():
    """Session.updates runs the geometry of a batch in one vectorized call: every result
    and the summary must be those of update() frame by frame, bit for bit, whatever the
    batch size (here on noisy frames with a swing, a neutral and holds)."""
    frames = seated(rot_right=ramp_profile(35.0, hold_s=8.0),
                    rot_left=ramp_profile(-20.0, rest_s=15.0, hold_s=8.0), seconds=30.0, noise=True)
    one = Session([IR, ER])
    expected = [one.update(f) for f in frames]
    for size in (1, 7, len(frames)):
        s = Session([IR, ER])
        got = []
        for i in range(0, len(frames), size):
            got += list(s.updates(frames[i:i + size]))
        fields = ("raw", "smoothed", "measured", "holding", "hold_elapsed", "events",
                  "warnings", "status", "rotation_deg", "neutral_offset_deg")
        for a, b in zip(got, expected, strict=True):
            assert [getattr(a, f) for f in fields] == [getattr(b, f) for f in fields]
        assert s.summary() == one.summary()
    assert any(r.events for r in expected) and any(r.measured["right"] for r in expected)
    with pytest.raises(ValueError, match="raw angles"):
        list(Session([IR]).updates(frames[:3], [expected[0].raw]))
