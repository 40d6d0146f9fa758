"""Grading results decided without I/O: made-tea rules, the share of healthy leaves, and the
record traceability signs."""

from datetime import UTC, datetime

import pytest

from teaplatform.grading.demo import GREEN_SAMPLE
from teaplatform.grading.results import (
    LEAF_GRADES,
    GradingError,
    Source,
    class_counts,
    leaf_outcome,
    made_tea_outcome,
    trace_record,
)
from teaplatform.grading.rules import OFF_GRADE, load_rules

pytestmark = pytest.mark.unit

GRADE_1_GREEN = GREEN_SAMPLE  # grade 1 by the shipped rules


def test_made_tea_outcome_follows_the_rules_and_keeps_the_failed_checks() -> None:
    outcome = made_tea_outcome(load_rules(), "green", GRADE_1_GREEN)
    assert (outcome.source, outcome.grade, outcome.conformant) == (Source.MADE_TEA, "grade 1", True)
    assert outcome.failed_checks == ("not premium: sensory_score 90.5 < 92; broken 3.8 > 3",)
    assert outcome.indicators == GRADE_1_GREEN and outcome.score == 90.5
    assert outcome.method == "made-tea rules v1" and outcome.class_counts is None
    poor = made_tea_outcome(load_rules(), "black", {"moisture": 9.0})
    assert (poor.grade, poor.conformant, len(poor.failed_checks)) == (OFF_GRADE, False, 4)
    with pytest.raises(GradingError, match="unknown tea 'oolong'"):
        made_tea_outcome(load_rules(), "oolong", GRADE_1_GREEN)


@pytest.mark.parametrize(
    ("healthy", "grade"),
    [(50, "leaf grade 1"), (45, "leaf grade 1"), (44, "leaf grade 2"), (25, "leaf grade 3"),
     (24, OFF_GRADE), (0, OFF_GRADE)],
)  # fmt: skip
def test_leaf_grade_is_decided_by_the_share_of_healthy_leaves(healthy: int, grade: str) -> None:
    counts = {"healthy": healthy, "brown_blight": 50 - healthy}
    outcome = leaf_outcome(counts, model="m")
    assert outcome.grade == grade and outcome.conformant == (grade != OFF_GRADE)
    assert outcome.image_count == 50 and outcome.score == healthy / 50
    missed = [name for name, _ in LEAF_GRADES].index(grade) if grade != OFF_GRADE else 3
    assert len(outcome.failed_checks) == missed
    assert outcome.class_counts == {"brown_blight": 50 - healthy, "healthy": healthy}
    assert outcome.source is Source.LEAF_IMAGES and outcome.method == "leaf images: m"


def test_too_few_images_or_negative_counts_are_not_graded() -> None:
    with pytest.raises(GradingError, match="19 images"):
        leaf_outcome({"healthy": 19}, model="m")
    with pytest.raises(GradingError, match="negative"):
        leaf_outcome({"healthy": 30, "white_spot": -1}, model="m")
    assert leaf_outcome({"white_spot": 3}, model="m", min_images=3).grade == OFF_GRADE


def test_class_counts_and_the_trace_record() -> None:
    assert class_counts(["b", "a", "b"]) == {"a": 1, "b": 2}
    at = datetime(2026, 4, 5, 2, tzinfo=UTC)
    record = trace_record(
        result_id="r1", lot="L1", tea_type="green", grade="grade 1", conformant=True,
        graded_at=at, method="made-tea rules v1", score=None, samples=None,
    )  # fmt: skip
    assert record == {
        "result_id": "r1",
        "lot": "L1",
        "tea_type": "green",
        "grade": "grade 1",
        "conformant": True,
        "graded_at": at,
        "method": "made-tea rules v1",
    }
