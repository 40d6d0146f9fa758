"""Pre- and post-processing around the networks, shared by torch evaluation and onnxruntime.

Detector: letterbox to the training size -> heatmap and regression -> boxes (decode + NMS) ->
the input image's pixels. Classifier: resize to the training size -> class probabilities.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from teaplatform.vision.augment import Letterbox, Uint8Image, letterbox, resize_square
from teaplatform.vision.centernet import BoxCoding, Detections, decode


@dataclass(frozen=True)
class DecodeParams:
    stride: int
    score_threshold: float
    nms_iou: float
    max_detections: int
    coding: BoxCoding = "centre_size"


def to_nchw(images: Sequence[Uint8Image]) -> NDArray[np.float32]:
    """uint8 HWC images to one float32 NCHW batch in [0, 1]."""
    batch = np.stack(images).astype(np.float32) / 255.0
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


def detector_inputs(
    images: Sequence[Uint8Image], size: int
) -> tuple[NDArray[np.float32], list[Letterbox]]:
    fitted = [letterbox(im, size) for im in images]
    return to_nchw([f[0] for f in fitted]), [f[1] for f in fitted]


def detector_outputs(
    heat: NDArray[np.float32],
    regression: NDArray[np.float32],
    boxes_in: Sequence[Letterbox],
    params: DecodeParams,
) -> list[Detections]:
    """One `Detections` per image, in that image's pixels (clipped to none: boxes may overhang)."""
    out = []
    for i, lb in enumerate(boxes_in):
        dets = decode(
            heat[i],
            regression[i],
            stride=params.stride,
            score_threshold=params.score_threshold,
            max_detections=params.max_detections,
            nms_iou=params.nms_iou,
            coding=params.coding,
        )
        out.append(Detections(lb.to_image(dets.boxes), dets.scores, dets.labels))
    return out


def classifier_inputs(images: Sequence[Uint8Image], size: int) -> NDArray[np.float32]:
    return to_nchw([resize_square(im, size) for im in images])
