"""Tiny training runs on real images: checkpoint, card, ONNX parity, onnxruntime serving."""

from pathlib import Path

import numpy as np
import pytest
import torch

from teaplatform.vision.artifacts import (
    CHECKPOINT_FILE,
    MODEL_FILE,
    ModelCard,
    load_card,
    save_card,
    sha256_file,
)
from teaplatform.vision.classifier_training import train_classifier
from teaplatform.vision.config import ClassifierConfig, DetectorConfig, load_config
from teaplatform.vision.data import load_rgb, read_yolo_dataset
from teaplatform.vision.detector_training import train_detector
from teaplatform.vision.export import PARITY_ATOL, export_onnx, parity
from teaplatform.vision.models import Classifier, ClassifierForExport, Detector, DetectorForExport
from teaplatform.vision.runtime import OnnxClassifier, OnnxDetector

pytestmark = pytest.mark.unit

TINY_DETECTOR = DetectorConfig(
    max_images=8,
    val_fraction=0.3,
    image_size=64,
    widths=(8, 8, 8),
    head_width=8,
    box_coding="edges",
    precision="bf16",  # training only: export and parity stay float32
    epochs=1,
    batch_size=4,
    mosaic=0.5,
    score_threshold=0.01,
)
TINY_CLASSIFIER = ClassifierConfig(
    max_images=4,
    val_fraction=0.25,
    image_size=32,
    widths=(4, 4, 8, 8),
    epochs=1,
    batch_size=8,
    mixup=1.0,
)


def test_tiny_detector_trains_exports_and_serves(shared_data: Path, tmp_path: Path) -> None:
    steps: list[tuple[int, int]] = []
    root = shared_data / "tea" / "shoots" / "train"
    done = train_detector(
        TINY_DETECTOR,
        root,
        tmp_path / "det",
        tmp_path / "report",
        lambda d, t, _m: steps.append((d, t)),
    )
    card = done.card
    assert card.classes == ["0", "1", "2", "3"] and card.seed == 0 and card.stride == 4
    assert (
        card.split["val_photos"] >= 1 and card.split["train_images"] + card.split["val_images"] == 8
    )
    assert card.training["onnx_parity_max_abs"] <= PARITY_ATOL
    assert steps[-1][0] == steps[-1][1] == len(steps)
    assert 0.0 <= card.metrics["map50"] <= 1.0
    assert (tmp_path / "report" / "vision_detector_pr.png").stat().st_size > 1000
    ckpt = torch.load(tmp_path / "det" / CHECKPOINT_FILE, weights_only=True)
    assert ckpt["classes"] == card.classes and ckpt["seed"] == 0
    assert DetectorConfig.model_validate(ckpt["config"]) == TINY_DETECTOR
    assert load_card(tmp_path / "det") == card

    detector = OnnxDetector.load(tmp_path / "det", threads=1)
    assert detector.params.coding == "edges"
    image = load_rgb(read_yolo_dataset(root, limit=1)[0].image)
    dets = detector.detect([image, image[:300, :500]])
    assert len(dets) == 2
    for d, shape in zip(dets, [(640, 640), (300, 500)], strict=True):
        assert d.boxes.shape[1] == 4 and len(d) <= TINY_DETECTOR.max_detections
        assert np.all(d.scores >= TINY_DETECTOR.score_threshold)
        if len(d):  # boxes are in the input image's pixels (centres inside it)
            cx = (d.boxes[:, 0] + d.boxes[:, 2]) / 2
            assert cx.max() <= shape[1] + 1


def test_a_card_from_before_box_codings_decodes_centre_and_size(tmp_path: Path) -> None:
    """Registered versions from before the `edges` coding keep decoding as they were trained."""
    torch.manual_seed(0)
    config = DetectorConfig(image_size=64, widths=(8, 8, 8), head_width=8)
    module = DetectorForExport(Detector(config, 4)).eval()
    export_onnx(module, torch.rand(1, 3, 64, 64), tmp_path / MODEL_FILE, ["heatmap", "regression"])
    raw = config.model_dump(mode="json")
    del raw["box_coding"]
    card = ModelCard(
        kind="detector",
        classes=["0", "1", "2", "3"],
        seed=0,
        config=raw,
        input_size=64,
        stride=4,
        outputs=["heatmap", "regression"],
        split={},
        metrics={},
        training={},
        onnx_sha256=sha256_file(tmp_path / MODEL_FILE),
    )
    save_card(card, tmp_path)
    assert OnnxDetector.load(tmp_path, threads=1).params.coding == "centre_size"


def test_onnx_matches_torch_on_a_fresh_detector(tmp_path: Path) -> None:
    torch.manual_seed(0)
    config = DetectorConfig(image_size=96, widths=(8, 16, 16), head_width=8)
    module = DetectorForExport(Detector(config, 4)).eval()
    x = torch.rand(3, 3, 96, 96)
    export_onnx(module, x[:1], tmp_path / "m.onnx", ["heatmap", "regression"])
    assert parity(module, tmp_path / "m.onnx", x) <= PARITY_ATOL


def test_a_four_stage_detector_keeps_the_stride_4_outputs_and_exports(tmp_path: Path) -> None:
    torch.manual_seed(0)
    config = DetectorConfig(image_size=64, widths=(8, 8, 16, 16), depths=(1, 2, 1), head_width=8)
    module = DetectorForExport(Detector(config, 4)).eval()
    x = torch.rand(2, 3, 64, 64)
    heat, reg = module(x)
    assert heat.shape == (2, 4, 16, 16) and reg.shape == (2, 4, 16, 16)
    export_onnx(module, x[:1], tmp_path / "m.onnx", ["heatmap", "regression"])
    assert parity(module, tmp_path / "m.onnx", x) <= PARITY_ATOL


def test_depths_need_one_entry_per_stage() -> None:
    with pytest.raises(ValueError, match="one entry per stage"):
        DetectorConfig(widths=(8, 8, 16, 16), depths=(1, 2))


def test_flip_averaging_is_the_mean_over_the_four_flips(tmp_path: Path) -> None:
    torch.manual_seed(0)
    classifier = Classifier(ClassifierConfig(widths=(4, 4, 8, 8), image_size=32), 3).eval()
    averaged = ClassifierForExport(classifier, flips=True).eval()
    x = torch.rand(5, 3, 32, 32)
    with torch.no_grad():
        views = [x, x.flip(3), x.flip(2), x.flip(2, 3)]
        expected = torch.stack([torch.softmax(classifier(v), dim=1) for v in views]).mean(0)
        got = averaged(x)
        plain = ClassifierForExport(classifier).eval()(x)
    assert torch.allclose(got, expected, atol=1e-6)
    assert not torch.allclose(got, plain, atol=1e-4)  # the average is not the plain reading
    # exported for one image, it serves a batch of five
    export_onnx(averaged, x[:1], tmp_path / "c.onnx", ["probabilities"])
    assert parity(averaged, tmp_path / "c.onnx", x) <= PARITY_ATOL


def test_tiny_classifier_trains_and_serves(shared_data: Path, tmp_path: Path) -> None:
    root = shared_data / "tea" / "leaf_disease"
    done = train_classifier(TINY_CLASSIFIER, root, tmp_path / "cls", tmp_path / "report")
    card = done.card
    assert len(card.classes) == 8 and card.split["val_images"] == 8
    assert card.metrics["confusion_matrix"] and sum(map(sum, card.metrics["confusion_matrix"])) == 8
    assert card.training["onnx_parity_max_abs"] <= PARITY_ATOL
    assert (tmp_path / "cls" / MODEL_FILE).is_file()
    clf = OnnxClassifier.load(tmp_path / "cls", threads=1)
    probs = clf.probabilities([load_rgb(next((root / "healthy").iterdir()))])
    assert probs.shape == (1, 8) and probs.sum() == pytest.approx(1.0, abs=1e-4)


def test_shipped_configs_parse() -> None:
    det = load_config("detector")
    cls = load_config("classifier")
    assert isinstance(det, DetectorConfig) and det.classes == ("0", "1", "2", "3")
    assert isinstance(cls, ClassifierConfig) and cls.data == "tea/leaf_disease"


def test_a_config_with_unknown_keys_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: 3\nlearning_rate: 1\n")
    with pytest.raises(ValueError, match="learning_rate"):
        load_config("detector", bad)
