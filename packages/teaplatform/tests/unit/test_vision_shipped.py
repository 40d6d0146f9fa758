"""The shipped default models: intact, described by their cards, and good on held-out data."""

from pathlib import Path

import numpy as np
import pytest

from teaplatform.vision.artifacts import builtin_dir, load_card
from teaplatform.vision.data import (
    load_rgb,
    read_class_folders,
    read_yolo_dataset,
    split_classes,
    split_detection,
)
from teaplatform.vision.detector_training import EVAL_SCORE_THRESHOLD
from teaplatform.vision.metrics import GroundTruth, detection_report
from teaplatform.vision.runtime import OnnxClassifier, OnnxDetector

pytestmark = pytest.mark.unit


def test_cards_describe_the_shipped_models() -> None:
    det = load_card(builtin_dir("detector"))  # also checks the ONNX hash
    cls = load_card(builtin_dir("classifier"))
    assert det.kind == "detector" and det.classes == ["0", "1", "2", "3"]
    assert cls.kind == "classifier" and len(cls.classes) == 8
    for card in (det, cls):
        assert card.split["digest"] and card.training["onnx_parity_max_abs"] <= 1e-4
        assert (builtin_dir(card.kind) / "model.onnx").stat().st_size < 8 << 20


def test_shipped_classifier_reproduces_its_held_out_accuracy(shared_data: Path) -> None:
    clf = OnnxClassifier.load(builtin_dir("classifier"), threads=2)
    cfg = clf.card.config
    classes, items = read_class_folders(shared_data / "tea" / "leaf_disease")
    assert classes == clf.classes
    split = split_classes(items, cfg["val_fraction"])
    assert split.digest == clf.card.split["digest"]
    probs = clf.probabilities([load_rgb(i.image) for i in split.val])
    accuracy = float(np.mean(probs.argmax(1) == np.array([i.label for i in split.val])))
    # onnxruntime on this machine gives what torch measured at training time
    assert accuracy == pytest.approx(clf.card.metrics["accuracy"], abs=0.01)


def test_shipped_detector_reproduces_its_held_out_map(shared_data: Path) -> None:
    """Serving (onnxruntime, the card's box coding, numpy decoding) scores what training did."""
    det = OnnxDetector.load(builtin_dir("detector"), threads=2)
    cfg = det.card.config
    split = split_detection(read_yolo_dataset(shared_data / cfg["data"]), cfg["val_fraction"])
    assert split.digest == det.card.split["digest"]
    preds = [det.detect([load_rgb(i.image)], EVAL_SCORE_THRESHOLD)[0] for i in split.val]
    truth = [GroundTruth(i.boxes(), i.labels()) for i in split.val]
    report = detection_report(preds, truth, det.classes, cfg["score_threshold"])
    assert report["map50"] == pytest.approx(det.card.metrics["map50"], abs=0.005)


def test_shipped_detector_finds_shoots_on_a_real_image(shared_data: Path) -> None:
    det = OnnxDetector.load(builtin_dir("detector"), threads=2)
    images = sorted((shared_data / "tea" / "shoots" / "train" / "images").iterdir())
    found = det.detect([load_rgb(images[0])])[0]
    assert found.boxes.shape[1] == 4
    assert set(found.labels.tolist()) <= {0, 1, 2, 3}
