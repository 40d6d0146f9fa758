"""Picking points: where to cut each detected shoot, and the geometric truth to check it by.

Convention: the camera looks at the canopy with the shoots growing up the image, so a
shoot's stem end is its lower end (larger y).

Estimate (from a box and the pixels inside it): the shoot runs from its tip at the top of the
box to its base at the bottom; which way it leans comes from the correlation of x and y over
the box's light-green (young-shoot) pixels: the axis runs from
``(cx - t*w/2, y1)`` to ``(cx + t*w/2, y2)`` with t the weighted correlation in [-1, 1], and
the picking point lies the fraction `f` of the way from tip to base. With no pixels
(``image=None``) t = 0: the box's vertical centre line.

Truth (from a labelled outline): the outline's principal axis (area moments); its lower end;
the picking point is the centroid of the outline's vertices within the last 10 % of its length
at that end -- where the shoot meets its stem.
"""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]
Point = tuple[float, float]
BASE_SHARE = 0.10  # share of the shoot's length that counts as its base
# fitted on the training photos' labelled shoots (benchmarks/bench_vision.py reports it)
DEFAULT_FRACTION = 1.05


@dataclass(frozen=True)
class PickPoint:
    x: float
    y: float
    lean: float  # t in [-1, 1]: -1 leans like '/', +1 like '\\', 0 upright


def _polygon_moments(polygon: FloatArray) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Centroid and 2x2 covariance of the area a closed polygon encloses (Green's theorem)."""
    p = polygon.astype(np.float64)
    x, y = p[:, 0], p[:, 1]
    xn, yn = np.roll(x, -1), np.roll(y, -1)
    cross = x * yn - xn * y
    area = cross.sum() / 2
    if abs(area) < 1e-9:  # degenerate: fall back to the vertices
        centre = p.mean(0)
        return centre, np.cov(p.T) if len(p) > 1 else np.zeros((2, 2))
    cx = ((x + xn) * cross).sum() / (6 * area)
    cy = ((y + yn) * cross).sum() / (6 * area)
    sxx = ((x**2 + x * xn + xn**2) * cross).sum() / (12 * area) - cx**2
    syy = ((y**2 + y * yn + yn**2) * cross).sum() / (12 * area) - cy**2
    sxy = ((x * yn + 2 * x * y + 2 * xn * yn + xn * y) * cross).sum() / (24 * area) - cx * cy
    return np.array([cx, cy]), np.array([[sxx, sxy], [sxy, syy]])


def true_pick_point(polygon: FloatArray) -> Point:
    """The geometric picking point of a labelled shoot outline (see the module docstring)."""
    centre, cov = _polygon_moments(polygon)
    _, vectors = np.linalg.eigh(cov)
    axis = vectors[:, -1]
    if axis[1] < 0:  # point the axis down the image, towards the base
        axis = -axis
    along = (polygon.astype(np.float64) - centre) @ axis
    lo, hi = along.min(), along.max()
    base = polygon[along >= hi - BASE_SHARE * (hi - lo)]
    x, y = base.mean(0)
    return float(x), float(y)


def lean(crop: NDArray[np.uint8] | None) -> float:
    """The x-y correlation of the young-shoot pixels in a box crop (0 when it cannot tell).

    Young shoots are lighter and yellower than the mature leaves around them: pixels weigh by
    how much green exceeds blue, times brightness.
    """
    if crop is None or crop.shape[0] < 3 or crop.shape[1] < 3:
        return 0.0
    rgb = crop.astype(np.float32) / 255.0
    weight = np.clip(rgb[..., 1] - rgb[..., 2], 0, None) * rgb.mean(axis=2)
    total = weight.sum()
    if total <= 1e-6:
        return 0.0
    h, w = weight.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    xs, ys = xs / w, ys / h  # box-relative, so tall thin boxes are not favoured
    mx, my = (weight * xs).sum() / total, (weight * ys).sum() / total
    vx = (weight * (xs - mx) ** 2).sum() / total
    vy = (weight * (ys - my) ** 2).sum() / total
    cxy = (weight * (xs - mx) * (ys - my)).sum() / total
    if vx <= 1e-9 or vy <= 1e-9:
        return 0.0
    return float(np.clip(cxy / np.sqrt(vx * vy), -1.0, 1.0))


def box_lean(
    box: FloatArray | tuple[float, float, float, float], image: NDArray[np.uint8] | None
) -> float:
    """The lean of the shoot in `box`, read from `image` (0 without one)."""
    if image is None:
        return 0.0
    x1, y1, x2, y2 = (float(v) for v in box)
    h, w = image.shape[:2]
    ix1, iy1 = max(int(x1), 0), max(int(y1), 0)
    ix2, iy2 = min(int(np.ceil(x2)), w), min(int(np.ceil(y2)), h)
    return lean(image[iy1:iy2, ix1:ix2]) if ix2 > ix1 and iy2 > iy1 else 0.0


def point_on_axis(
    box: FloatArray | tuple[float, float, float, float], t: float, fraction: float
) -> PickPoint:
    """The point `fraction` of the way from tip to base of a shoot leaning by `t` in `box`."""
    x1, y1, x2, y2 = (float(v) for v in box)
    cx, bw = (x1 + x2) / 2, x2 - x1
    tip = np.array([cx - t * bw / 2, y1])
    base = np.array([cx + t * bw / 2, y2])
    x, y = tip + fraction * (base - tip)
    return PickPoint(float(x), float(y), t)


def estimate_pick_point(
    box: FloatArray | tuple[float, float, float, float],
    image: NDArray[np.uint8] | None = None,
    fraction: float = DEFAULT_FRACTION,
) -> PickPoint:
    """The picking point of a shoot in `box` (x1, y1, x2, y2), optionally reading `image`."""
    return point_on_axis(box, box_lean(box, image), fraction)


@dataclass(frozen=True)
class PointError:
    """Distance from estimate to truth: pixels, and relative to the box's diagonal."""

    pixels: NDArray[np.float64]
    relative: NDArray[np.float64]

    def summary(self) -> dict[str, float]:
        return {
            "median_px": float(np.median(self.pixels)),
            "p90_px": float(np.percentile(self.pixels, 90)),
            "median_rel_diag": float(np.median(self.relative)),
            "p90_rel_diag": float(np.percentile(self.relative, 90)),
            "within_10pct_diag": float(np.mean(self.relative <= 0.10)),
            "shoots": len(self.pixels),
        }


@dataclass(frozen=True)
class LabelledShoots:
    """Labelled shoots prepared once: boxes, truths from outlines, leans from pixels."""

    boxes: FloatArray
    truths: NDArray[np.float64]  # (N, 2)
    leans: NDArray[np.float64]  # (N,)

    @classmethod
    def build(
        cls,
        polygons: list[FloatArray],
        boxes: FloatArray,
        images: list[NDArray[np.uint8] | None],
    ) -> "LabelledShoots":
        truths = np.array([true_pick_point(p) for p in polygons], np.float64).reshape(-1, 2)
        leans = np.array([box_lean(b, im) for b, im in zip(boxes, images, strict=True)])
        return cls(boxes, truths, leans)

    def errors(self, fraction: float) -> PointError:
        est = np.array(
            [
                (p.x, p.y)
                for p in (
                    point_on_axis(b, t, fraction)
                    for b, t in zip(self.boxes, self.leans, strict=True)
                )
            ],
            np.float64,
        ).reshape(-1, 2)
        px = np.hypot(*(est - self.truths).T)
        diag = np.hypot(self.boxes[:, 2] - self.boxes[:, 0], self.boxes[:, 3] - self.boxes[:, 1])
        return PointError(px, px / np.maximum(diag, 1e-9))

    def fit_fraction(self, grid: NDArray[np.float64] | None = None) -> float:
        """The fraction that minimises the median relative error on these shoots."""
        grid = np.linspace(0.5, 1.1, 13) if grid is None else grid
        scores = [float(np.median(self.errors(f).relative)) for f in grid]
        return float(grid[int(np.argmin(scores))])
