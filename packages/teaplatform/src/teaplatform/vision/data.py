"""Dataset readers: YOLO label files (boxes and polygons) and class folders; splits.

Parsing is pure (text in, arrays out); the functions that touch the disk are the ones that take
a `Path`. Splits are deterministic: items are ordered by a hash of their group name (the
source photo for the shoot data, the file name for the leaf folders) and the first
``round(n * fraction)`` groups are held out, so a split depends on the names alone.
"""

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import NDArray
from PIL import Image

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})
# Roboflow exports name augmented copies PHOTO_jpg.rf.HASH.jpg: PHOTO is the source photo
_ROBOFLOW_MARK = "_jpg.rf."
# A tile cut from a larger camera shot ends in its window, SHOT_X1_Y1_X2_Y2 (pixels). Tiles of
# one shot overlap (the shoot data's are 1280 wide at x = 0, 1000, 2000), so they share shoots
# and must land on the same side of a split.
_TILE_WINDOW = re.compile(r"_(\d+)_(\d+)_(\d+)_(\d+)$")

FloatArray = NDArray[np.float32]
T = TypeVar("T")


@dataclass(frozen=True)
class Annotation:
    """One labelled object: its class, its outline (pixels, (K, 2)) and the outline's extent."""

    label: int
    polygon: FloatArray
    box: FloatArray  # x1, y1, x2, y2 in pixels


@dataclass(frozen=True)
class DetectionItem:
    image: Path
    photo: str
    annotations: tuple[Annotation, ...]

    def boxes(self) -> FloatArray:
        if not self.annotations:
            return np.zeros((0, 4), np.float32)
        return np.stack([a.box for a in self.annotations]).astype(np.float32)

    def labels(self) -> NDArray[np.int64]:
        return np.array([a.label for a in self.annotations], np.int64)


@dataclass(frozen=True)
class ClassItem:
    image: Path
    label: int


@dataclass(frozen=True)
class Split(Generic[T]):
    train: tuple[T, ...]
    val: tuple[T, ...]
    val_groups: tuple[str, ...]

    @property
    def digest(self) -> str:
        """A short hash of the held-out group names: two runs with equal digests held out the same."""
        return hashlib.sha256("\n".join(sorted(self.val_groups)).encode()).hexdigest()[:16]


def parse_yolo_line(line: str, width: int, height: int) -> Annotation | None:
    """``class cx cy w h`` (a box) or ``class x1 y1 x2 y2 ...`` (a polygon), normalised.

    Returns None for a blank line; raises ValueError for a malformed one.
    """
    parts = line.split()
    if not parts:
        return None
    label = int(parts[0])
    values = np.array([float(v) for v in parts[1:]], np.float64)
    if len(values) == 4:
        cx, cy, w, h = values
        xy = np.array(
            [
                [cx - w / 2, cy - h / 2],
                [cx + w / 2, cy - h / 2],
                [cx + w / 2, cy + h / 2],
                [cx - w / 2, cy + h / 2],
            ]
        )
    elif len(values) >= 6 and len(values) % 2 == 0:
        xy = values.reshape(-1, 2)
    else:
        raise ValueError(f"expected 4 box values or an even number >= 6, got {len(values)}")
    if label < 0:
        raise ValueError(f"negative class {label}")
    polygon = (np.clip(xy, 0.0, 1.0) * (width, height)).astype(np.float32)
    box = np.array([*polygon.min(0), *polygon.max(0)], np.float32)
    return Annotation(label, polygon, box)


def parse_yolo_labels(text: str, width: int, height: int) -> tuple[Annotation, ...]:
    """Every object of a YOLO label file; degenerate (zero-area) outlines are dropped."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        try:
            ann = parse_yolo_line(line, width, height)
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
        if ann is not None and ann.box[2] > ann.box[0] and ann.box[3] > ann.box[1]:
            out.append(ann)
    return tuple(out)


def photo_of(name: str) -> str:
    """The source photo of a file name: the part before ``_jpg.rf.`` (else the stem), less
    a tile window."""
    stem = Path(name).name
    stem = stem.split(_ROBOFLOW_MARK, 1)[0] if _ROBOFLOW_MARK in stem else Path(stem).stem
    window = _TILE_WINDOW.search(stem)
    if window is None:
        return stem
    x1, y1, x2, y2 = (int(v) for v in window.groups())
    # a real window has x1 < x2 and y1 < y2; four numbers such as a date and time do not
    return stem[: window.start()] if x1 < x2 and y1 < y2 else stem


def _rank(group: str) -> str:
    return hashlib.sha256(group.encode()).hexdigest()


def split_groups(groups: Iterable[str], val_fraction: float) -> frozenset[str]:
    """The held-out groups: the first round(n * fraction) of the groups ordered by hash."""
    unique = sorted(set(groups), key=_rank)
    return frozenset(unique[: round(len(unique) * val_fraction)])


def split_detection(items: Sequence[DetectionItem], val_fraction: float) -> Split[DetectionItem]:
    """Split by source photo: every copy and tile of a photo lands on the same side."""
    val = split_groups((i.photo for i in items), val_fraction)
    return Split(
        train=tuple(i for i in items if i.photo not in val),
        val=tuple(i for i in items if i.photo in val),
        val_groups=tuple(sorted(val)),
    )


def split_classes(items: Sequence[ClassItem], val_fraction: float) -> Split[ClassItem]:
    """Stratified: the same fraction of each class is held out, chosen by file-name hash."""
    val_names: set[str] = set()
    for label in sorted({i.label for i in items}):
        names = [f"{label}/{i.image.name}" for i in items if i.label == label]
        val_names |= split_groups(names, val_fraction)
    key = {id(i): f"{i.label}/{i.image.name}" for i in items}
    return Split(
        train=tuple(i for i in items if key[id(i)] not in val_names),
        val=tuple(i for i in items if key[id(i)] in val_names),
        val_groups=tuple(sorted(val_names)),
    )


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def read_yolo_dataset(root: Path, limit: int | None = None) -> list[DetectionItem]:
    """``root/images/*.jpg`` with ``root/labels/*.txt`` (a missing label file = no objects)."""
    images_dir, labels_dir = root / "images", root / "labels"
    if not images_dir.is_dir():
        raise FileNotFoundError(f"{images_dir} is not a directory")
    items = []
    for path in image_files(images_dir)[:limit]:
        with Image.open(path) as im:
            width, height = im.size
        label_file = labels_dir / f"{path.stem}.txt"
        text = label_file.read_text() if label_file.exists() else ""
        try:
            anns = parse_yolo_labels(text, width, height)
        except ValueError as exc:
            raise ValueError(f"{label_file}: {exc}") from None
        items.append(DetectionItem(path, photo_of(path.name), anns))
    return items


def read_class_folders(root: Path, limit: int | None = None) -> tuple[list[str], list[ClassItem]]:
    """One sub-folder per class (sorted names = class indices); `limit` caps each class."""
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a directory")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if not classes:
        raise ValueError(f"{root} has no class folders")
    items = [
        ClassItem(path, label)
        for label, name in enumerate(classes)
        for path in image_files(root / name)[:limit]
    ]
    return classes, items


def load_rgb(path: Path) -> NDArray[np.uint8]:
    """An image as an (H, W, 3) uint8 RGB array."""
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
