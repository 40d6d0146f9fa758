"""Image transforms: letterboxing for inference, random augmentation for training.

Everything works on uint8 RGB arrays and pixel boxes (x1, y1, x2, y2) and takes its
randomness from an explicit `numpy.random.Generator`, so a seed fixes a whole epoch.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from PIL import Image

Uint8Image = NDArray[np.uint8]
Boxes = NDArray[np.float32]
Labels = NDArray[np.int64]
PAD_VALUE = 114  # mid-grey padding, as YOLO-style letterboxes use
MIN_VISIBLE = 0.35  # a cropped object counts when this share of its box is still inside
MIN_SIDE = 2.0  # pixels


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the network input: ``net = image * scale + pad``."""

    scale: float
    pad_x: float
    pad_y: float

    def to_image(self, boxes: Boxes) -> Boxes:
        """Network-input boxes back to the original image's pixels."""
        out = boxes.copy()
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.scale
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.scale
        return out


def letterbox(image: Uint8Image, size: int) -> tuple[Uint8Image, Letterbox]:
    """Resize keeping the aspect ratio so the long side is `size`; pad the rest with grey."""
    h, w = image.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    resized = np.asarray(Image.fromarray(image).resize((nw, nh), Image.Resampling.BILINEAR))
    canvas = np.full((size, size, 3), PAD_VALUE, np.uint8)
    px, py = (size - nw) // 2, (size - nh) // 2
    canvas[py : py + nh, px : px + nw] = resized
    return canvas, Letterbox(scale, float(px), float(py))


def _filter_boxes(boxes: Boxes, labels: Labels, width: int, height: int) -> tuple[Boxes, Labels]:
    """Clip to the canvas; keep the boxes still mostly visible and not degenerate."""
    if len(boxes) == 0:
        return boxes.reshape(0, 4), labels
    clipped = boxes.copy()
    clipped[:, [0, 2]] = clipped[:, [0, 2]].clip(0, width)
    clipped[:, [1, 3]] = clipped[:, [1, 3]].clip(0, height)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    cw, ch = clipped[:, 2] - clipped[:, 0], clipped[:, 3] - clipped[:, 1]
    keep = (cw * ch >= MIN_VISIBLE * area) & (cw >= MIN_SIDE) & (ch >= MIN_SIDE)
    return clipped[keep], labels[keep]


def scaled_crop(
    image: Uint8Image,
    boxes: Boxes,
    labels: Labels,
    *,
    scale: float,
    out_w: int,
    out_h: int,
    rng: np.random.Generator,
) -> tuple[Uint8Image, Boxes, Labels]:
    """A random `out_w` x `out_h` window of `image` resized by `scale` (grey where it runs out)."""
    h, w = image.shape[:2]
    sw, sh = w * scale, h * scale
    # window origin in scaled pixels (may be negative: the image sits inside a larger window)
    ox = rng.uniform(0, sw - out_w) if sw > out_w else -rng.uniform(0, out_w - sw)
    oy = rng.uniform(0, sh - out_h) if sh > out_h else -rng.uniform(0, out_h - sh)
    x0, y0 = max(ox, 0.0), max(oy, 0.0)
    x1, y1 = min(ox + out_w, sw), min(oy + out_h, sh)
    canvas = np.full((out_h, out_w, 3), PAD_VALUE, np.uint8)
    px, py = round(x0 - ox), round(y0 - oy)
    tw, th = min(round(x1 - x0), out_w - px), min(round(y1 - y0), out_h - py)
    if tw > 0 and th > 0:
        src = (x0 / scale, y0 / scale, x1 / scale, y1 / scale)
        patch = Image.fromarray(image).resize((tw, th), Image.Resampling.BILINEAR, box=src)
        canvas[py : py + th, px : px + tw] = np.asarray(patch)
    moved = boxes * scale - np.array([ox, oy, ox, oy], np.float32)
    kept, kept_labels = _filter_boxes(moved.astype(np.float32), labels, out_w, out_h)
    return canvas, kept, kept_labels


def flip(
    image: Uint8Image, boxes: Boxes, horizontal: bool, vertical: bool
) -> tuple[Uint8Image, Boxes]:
    h, w = image.shape[:2]
    boxes = boxes.copy()
    if horizontal:
        image = image[:, ::-1]
        boxes[:, [0, 2]] = w - boxes[:, [2, 0]]
    if vertical:
        image = image[::-1]
        boxes[:, [1, 3]] = h - boxes[:, [3, 1]]
    return np.ascontiguousarray(image), boxes


_RGB_TO_YIQ = np.array(
    [[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], np.float32
)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ).astype(np.float32)


def color_matrix(hue: float, saturation: float, value: float) -> NDArray[np.float32]:
    """One 3x3 RGB matrix that rotates hue by `hue` turns and scales saturation and value.

    Hue turns about the grey axis in YIQ space and saturation scales I and Q (the chroma):
    as an HSV round trip would, but one matrix product per image instead of two conversions.
    """
    angle = 2 * np.pi * hue
    c, s = np.cos(angle) * saturation, np.sin(angle) * saturation
    chroma = np.array([[1, 0, 0], [0, c, -s], [0, s, c]], np.float32)
    out: NDArray[np.float32] = (value * _YIQ_TO_RGB @ chroma @ _RGB_TO_YIQ).astype(np.float32)
    return out


def hsv_jitter(
    image: Uint8Image, gains: tuple[float, float, float], rng: np.random.Generator
) -> Uint8Image:
    """Random hue shift and saturation/value scaling (YOLO-style gains)."""
    if not any(gains):
        return image
    dh, ds, dv = rng.uniform(-1, 1, 3) * np.array(gains)
    matrix = color_matrix(dh, 1 + ds, 1 + dv)
    src = image.astype(np.float32)
    out = np.empty_like(src)
    # three weighted sums, not a (N, 3) @ (3, 3) matmul, which BLAS runs slowly at this shape
    for c in range(3):
        out[..., c] = (
            src[..., 0] * matrix[c, 0] + src[..., 1] * matrix[c, 1] + src[..., 2] * matrix[c, 2]
        )
    return np.clip(out, 0, 255, out=out).astype(np.uint8)


def detection_sample(
    images: list[Uint8Image],
    boxes: list[Boxes],
    labels: list[Labels],
    index: int,
    *,
    size: int,
    scale_range: tuple[float, float],
    mosaic: float,
    do_flip: bool,
    hsv: tuple[float, float, float],
    rng: np.random.Generator,
) -> tuple[Uint8Image, Boxes, Labels]:
    """One training input of `size` px built around image `index` (sometimes a 4-way mosaic).

    Scales are relative to the letterbox scale used at inference, so objects are seen at
    about the size they have when the detector runs.
    """

    def pick_scale(i: int) -> float:
        base = size / max(images[i].shape[:2])
        return float(base * rng.uniform(*scale_range))

    if rng.random() < mosaic:
        cx = round(rng.uniform(0.25, 0.75) * size)
        cy = round(rng.uniform(0.25, 0.75) * size)
        others = rng.integers(0, len(images), 3)
        canvas = np.empty((size, size, 3), np.uint8)
        all_boxes, all_labels = [], []
        cells = ((0, 0, cx, cy), (cx, 0, size, cy), (0, cy, cx, size), (cx, cy, size, size))
        for i, (x0, y0, x1, y1) in zip([index, *others.tolist()], cells, strict=True):
            patch, b, lab = scaled_crop(
                images[i],
                boxes[i],
                labels[i],
                scale=pick_scale(i),
                out_w=x1 - x0,
                out_h=y1 - y0,
                rng=rng,
            )
            canvas[y0:y1, x0:x1] = patch
            all_boxes.append(b + np.array([x0, y0, x0, y0], np.float32))
            all_labels.append(lab)
        image = canvas
        out_boxes = np.concatenate(all_boxes).astype(np.float32)
        out_labels = np.concatenate(all_labels)
    else:
        image, out_boxes, out_labels = scaled_crop(
            images[index],
            boxes[index],
            labels[index],
            scale=pick_scale(index),
            out_w=size,
            out_h=size,
            rng=rng,
        )
    if do_flip:
        image, out_boxes = flip(image, out_boxes, rng.random() < 0.5, rng.random() < 0.5)
    return hsv_jitter(image, hsv, rng), out_boxes, out_labels


def classification_sample(
    image: Uint8Image, size: int, hsv: tuple[float, float, float], rng: np.random.Generator
) -> Uint8Image:
    """Random resized crop (60-100% of the area), flips, a quarter turn and colour jitter."""
    h, w = image.shape[:2]
    area = rng.uniform(0.6, 1.0) * h * w
    aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
    cw = min(w, round(np.sqrt(area * aspect)))
    ch = min(h, round(np.sqrt(area / aspect)))
    x0 = int(rng.integers(0, w - cw + 1))
    y0 = int(rng.integers(0, h - ch + 1))
    crop = Image.fromarray(image).resize(
        (size, size), Image.Resampling.BILINEAR, box=(x0, y0, x0 + cw, y0 + ch)
    )
    out = np.asarray(crop)
    if rng.random() < 0.5:
        out = out[:, ::-1]
    if rng.random() < 0.5:
        out = out[::-1]
    out = np.rot90(out, int(rng.integers(0, 4)))
    return hsv_jitter(np.ascontiguousarray(out), hsv, rng)


def resize_square(image: Uint8Image, size: int) -> Uint8Image:
    """The classifier's inference transform: the whole image resized to `size` x `size`."""
    out = Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(out, dtype=np.uint8).copy()
