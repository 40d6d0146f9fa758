"""Training configurations: one pydantic model per model kind, read from YAML.

The config is the whole description of a training run: data, split, architecture,
augmentation, optimiser, seed. A checkpoint and a model card carry it verbatim, so a run can
be repeated from its card alone.
"""

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from teaplatform.vision.centernet import BoxCoding

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
Kind = Literal["detector", "classifier"]
KINDS: tuple[Kind, ...] = ("detector", "classifier")

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[int, Field(gt=0)]
Precision = Literal["fp32", "bf16"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DetectorConfig(_Strict):
    kind: Literal["detector"] = "detector"
    data: str = "tea/shoots/train"  # relative to SHARED_DATA, or absolute
    # the authors name the four shoot categories only by their indices
    classes: tuple[str, ...] = ("0", "1", "2", "3")
    val_fraction: Fraction = 0.2
    max_images: int | None = None  # a slice for tiny test runs
    image_size: Positive = 320  # square network input; images are letterboxed into it
    # channels at strides 4, 8, 16 (and 32 when a fourth is given)
    widths: Annotated[tuple[Positive, ...], Field(min_length=3, max_length=4)] = (32, 64, 128)
    # residual blocks in each stage after the stride-4 stem (one entry per width after the first)
    depths: tuple[Positive, ...] | None = None  # None: one block per stage
    head_width: Positive = 32
    stride: Literal[4] = 4  # output stride of the centre heatmap
    # how the regression maps code a box (see centernet.py); cards written before the choice
    # existed hold no value and were centre_size, hence that default
    box_coding: BoxCoding = "centre_size"
    epochs: Positive = 14
    batch_size: Positive = 8
    lr: float = Field(default=2e-3, gt=0)
    weight_decay: float = Field(default=5e-4, ge=0)
    warmup_epochs: int = Field(default=1, ge=0)
    # bf16: the training forward pass under bfloat16 autocast (1.7x the detector's samples per
    # second on a CPU with AVX512-BF16; emulated, so slower, on CPUs without it or AMX);
    # weights, export and evaluation stay float32
    precision: Precision = "fp32"
    # weight of the box loss: of the log-size terms (centre_size), of the GIoU loss (edges)
    size_weight: float = Field(default=1.0, ge=0)
    # augmentation: scale of the 640-px photo relative to the network's base scale
    scale_range: tuple[float, float] = (0.75, 1.33)
    mosaic: Fraction = 0.25
    flip: bool = True
    hsv: tuple[Fraction, Fraction, Fraction] = (0.015, 0.5, 0.3)  # hue, saturation, value gains
    # inference
    score_threshold: Fraction = 0.25
    nms_iou: Fraction = 0.5
    max_detections: Positive = 150
    seed: int = 0
    threads: Positive = 2

    @model_validator(mode="after")
    def _depths_match_widths(self) -> "DetectorConfig":
        if self.depths is not None and len(self.depths) != len(self.widths) - 1:
            raise ValueError(
                f"depths needs one entry per stage after the stem: {len(self.widths) - 1}"
            )
        return self

    @property
    def stage_depths(self) -> tuple[int, ...]:
        return self.depths or (1,) * (len(self.widths) - 1)


class ClassifierConfig(_Strict):
    kind: Literal["classifier"] = "classifier"
    data: str = "tea/leaf_disease"
    val_fraction: Fraction = 0.2
    max_images: int | None = None
    image_size: Positive = 96
    widths: tuple[Positive, Positive, Positive, Positive] = (16, 32, 64, 128)
    dropout: Fraction = 0.2
    epochs: Positive = 60
    batch_size: Positive = 32
    lr: float = Field(default=3e-3, gt=0)
    weight_decay: float = Field(default=5e-4, ge=0)
    warmup_epochs: int = Field(default=2, ge=0)
    precision: Precision = "fp32"
    label_smoothing: Fraction = 0.1
    mixup: Fraction = 0.0  # share of batches blended with a shuffled copy of themselves
    hsv: tuple[Fraction, Fraction, Fraction] = (0.01, 0.3, 0.3)
    flip_average: bool = False  # serve the mean over the image's four flips
    seed: int = 0
    threads: Positive = 2


Config = DetectorConfig | ClassifierConfig


def parse_config(kind: Kind, raw: dict[str, object]) -> Config:
    """A validated config of `kind` from a mapping (raises pydantic.ValidationError)."""
    if kind == "detector":
        return DetectorConfig.model_validate(raw)
    return ClassifierConfig.model_validate(raw)


def load_config(kind: Kind, path: Path | None = None) -> Config:
    """The config in `path` (YAML), or the shipped default for `kind`."""
    path = path or CONFIG_DIR / f"{kind}.yaml"
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return parse_config(kind, raw)


def resolve_data(data: str, shared_data: Path) -> Path:
    """A config's data path: absolute as given, otherwise under the shared data directory."""
    path = Path(data)
    return path if path.is_absolute() else shared_data / path
