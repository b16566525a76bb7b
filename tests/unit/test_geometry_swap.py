"""Left/right swap detection by minimum displacement between frames."""

from __future__ import annotations

import numpy as np
import pytest
from skeleton import LegPose, Noise, make_sequence

from posecheck.geometry import detect_swaps, fix_swaps, hip_angles
from posecheck.landmarks import MIRROR


def _sequence(n: int = 30) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    rng = np.random.default_rng(2)
    frames = make_sequence(n, LegPose(90, 10, 30, 90), LegPose(90, 10, -20, 90), rng=rng,
                           noise=Noise())
    image = np.stack([f.landmarks for f in frames])
    world = np.stack([f.world_landmarks for f in frames])
    return image, world, frames[0].image_size


def test_injected_swaps_are_found_and_repaired() -> None:
    image, world, size = _sequence()
    bad = np.zeros(len(image), dtype=bool)
    bad[[10, 11, 12, 20]] = True
    swapped_img, swapped_world = fix_swaps(image, bad), fix_swaps(world, bad)
    assert np.array_equal(detect_swaps(swapped_img, size), bad)
    found = detect_swaps(swapped_img, size)
    repaired = hip_angles(fix_swaps(swapped_world, found), fix_swaps(swapped_img, found), size)
    clean = hip_angles(world, image, size)
    np.testing.assert_allclose(repaired.left.rotation_deg, clean.left.rotation_deg)


def test_clean_sequence_and_missing_frames_have_no_swaps() -> None:
    image, _, size = _sequence()
    image[5] = np.nan
    assert not detect_swaps(image, size).any()


def test_swap_twice_is_identity_and_bad_ratio_rejected() -> None:
    image, _, size = _sequence(3)
    all_frames = np.ones(3, dtype=bool)
    np.testing.assert_array_equal(fix_swaps(fix_swaps(image, all_frames), all_frames), image)
    assert list(MIRROR[23:29]) == [24, 23, 26, 25, 28, 27]
    with pytest.raises(ValueError, match="ratio"):
        detect_swaps(image, size, ratio=0.0)
