"""The shipped default models: intact, described by their cards, and good on held-out data."""

from pathlib import Path

import numpy as np
import pytest

from teaplatform.vision.artifacts import builtin_dir, load_card
from teaplatform.vision.data import load_rgb, read_class_folders, split_classes
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


def test_shipped_detector_finds_shoots_on_a_real_image(shared_data: Path) -> None:
    det = OnnxDetector.load(builtin_dir("detector"), threads=2)
    images = sorted((shared_data / "tea" / "shoots" / "train" / "images").iterdir())
    found = det.detect([load_rgb(images[0])])[0]
    assert found.boxes.shape[1] == 4
    assert set(found.labels.tolist()) <= {0, 1, 2, 3}
