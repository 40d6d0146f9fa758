"""Centre-point detection (CenterNet/TTFNet style) as pure numpy: targets, decoding, NMS.

The network predicts, on a grid of stride `s`, one heatmap per class (the chance that an
object's centre falls in the cell) and four regression maps, in one of two box codings:

- `centre_size` (CenterNet): at the centre cell only, the centre's sub-cell offset (dx, dy)
  and the box's log size (log w/s, log h/s).
- `edges` (TTFNet): at every cell of the box's central region, the log distances from the
  cell's centre to the box's left, top, right and bottom edges (in cells). Many cells per
  object are supervised instead of one, which is what makes TTFNet train in a fraction of
  CenterNet's epochs; its loss is GIoU (see `losses.giou_loss`).

Targets put an elliptical Gaussian on each centre, whose spread follows the box (TTFNet,
alpha 0.54), so long thin shoots get long thin peaks.
"""

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]
GAUSSIAN_ALPHA = 0.54
MIN_SIGMA = 0.5  # cells
# TTFNet's beta: the regression region spans this fraction of the box's width and height
REGION_BETA = 0.54
BoxCoding = Literal["centre_size", "edges"]


@dataclass(frozen=True)
class Targets:
    heatmap: FloatArray  # (C, H, W)
    # (4, H, W) centre_size: dx, dy, log w, log h; edges: the box's x1, y1, x2, y2 in cells
    regression: FloatArray
    # (H, W) where the regression is supervised: centre_size 1 at centres; edges a weight per
    # cell, each object's summing to log(its area in pixels) as in TTFNet (big boxes count more)
    mask: FloatArray


@dataclass(frozen=True)
class Detections:
    boxes: FloatArray  # (N, 4) x1, y1, x2, y2
    scores: FloatArray  # (N,)
    labels: NDArray[np.int64]  # (N,)

    def __len__(self) -> int:
        return len(self.scores)

    def take(self, index: NDArray[np.int64]) -> "Detections":
        return Detections(self.boxes[index], self.scores[index], self.labels[index])


def encode(
    boxes: FloatArray,
    labels: NDArray[np.int64],
    num_classes: int,
    size: int,
    stride: int,
    *,
    coding: BoxCoding = "centre_size",
) -> Targets:
    """Targets for one `size` x `size` input holding `boxes` (pixels) of class `labels`."""
    grid = size // stride
    heat = np.zeros((num_classes, grid, grid), np.float32)
    reg = np.zeros((4, grid, grid), np.float32)
    mask = np.zeros((grid, grid), np.float32)
    ys, xs = np.mgrid[0:grid, 0:grid].astype(np.float32)
    # large boxes first, so a small object sharing a centre cell keeps its regression
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    for i in np.argsort(-areas, kind="stable"):
        x1, y1, x2, y2 = boxes[i] / stride
        w, h = max(x2 - x1, 1e-3), max(y2 - y1, 1e-3)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        ix, iy = min(int(cx), grid - 1), min(int(cy), grid - 1)
        sx = max(GAUSSIAN_ALPHA * w / 6, MIN_SIGMA)
        sy = max(GAUSSIAN_ALPHA * h / 6, MIN_SIGMA)
        g = np.exp(-((xs - ix) ** 2) / (2 * sx**2) - ((ys - iy) ** 2) / (2 * sy**2))
        np.maximum(heat[labels[i]], g, out=heat[labels[i]])
        heat[labels[i], iy, ix] = 1.0
        if coding == "centre_size":
            reg[:, iy, ix] = (cx - ix, cy - iy, np.log(w), np.log(h))
            mask[iy, ix] = 1.0
            continue
        # edges: cells whose centre lies in the box's central region, and the centre cell
        region = (np.abs(xs + 0.5 - cx) <= REGION_BETA * w / 2) & (
            np.abs(ys + 0.5 - cy) <= REGION_BETA * h / 2
        )
        region[iy, ix] = True
        weight = np.where(region, g, 0.0)
        weight *= np.log(max(w * h * stride * stride, 2.0)) / weight.sum()
        reg[:, region] = np.array([x1, y1, x2, y2], np.float32)[:, None]
        mask[region] = weight[region]
    return Targets(heat, reg, mask)


def box_iou(a: FloatArray, b: FloatArray) -> FloatArray:
    """Pairwise IoU of (N, 4) and (M, 4) boxes: (N, M)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod((rb - lt).clip(0), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    out: FloatArray = (inter / np.maximum(union, 1e-9)).astype(np.float32)
    return out


def nms(dets: Detections, iou_threshold: float) -> Detections:
    """Greedy per-class non-maximum suppression; the result is sorted by score."""
    order = np.argsort(-dets.scores, kind="stable")
    dets = dets.take(order)
    keep = np.ones(len(dets), bool)
    for c in np.unique(dets.labels):
        idx = np.flatnonzero(dets.labels == c)
        iou = box_iou(dets.boxes[idx], dets.boxes[idx])
        for j in range(len(idx)):
            if keep[idx[j]]:
                later = idx[j + 1 :][iou[j, j + 1 :] > iou_threshold]
                keep[later] = False
    return dets.take(np.flatnonzero(keep))


def local_maxima(heat: FloatArray) -> FloatArray:
    """`heat` (C, H, W) where a cell is the maximum of its 3x3 neighbourhood, 0 elsewhere."""
    _, h, w = heat.shape
    padded = np.pad(heat, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    neighbourhood = np.max(
        [padded[:, dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)], axis=0
    )
    out: FloatArray = np.where(heat >= neighbourhood, heat, 0.0).astype(np.float32)
    return out


def decode(
    heat: FloatArray,
    regression: FloatArray,
    *,
    stride: int,
    score_threshold: float,
    max_detections: int,
    nms_iou: float,
    coding: BoxCoding = "centre_size",
) -> Detections:
    """Boxes (network-input pixels) from one image's heatmap (C, H, W) and regression (4, H, W).

    Only 3x3 local maxima of the heatmap are candidate centres. (Detectors exported before
    this step moved here output those maxima already; finding them again changes nothing.)
    """
    peaks = local_maxima(heat)
    flat = peaks.reshape(-1)
    candidates = np.flatnonzero(flat >= score_threshold)
    if len(candidates) > max_detections:
        top = np.argpartition(-flat[candidates], max_detections - 1)[:max_detections]
        candidates = candidates[top]
    _, h, w = peaks.shape
    labels, rest = np.divmod(candidates, h * w)
    ys, xs = np.divmod(rest, w)
    boxes = _boxes(regression[:, ys, xs], xs, ys, coding) * stride
    dets = Detections(boxes.astype(np.float32), flat[candidates].astype(np.float32), labels)
    return nms(dets, nms_iou)


def _boxes(
    values: FloatArray, xs: NDArray[np.int64], ys: NDArray[np.int64], coding: BoxCoding
) -> FloatArray:
    """(N, 4) boxes in cells from the regression `values` (4, N) read at cells (xs, ys)."""
    if coding == "centre_size":
        dx, dy, lw, lh = values
        cx, cy = xs + dx, ys + dy
        half_w, half_h = np.exp(np.clip(lw, -6, 6)) / 2, np.exp(np.clip(lh, -6, 6)) / 2
        return np.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], axis=1)
    left, top, right, bottom = np.exp(np.clip(values, -6, 6))
    px, py = xs + 0.5, ys + 0.5
    return np.stack([px - left, py - top, px + right, py + bottom], axis=1)
