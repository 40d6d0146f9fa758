"""Evaluation metrics (pure numpy): detection AP/mAP, precision/recall; classification.

Detection follows COCO: per class, detections of all images are ranked by score and matched
greedily to the unmatched ground truth of highest IoU; AP is the area under the precision
envelope sampled at 101 recall points; mAP@0.5:0.95 averages AP over IoU 0.50, 0.55, ..., 0.95.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from teaplatform.vision.centernet import Detections, box_iou

IOU_THRESHOLDS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))
RECALL_POINTS = np.linspace(0, 1, 101)


@dataclass(frozen=True)
class GroundTruth:
    boxes: NDArray[np.float32]
    labels: NDArray[np.int64]


@dataclass(frozen=True)
class Curve:
    """A class's ranked detections: precision and recall after each one, and its score."""

    precision: NDArray[np.float64]
    recall: NDArray[np.float64]
    scores: NDArray[np.float32]
    num_gt: int


def _match(
    preds: Sequence[Detections], truth: Sequence[GroundTruth], label: int, iou_threshold: float
) -> tuple[NDArray[np.float32], NDArray[np.bool_], int]:
    """Scores and true-positive flags of class `label`'s detections, ranked; and the GT count."""
    scores, hits = [], []
    num_gt = 0
    for det, gt in zip(preds, truth, strict=True):
        gt_boxes = gt.boxes[gt.labels == label]
        num_gt += len(gt_boxes)
        mine = det.labels == label
        boxes, sc = det.boxes[mine], det.scores[mine]
        order = np.argsort(-sc, kind="stable")
        boxes, sc = boxes[order], sc[order]
        tp = np.zeros(len(sc), bool)
        if len(gt_boxes) and len(sc):
            iou = box_iou(boxes, gt_boxes)
            taken = np.zeros(len(gt_boxes), bool)
            for i in range(len(sc)):
                cand = np.where(taken, -1.0, iou[i])
                j = int(np.argmax(cand))
                if cand[j] >= iou_threshold:
                    taken[j] = tp[i] = True
        scores.append(sc)
        hits.append(tp)
    all_scores = np.concatenate(scores) if scores else np.zeros(0, np.float32)
    all_hits = np.concatenate(hits) if hits else np.zeros(0, bool)
    order = np.argsort(-all_scores, kind="stable")
    return all_scores[order], all_hits[order], num_gt


def pr_curve(
    preds: Sequence[Detections], truth: Sequence[GroundTruth], label: int, iou_threshold: float
) -> Curve:
    scores, hits, num_gt = _match(preds, truth, label, iou_threshold)
    tp = np.cumsum(hits)
    fp = np.cumsum(~hits)
    recall = tp / max(num_gt, 1)
    precision = tp / np.maximum(tp + fp, 1)
    return Curve(precision.astype(np.float64), recall.astype(np.float64), scores, num_gt)


def average_precision(curve: Curve) -> float:
    """COCO 101-point interpolated AP (0 when the class has no ground truth)."""
    if curve.num_gt == 0 or len(curve.recall) == 0:
        return 0.0
    envelope = np.maximum.accumulate(curve.precision[::-1])[::-1]
    idx = np.searchsorted(curve.recall, RECALL_POINTS, side="left")
    sampled = np.where(idx < len(envelope), envelope[np.minimum(idx, len(envelope) - 1)], 0.0)
    return float(sampled.mean())


def _at_threshold(curve: Curve, score_threshold: float) -> tuple[float, float]:
    """Precision and recall counting only detections scoring at least `score_threshold`."""
    n = int(np.sum(curve.scores >= score_threshold))
    if n == 0:
        return 0.0, 0.0
    return float(curve.precision[n - 1]), float(curve.recall[n - 1])


def _class_agnostic(preds: Sequence[Detections], truth: Sequence[GroundTruth]) -> float:
    """AP@0.5 with every class merged into one (is there a shoot here at all?)."""
    merged_preds = [Detections(d.boxes, d.scores, np.zeros_like(d.labels)) for d in preds]
    merged_truth = [GroundTruth(g.boxes, np.zeros_like(g.labels)) for g in truth]
    return average_precision(pr_curve(merged_preds, merged_truth, 0, 0.5))


def detection_report(
    preds: Sequence[Detections],
    truth: Sequence[GroundTruth],
    classes: Sequence[str],
    score_threshold: float,
) -> dict[str, object]:
    """mAP@0.5, mAP@0.5:0.95, and per class AP, precision and recall at `score_threshold`."""
    per_class: dict[str, dict[str, float | int]] = {}
    ap50s, aps = [], []
    for label, name in enumerate(classes):
        curves = [pr_curve(preds, truth, label, t) for t in IOU_THRESHOLDS]
        ap_by_iou = [average_precision(c) for c in curves]
        precision, recall = _at_threshold(curves[0], score_threshold)
        per_class[name] = {
            "ap50": ap_by_iou[0],
            "ap50_95": float(np.mean(ap_by_iou)),
            "precision": precision,
            "recall": recall,
            "instances": curves[0].num_gt,
        }
        if curves[0].num_gt:
            ap50s.append(ap_by_iou[0])
            aps.append(float(np.mean(ap_by_iou)))
    return {
        "map50": float(np.mean(ap50s)) if ap50s else 0.0,
        "map50_95": float(np.mean(aps)) if aps else 0.0,
        "ap50_any_class": _class_agnostic(preds, truth),
        "score_threshold": score_threshold,
        "images": len(truth),
        "instances": int(sum(len(g.labels) for g in truth)),
        "per_class": per_class,
    }


def confusion_matrix(
    y_true: NDArray[np.int64], y_pred: NDArray[np.int64], num_classes: int
) -> NDArray[np.int64]:
    """Rows: true class, columns: predicted class."""
    out = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(out, (y_true, y_pred), 1)
    return out


def classification_report(
    y_true: NDArray[np.int64], y_pred: NDArray[np.int64], classes: Sequence[str]
) -> dict[str, object]:
    """Accuracy, per-class precision/recall/support and the confusion matrix."""
    cm = confusion_matrix(y_true, y_pred, len(classes))
    tp = np.diag(cm).astype(np.float64)
    predicted, actual = cm.sum(0), cm.sum(1)
    per_class = {
        name: {
            "precision": float(tp[i] / predicted[i]) if predicted[i] else 0.0,
            "recall": float(tp[i] / actual[i]) if actual[i] else 0.0,
            "support": int(actual[i]),
        }
        for i, name in enumerate(classes)
    }
    return {
        "accuracy": float(tp.sum() / max(cm.sum(), 1)),
        "images": int(cm.sum()),
        "per_class": per_class,
        "confusion_matrix": cm.tolist(),
        "classes": list(classes),
    }
