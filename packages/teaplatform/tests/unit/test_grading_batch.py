"""Batch grading of a folder of real leaf images with the shipped classifier."""

import shutil
from pathlib import Path

import pytest

from teaplatform.grading.batch import grade_folder, images_under
from teaplatform.vision.artifacts import builtin_dir
from teaplatform.vision.runtime import OnnxClassifier

pytestmark = pytest.mark.unit


def test_grades_every_image_under_a_folder(shared_data: Path, tmp_path: Path) -> None:
    leaf = shared_data / "tea" / "leaf_disease"
    for name in ("healthy", "white_spot"):
        (tmp_path / name).mkdir()
        for src in sorted((leaf / name).iterdir())[:3]:
            shutil.copy(src, tmp_path / name / src.name)
    (tmp_path / "notes.txt").write_text("not an image")
    classifier = OnnxClassifier.load(builtin_dir("classifier"), threads=1)
    result = grade_folder(classifier, tmp_path, batch_size=4)
    assert [g.image for g in result.items] == images_under(tmp_path)
    assert len(result.items) == 6
    assert all(g.name in classifier.classes and 0 < g.score <= 1 for g in result.items)
    assert result.images_per_second > 0
    assert set(result.items[0].to_json()) == {"image", "class", "score"}
