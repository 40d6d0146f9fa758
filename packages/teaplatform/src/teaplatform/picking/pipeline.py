"""Shoot detection in use: detections with picking points and a pick plan, per image."""

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from teaplatform.picking.plan import ArmConfig, PickPlan, plan_picks
from teaplatform.picking.points import DEFAULT_FRACTION, estimate_pick_point
from teaplatform.vision.centernet import Detections


@dataclass(frozen=True)
class Shoot:
    label: int
    name: str
    score: float
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in the image's pixels
    pick_point: tuple[float, float]

    def to_json(self) -> dict[str, object]:
        """The CLI/API shape: class name, score, box and pick point in input pixels."""
        return {
            "class": self.name,
            "score": round(self.score, 4),
            "box": [round(v, 1) for v in self.box],
            "pick_point": [round(v, 1) for v in self.pick_point],
        }


def shoots_of(
    image: NDArray[np.uint8],
    detections: Detections,
    classes: list[str],
    fraction: float = DEFAULT_FRACTION,
) -> list[Shoot]:
    """Each detection clipped to the image, with its picking point."""
    h, w = image.shape[:2]
    out = []
    for box, score, label in zip(
        detections.boxes, detections.scores, detections.labels, strict=True
    ):
        x1, y1, x2, y2 = (float(v) for v in np.clip(box, 0, [w, h, w, h]))
        if x2 <= x1 or y2 <= y1:
            continue
        point = estimate_pick_point((x1, y1, x2, y2), image, fraction)
        # the point may sit just below its box (on the stem), never outside the image
        px, py = min(max(point.x, 0.0), float(w)), min(max(point.y, 0.0), float(h))
        box4 = (x1, y1, x2, y2)
        out.append(Shoot(int(label), classes[int(label)], float(score), box4, (px, py)))
    return out


def plan_for(image: NDArray[np.uint8], shoots: list[Shoot], arm: ArmConfig) -> PickPlan:
    h, w = image.shape[:2]
    return plan_picks([s.pick_point for s in shoots], (w, h), arm)
