"""A trained model on disk: ``model.onnx`` (what serves), ``card.json`` (what it is) and
``checkpoint.pt`` (torch weights with config, classes and seed, for fine-tuning).

The card describes the model completely: kind, class names, config, seed, data split, metrics,
the ONNX file's hash. Shipped defaults live in ``teaplatform/vision/weights/<kind>/``.
"""

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from teaplatform.vision.config import Kind

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
MODEL_FILE = "model.onnx"
CARD_FILE = "card.json"
CHECKPOINT_FILE = "checkpoint.pt"


class ModelCard(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind
    classes: list[str]
    seed: int
    config: dict[str, Any]
    input_size: int
    stride: int | None = None  # detector: output stride of the heatmap
    outputs: list[str]
    split: dict[str, Any]
    metrics: dict[str, Any]
    training: dict[str, Any]
    onnx_sha256: str


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def builtin_dir(kind: Kind) -> Path:
    """The shipped default model of `kind`."""
    return WEIGHTS_DIR / kind


def save_card(card: ModelCard, directory: Path) -> Path:
    path = directory / CARD_FILE
    path.write_text(json.dumps(card.model_dump(), indent=2, sort_keys=True) + "\n")
    return path


def load_card(directory: Path) -> ModelCard:
    """The card of the model in `directory`; checks that the ONNX file is the one it describes."""
    card = ModelCard.model_validate_json((directory / CARD_FILE).read_text())
    onnx = directory / MODEL_FILE
    if not onnx.is_file():
        raise FileNotFoundError(f"{onnx} is missing")
    if sha256_file(onnx) != card.onnx_sha256:
        raise ValueError(f"{onnx} does not match its card (sha256 differs)")
    return card
