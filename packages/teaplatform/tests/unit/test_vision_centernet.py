"""Centre-point targets, decoding and NMS: what goes in comes back out."""

import numpy as np
import pytest
import torch
from scipy.ndimage import maximum_filter

from teaplatform.vision.centernet import (
    Detections,
    box_iou,
    decode,
    encode,
    local_maxima,
    nms,
)
from teaplatform.vision.losses import giou_loss

pytestmark = pytest.mark.unit


def test_local_maxima_match_a_3x3_maximum_filter() -> None:
    heat = np.random.default_rng(0).random((3, 17, 23)).astype(np.float32)
    heat[1, 4, 4:6] = 2.0  # a tie: both cells stay candidates (NMS settles it)
    expected = np.where(maximum_filter(heat, size=(1, 3, 3), mode="nearest") == heat, heat, 0)
    np.testing.assert_array_equal(local_maxima(heat), expected)
    assert local_maxima(heat)[1, 4, 4] == local_maxima(heat)[1, 4, 5] == 2.0


def test_encoded_targets_decode_to_the_same_boxes() -> None:
    boxes = np.array([[10, 12, 42, 60], [100, 40, 130, 70], [60, 90, 75, 120]], np.float32)
    labels = np.array([0, 2, 1])
    t = encode(boxes, labels, num_classes=3, size=160, stride=4)
    assert t.heatmap.shape == (3, 40, 40) and t.regression.shape == (4, 40, 40)
    assert t.mask.sum() == 3 and t.heatmap.max() == 1.0
    dets = decode(
        t.heatmap,
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


def test_edges_targets_decode_to_the_same_boxes_from_every_supervised_cell() -> None:
    boxes = np.array([[10, 12, 42, 60], [100, 40, 130, 70]], np.float32)
    t = encode(boxes, np.array([0, 1]), num_classes=2, size=160, stride=4, coding="edges")
    cells = np.argwhere(t.mask > 0)
    assert len(cells) > 2 * 4  # a region per box, not one cell
    # each object's weights sum to log(its area in pixels)
    for box in boxes:
        inside = [tuple(c) for c in cells if np.allclose(t.regression[:, c[0], c[1]], box / 4)]
        total = sum(t.mask[c] for c in inside)
        area = (box[2] - box[0]) * (box[3] - box[1])
        assert total == pytest.approx(np.log(area), rel=1e-5)
    # what the network should predict at a cell: log distances to the four edges
    ys, xs = cells[:, 0], cells[:, 1]
    x1, y1, x2, y2 = t.regression[:, ys, xs]
    px, py = xs + 0.5, ys + 0.5
    log_dist = np.log(np.stack([px - x1, py - y1, x2 - px, y2 - py]))
    heat = np.zeros((2, 40, 40), np.float32)
    heat[0, ys, xs] = 1.0  # every supervised cell a candidate: each must decode its box
    dets = decode(
        heat,
        _scatter(log_dist, ys, xs),
        stride=4,
        score_threshold=0.5,
        max_detections=100,
        nms_iou=1.0,
        coding="edges",
    )
    assert len(dets) == len(cells)
    assert np.all(box_iou(dets.boxes, boxes).max(axis=1) > 0.999)


def _scatter(values: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    out = np.zeros((4, 40, 40), np.float32)
    out[:, ys, xs] = values
    return out


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


def test_giou_loss_is_zero_for_the_true_box_and_grows_as_the_box_drifts() -> None:
    box = np.array([[8, 8, 24, 20]], np.float32)  # pixels; 4-px cells
    t = encode(box, np.array([0]), num_classes=1, size=32, stride=4, coding="edges")
    ys, xs = np.nonzero(t.mask)
    x1, y1, x2, y2 = t.regression[:, ys, xs]
    exact = np.log(np.stack([xs + 0.5 - x1, ys + 0.5 - y1, x2 - xs - 0.5, y2 - ys - 0.5]))
    pred = np.zeros((1, 4, 8, 8), np.float32)
    pred[0][:, ys, xs] = exact
    target = torch.from_numpy(t.regression[None])
    weight = torch.from_numpy(t.mask[None])
    losses = [
        float(giou_loss(torch.from_numpy(pred + shift), target, weight))
        for shift in (0.0, 0.2, 0.6)
    ]
    assert losses[0] == pytest.approx(0.0, abs=1e-5)
    assert 0 < losses[1] < losses[2]
    # no supervised cell: a zero that still carries a gradient
    empty = giou_loss(torch.zeros(1, 4, 8, 8, requires_grad=True), target, torch.zeros(1, 8, 8))
    assert float(empty.detach()) == 0.0 and empty.requires_grad
