"""Picking points: the geometric truth from outlines and the estimate from boxes."""

from pathlib import Path

import numpy as np
import pytest

from teaplatform.picking.points import (
    LabelledShoots,
    estimate_pick_point,
    lean,
    true_pick_point,
)
from teaplatform.vision.data import load_rgb, read_yolo_dataset

pytestmark = pytest.mark.unit


def test_truth_of_an_upright_shoot_is_its_bottom_centre() -> None:
    # a tall thin rectangle: the base is the bottom edge's middle
    polygon = np.array([[10, 0], [14, 0], [14, 40], [10, 40]], np.float32)
    x, y = true_pick_point(polygon)
    assert x == pytest.approx(12.0)
    assert y == pytest.approx(40.0)


def test_truth_of_a_leaning_shoot_is_its_lower_end() -> None:
    # a thin bar from (0, 0) to (30, 30): the lower end is near (30, 30)
    polygon = np.array([[0, 2], [2, 0], [32, 30], [30, 32]], np.float32)
    x, y = true_pick_point(polygon)
    assert x > 25 and y > 25


def test_box_only_estimate_is_on_the_centre_line() -> None:
    p = estimate_pick_point((10, 20, 30, 120), None, fraction=0.8)
    assert (p.x, p.y, p.lean) == (20.0, 100.0, 0.0)


def test_lean_follows_a_diagonal_shoot() -> None:
    crop = np.zeros((40, 40, 3), np.uint8)
    for i in range(40):  # a light-green stripe from top-left to bottom-right
        crop[i, max(0, i - 2) : i + 3] = (170, 220, 60)
    assert lean(crop) > 0.8
    assert lean(crop[:, ::-1]) < -0.8
    assert lean(np.zeros((10, 10, 3), np.uint8)) == 0.0
    est = estimate_pick_point((0, 0, 40, 40), crop, fraction=1.0)
    assert est.x > 30 and est.y == 40


def test_errors_on_real_labelled_shoots(shared_data: Path) -> None:
    items = read_yolo_dataset(shared_data / "tea" / "shoots" / "train", limit=3)
    polys, boxes, images = [], [], []
    for item in items:
        image = load_rgb(item.image)
        for ann in item.annotations:
            polys.append(ann.polygon)
            boxes.append(ann.box)
            images.append(image)
    box_arr = np.stack(boxes)
    shoots = LabelledShoots.build(polys, box_arr, images)
    fraction = shoots.fit_fraction(np.linspace(0.5, 1.1, 7))
    summary = shoots.errors(fraction).summary()
    assert summary["shoots"] == len(polys) > 10
    # the estimate lies within the shoot's own size of the truth, typically
    assert 0 < summary["median_rel_diag"] < 0.6
    # the same errors as estimating each point on its own
    first = estimate_pick_point(box_arr[0], images[0], fraction)
    tx, ty = true_pick_point(polys[0])
    assert shoots.errors(fraction).pixels[0] == pytest.approx(np.hypot(first.x - tx, first.y - ty))
    blind = LabelledShoots.build(polys, box_arr, [None] * len(polys))
    assert np.all(blind.leans == 0) and np.any(shoots.leans != 0)
