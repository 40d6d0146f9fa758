"""Transforms move pixels and boxes together; seeds fix the randomness."""

import numpy as np
import pytest

from teaplatform.vision.augment import (
    classification_sample,
    color_matrix,
    detection_sample,
    flip,
    hsv_jitter,
    letterbox,
    scaled_crop,
)

pytestmark = pytest.mark.unit


def _scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A black 200x100 image with one white 20x30 rectangle and its box."""
    image = np.zeros((100, 200, 3), np.uint8)
    image[30:60, 120:140] = 255
    return image, np.array([[120, 30, 140, 60]], np.float32), np.array([1])


def _white_extent(image: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(image[..., 0] > 127)
    return [int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1]


def test_flips_move_the_box_with_the_pixels() -> None:
    image, boxes, _ = _scene()
    for h, v in [(True, False), (False, True), (True, True)]:
        out, moved = flip(image, boxes, h, v)
        assert _white_extent(out) == moved[0].astype(int).tolist()


def test_scaled_crop_keeps_boxes_on_their_pixels() -> None:
    image, boxes, labels = _scene()
    rng = np.random.default_rng(3)
    for _ in range(20):
        out, b, lab = scaled_crop(image, boxes, labels, scale=1.5, out_w=96, out_h=96, rng=rng)
        assert out.shape == (96, 96, 3)
        if len(b):
            assert lab.tolist() == [1]
            x1, y1, x2, y2 = _white_extent(out)
            np.testing.assert_allclose(b[0], [x1, y1, x2, y2], atol=2.0)
        else:  # dropped: less than MIN_VISIBLE of it inside the window
            assert (out[..., 0] > 127).sum() < 0.35 * (30 * 1.5) * (20 * 1.5) + 60


def test_letterbox_maps_back_to_the_original_pixels() -> None:
    image, boxes, _ = _scene()
    canvas, lb = letterbox(image, 64)
    assert canvas.shape == (64, 64, 3) and lb.scale == pytest.approx(0.32)
    in_net = boxes * lb.scale + np.array([lb.pad_x, lb.pad_y, lb.pad_x, lb.pad_y], np.float32)
    np.testing.assert_allclose(lb.to_image(in_net), boxes, atol=1e-4)


def test_colour_matrix_is_identity_at_rest_and_hue_keeps_grey() -> None:
    np.testing.assert_allclose(color_matrix(0.0, 1.0, 1.0), np.eye(3), atol=1e-5)
    grey = np.full((4, 4, 3), 120, np.uint8)
    out = hsv_jitter(grey, (0.5, 0.0, 0.0), np.random.default_rng(0))
    assert np.abs(out.astype(int) - 120).max() <= 1


def test_samples_are_fixed_by_the_seed() -> None:
    image, boxes, labels = _scene()

    def sample(seed: int) -> tuple[np.ndarray, np.ndarray]:
        out, b, _ = detection_sample(
            [image, image],
            [boxes, boxes],
            [labels, labels],
            0,
            size=64,
            scale_range=(0.5, 1.5),
            mosaic=0.5,
            do_flip=True,
            hsv=(0.02, 0.5, 0.3),
            rng=np.random.default_rng(seed),
        )
        return out, b

    a, b = sample(7), sample(7)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(sample(8)[0], a[0])
    leaf = classification_sample(image, 32, (0.01, 0.3, 0.3), np.random.default_rng(1))
    assert leaf.shape == (32, 32, 3) and leaf.dtype == np.uint8
