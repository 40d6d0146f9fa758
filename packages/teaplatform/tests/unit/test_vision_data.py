"""Dataset readers and splits, on hand-made label text and on the real data."""

from pathlib import Path

import numpy as np
import pytest

from teaplatform.vision.data import (
    ClassItem,
    parse_yolo_labels,
    parse_yolo_line,
    photo_of,
    read_class_folders,
    read_yolo_dataset,
    split_classes,
    split_detection,
)

pytestmark = pytest.mark.unit


def test_box_line_becomes_pixel_box() -> None:
    ann = parse_yolo_line("2 0.5 0.25 0.2 0.1", 640, 480)
    assert ann is not None and ann.label == 2
    np.testing.assert_allclose(ann.box, [256, 96, 384, 144], atol=1e-4)


def test_polygon_line_becomes_its_extent() -> None:
    ann = parse_yolo_line("1 0.1 0.2 0.3 0.25 0.2 0.5", 100, 200)
    assert ann is not None
    assert ann.polygon.shape == (3, 2)
    np.testing.assert_allclose(ann.box, [10, 40, 30, 100], atol=1e-4)


@pytest.mark.parametrize("line", ["1 0.1 0.2 0.3", "1 0.1 0.2 0.3 0.4 0.5 0.6 0.7", "x 1 2 3 4"])
def test_malformed_lines_are_rejected(line: str) -> None:
    with pytest.raises(ValueError):
        parse_yolo_labels(line, 10, 10)


def test_blank_and_degenerate_lines_are_skipped() -> None:
    anns = parse_yolo_labels("\n0 0.5 0.5 0 0.1\n0 0.5 0.5 0.1 0.1\n", 10, 10)
    assert len(anns) == 1


def test_photo_name_is_the_part_before_the_roboflow_mark_less_the_tile_window() -> None:
    assert photo_of("014_2024_06_28-16_13_08_0_0_1280_1280_jpg.rf.2241.jpg") == (
        "014_2024_06_28-16_13_08"
    )
    # the overlapping tiles of one camera shot are one photo
    assert photo_of("014_2024_06_28-16_13_08_1000_1184_2280_2464_jpg.rf.9f.jpg") == (
        "014_2024_06_28-16_13_08"
    )
    assert photo_of("plain.jpg") == "plain"
    assert photo_of("shot_12.jpg") == "shot_12"  # a number alone is no window
    assert photo_of("cam_2024_06_28_1613.jpg") == "cam_2024_06_28_1613"  # a date is no window


def test_real_shoot_split_keeps_every_photo_on_one_side(shared_data: Path) -> None:
    items = read_yolo_dataset(shared_data / "tea" / "shoots" / "train")
    assert len(items) == 440
    split = split_detection(items, 0.2)
    train_photos = {i.photo for i in split.train}
    val_photos = {i.photo for i in split.val}
    assert not train_photos & val_photos
    # 164 tiles (before `_jpg.rf.`) cut from 45 camera shots
    assert len(train_photos) + len(val_photos) == 45
    assert len(val_photos) == round(45 * 0.2)
    again = split_detection(list(reversed(items)), 0.2)
    assert again.digest == split.digest  # depends on the names only, not their order


def test_leaf_split_is_stratified(shared_data: Path) -> None:
    classes, items = read_class_folders(shared_data / "tea" / "leaf_disease")
    assert len(classes) == 8 and "healthy" in classes
    split = split_classes(items, 0.2)
    assert len(split.train) + len(split.val) == len(items) == 710
    for label in range(len(classes)):
        n = sum(i.label == label for i in items)
        assert sum(i.label == label for i in split.val) == round(n * 0.2)
    assert not {(i.label, i.image) for i in split.train} & {(i.label, i.image) for i in split.val}


def test_class_split_of_duplicated_names_is_by_class_and_name() -> None:
    items = [ClassItem(Path(f"/x/{c}/{n}.jpg"), c) for c in range(2) for n in range(10)]
    split = split_classes(items, 0.3)
    assert len(split.val) == 6
