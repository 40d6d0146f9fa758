"""Loaded models, cached per directory and ONNX hash: the API and CLI share sessions."""

from functools import lru_cache
from pathlib import Path

from teaplatform.vision.artifacts import CARD_FILE
from teaplatform.vision.runtime import DEFAULT_THREADS, OnnxClassifier, OnnxDetector


def _stamp(directory: Path) -> float:
    return (directory / CARD_FILE).stat().st_mtime


@lru_cache(maxsize=8)
def _detector(directory: Path, stamp: float, threads: int) -> OnnxDetector:
    return OnnxDetector.load(directory, threads)


@lru_cache(maxsize=8)
def _classifier(directory: Path, stamp: float, threads: int) -> OnnxClassifier:
    return OnnxClassifier.load(directory, threads)


def detector(directory: Path, threads: int = DEFAULT_THREADS) -> OnnxDetector:
    """The detector in `directory`, loaded once (reloaded when its card changes)."""
    return _detector(directory.resolve(), _stamp(directory), threads)


def classifier(directory: Path, threads: int = DEFAULT_THREADS) -> OnnxClassifier:
    return _classifier(directory.resolve(), _stamp(directory), threads)
