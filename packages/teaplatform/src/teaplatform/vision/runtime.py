"""Serving: the ONNX models under onnxruntime, described by their cards.

detector = OnnxDetector.load(builtin_dir("detector"))
detections = detector.detect([image])[0]          # boxes in the image's pixels
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

from teaplatform.vision.artifacts import MODEL_FILE, ModelCard, load_card
from teaplatform.vision.augment import Uint8Image
from teaplatform.vision.centernet import Detections
from teaplatform.vision.config import DetectorConfig
from teaplatform.vision.export import session
from teaplatform.vision.inference import (
    DecodeParams,
    classifier_inputs,
    detector_inputs,
    detector_outputs,
)

DEFAULT_THREADS = 2


def _open(directory: Path, kind: str, threads: int) -> tuple[ModelCard, ort.InferenceSession]:
    card = load_card(directory)
    if card.kind != kind:
        raise ValueError(f"{directory} holds a {card.kind}, not a {kind}")
    return card, session(directory / MODEL_FILE, threads)


@dataclass(frozen=True)
class OnnxDetector:
    card: ModelCard
    session: ort.InferenceSession
    params: DecodeParams

    @classmethod
    def load(cls, directory: Path, threads: int = DEFAULT_THREADS) -> "OnnxDetector":
        card, sess = _open(directory, "detector", threads)
        cfg = card.config
        params = DecodeParams(
            stride=int(card.stride or cfg["stride"]),
            score_threshold=float(cfg["score_threshold"]),
            nms_iou=float(cfg["nms_iou"]),
            max_detections=int(cfg["max_detections"]),
            coding=DetectorConfig.model_validate(cfg).box_coding,
        )
        return cls(card, sess, params)

    @property
    def classes(self) -> list[str]:
        return self.card.classes

    def detect(
        self, images: Sequence[Uint8Image], score_threshold: float | None = None
    ) -> list[Detections]:
        """Detections per image, boxes in that image's pixels."""
        if not images:
            return []
        params = self.params
        if score_threshold is not None:
            params = replace(params, score_threshold=score_threshold)
        batch, boxes_in = detector_inputs(images, self.card.input_size)
        heat, reg = self.session.run(None, {"image": batch})
        return detector_outputs(heat, reg, boxes_in, params)


@dataclass(frozen=True)
class OnnxClassifier:
    card: ModelCard
    session: ort.InferenceSession

    @classmethod
    def load(cls, directory: Path, threads: int = DEFAULT_THREADS) -> "OnnxClassifier":
        return cls(*_open(directory, "classifier", threads))

    @property
    def classes(self) -> list[str]:
        return self.card.classes

    def probabilities(self, images: Sequence[Uint8Image]) -> NDArray[np.float32]:
        """(N, C) class probabilities."""
        if not images:
            return np.zeros((0, len(self.classes)), np.float32)
        out: NDArray[np.float32] = self.session.run(
            None, {"image": classifier_inputs(images, self.card.input_size)}
        )[0]
        return out
