"""Batch grading: classify every image under a folder and time it."""

import time
from dataclasses import dataclass
from pathlib import Path

from teaplatform.vision.data import IMAGE_SUFFIXES, load_rgb
from teaplatform.vision.runtime import OnnxClassifier


@dataclass(frozen=True)
class Graded:
    image: Path
    name: str
    score: float

    def to_json(self) -> dict[str, object]:
        return {"image": str(self.image), "class": self.name, "score": round(self.score, 4)}


@dataclass(frozen=True)
class BatchResult:
    items: tuple[Graded, ...]
    seconds: float  # decoding, resizing and inference together

    @property
    def images_per_second(self) -> float:
        return len(self.items) / self.seconds if self.seconds > 0 else 0.0


def images_under(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


def grade_folder(classifier: OnnxClassifier, folder: Path, batch_size: int = 32) -> BatchResult:
    """The most likely class and its probability for each image under `folder`, sorted by path."""
    paths = images_under(folder)
    items: list[Graded] = []
    start = time.perf_counter()
    for i in range(0, len(paths), batch_size):
        chunk = paths[i : i + batch_size]
        probs = classifier.probabilities([load_rgb(p) for p in chunk])
        for path, p in zip(chunk, probs, strict=True):
            best = int(p.argmax())
            items.append(Graded(path, classifier.classes[best], float(p[best])))
    return BatchResult(tuple(items), time.perf_counter() - start)
