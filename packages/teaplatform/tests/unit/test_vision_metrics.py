"""AP, mAP, precision/recall and classification figures on cases worked by hand."""

import numpy as np
import pytest

from teaplatform.vision.centernet import Detections
from teaplatform.vision.metrics import (
    GroundTruth,
    average_precision,
    classification_report,
    detection_report,
    pr_curve,
)

pytestmark = pytest.mark.unit

GT = [
    GroundTruth(np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32), np.array([0, 0])),
    GroundTruth(np.array([[5, 5, 15, 15]], np.float32), np.array([1])),
]


def _dets(boxes: list[list[float]], scores: list[float], labels: list[int]) -> Detections:
    return Detections(
        np.array(boxes, np.float32).reshape(-1, 4), np.array(scores, np.float32), np.array(labels)
    )


def test_perfect_detections_score_one() -> None:
    preds = [
        _dets([[0, 0, 10, 10], [20, 20, 30, 30]], [0.9, 0.8], [0, 0]),
        _dets([[5, 5, 15, 15]], [0.7], [1]),
    ]
    report = detection_report(preds, GT, ["a", "b"], score_threshold=0.5)
    assert report["map50"] == pytest.approx(1.0)
    assert report["map50_95"] == pytest.approx(1.0)
    per_class = report["per_class"]
    assert isinstance(per_class, dict)
    assert per_class["a"]["precision"] == 1.0 and per_class["a"]["recall"] == 1.0


def test_a_top_ranked_false_positive_halves_precision_at_first_hit() -> None:
    # ranking: FP, TP, TP -> precision 0, 1/2, 2/3 at recall 0, .5, 1: envelope 2/3 everywhere
    preds = [
        _dets([[50, 50, 60, 60], [0, 0, 10, 10], [20, 20, 30, 30]], [0.9, 0.8, 0.7], [0, 0, 0]),
        _dets([], [], []),
    ]
    curve = pr_curve(preds, GT, 0, 0.5)
    assert curve.num_gt == 2
    assert average_precision(curve) == pytest.approx(2 / 3)


def test_a_duplicate_counts_as_a_false_positive_and_missed_boxes_cap_recall() -> None:
    preds = [_dets([[0, 0, 10, 10], [0, 0, 10, 10]], [0.9, 0.8], [0, 0]), _dets([], [], [])]
    curve = pr_curve(preds, GT, 0, 0.5)
    assert curve.recall.max() == 0.5
    assert curve.precision.tolist() == [1.0, 0.5]
    # AP samples recall 0..0.5 (51 of 101 points) at precision 1
    assert average_precision(curve) == pytest.approx(51 / 101)


def test_loose_boxes_pass_at_iou_half_but_not_at_stricter_thresholds() -> None:
    preds = [
        _dets([[0, 0, 10, 13], [20, 20, 30, 30]], [0.9, 0.8], [0, 0]),
        _dets([[5, 5, 15, 15]], [0.7], [1]),
    ]
    report = detection_report(preds, GT, ["a", "b"], score_threshold=0.5)
    assert report["map50"] == pytest.approx(1.0)
    assert 0.5 < float(report["map50_95"]) < 1.0  # type: ignore[arg-type]


def test_classification_report_from_a_known_confusion() -> None:
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 1, 0])
    report = classification_report(y_true, y_pred, ["x", "y", "z"])
    assert report["accuracy"] == pytest.approx(4 / 6)
    assert report["confusion_matrix"] == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]
    per = report["per_class"]
    assert isinstance(per, dict)
    assert per["x"] == {
        "precision": pytest.approx(2 / 3),
        "recall": pytest.approx(2 / 3),
        "support": 3,
    }
    assert per["z"]["precision"] == 0.0 and per["z"]["recall"] == 0.0
