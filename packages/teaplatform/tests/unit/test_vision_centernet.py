"""Centre-point targets, decoding and NMS: what goes in comes back out."""

import numpy as np
import pytest
from scipy.ndimage import maximum_filter

from teaplatform.vision.centernet import Detections, box_iou, decode, encode, nms

pytestmark = pytest.mark.unit


def _peaks(heat: np.ndarray) -> np.ndarray:
    """What the exported graph does: keep 3x3 local maxima."""
    return np.where(maximum_filter(heat, size=(1, 3, 3), mode="constant") == heat, heat, 0)


def test_encoded_targets_decode_to_the_same_boxes() -> None:
    boxes = np.array([[10, 12, 42, 60], [100, 40, 130, 70], [60, 90, 75, 120]], np.float32)
    labels = np.array([0, 2, 1])
    t = encode(boxes, labels, num_classes=3, size=160, stride=4)
    assert t.heatmap.shape == (3, 40, 40) and t.regression.shape == (4, 40, 40)
    assert t.mask.sum() == 3 and t.heatmap.max() == 1.0
    dets = decode(
        _peaks(t.heatmap),
        t.regression,
        stride=4,
        score_threshold=0.99,
        max_detections=10,
        nms_iou=0.5,
    )
    assert len(dets) == 3
    order = np.argsort(dets.boxes[:, 0])
    np.testing.assert_allclose(dets.boxes[order], boxes[np.argsort(boxes[:, 0])], atol=1e-3)
    assert dets.labels[order].tolist() == [0, 1, 2]


def test_a_small_box_keeps_its_regression_when_centres_collide() -> None:
    boxes = np.array([[0, 0, 40, 40], [18, 18, 22, 22]], np.float32)
    t = encode(boxes, np.array([0, 1]), num_classes=2, size=64, stride=4)
    assert np.exp(t.regression[2, 5, 5]) * 4 == pytest.approx(4.0, rel=1e-4)


def test_iou_of_known_boxes() -> None:
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10]], np.float32)
    np.testing.assert_allclose(box_iou(a, b), [[1 / 3, 0, 1]], atol=1e-6)


def test_nms_suppresses_overlaps_within_a_class_only() -> None:
    dets = Detections(
        np.array([[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32),
        np.array([0.9, 0.8, 0.7, 0.6], np.float32),
        np.array([0, 0, 1, 0]),
    )
    kept = nms(dets, 0.5)
    assert kept.scores.tolist() == pytest.approx([0.9, 0.7, 0.6])
    assert kept.labels.tolist() == [0, 1, 0]


def test_decode_caps_the_number_of_detections() -> None:
    heat = np.zeros((1, 20, 20), np.float32)
    heat[0, ::4, ::4] = np.linspace(0.3, 0.9, 25).reshape(5, 5)
    dets = decode(
        heat,
        np.zeros((4, 20, 20), np.float32),
        stride=4,
        score_threshold=0.1,
        max_detections=7,
        nms_iou=0.5,
    )
    assert len(dets) == 7
    assert dets.scores.min() == pytest.approx(np.sort(heat[heat > 0])[-7])
