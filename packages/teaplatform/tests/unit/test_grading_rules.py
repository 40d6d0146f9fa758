"""Made-tea grade rules: the engine on a small rule book and on the shipped file."""

import pytest
from pydantic import ValidationError

from teaplatform.grading.rules import OFF_GRADE, grade_sample, load_rules, parse_rules

pytestmark = pytest.mark.unit

BOOK = parse_rules(
    {
        "version": 1,
        "teas": {
            "green": {
                "name": "g",
                "grades": [
                    {"name": "A", "limits": {"moisture": {"max": 6.0}, "score": {"min": 90}}},
                    {"name": "B", "limits": {"moisture": {"max": 7.0}, "score": {"min": 80}}},
                ],
            }
        },
    }
)


def test_best_grade_met_wins_with_reasons_for_the_misses() -> None:
    assert grade_sample(BOOK, "green", {"moisture": 5.5, "score": 95}).grade == "A"
    result = grade_sample(BOOK, "green", {"moisture": 6.5, "score": 95})
    assert result.grade == "B"
    assert result.reasons == ("not A: moisture 6.5 > 6",)


def test_below_every_grade_is_off_grade_and_missing_values_fail() -> None:
    result = grade_sample(BOOK, "green", {"moisture": 8, "score": 95})
    assert result.grade == OFF_GRADE and len(result.reasons) == 2
    assert "score not measured" in grade_sample(BOOK, "green", {"moisture": 5}).reasons[0]


def test_unknown_tea_lists_the_known_ones() -> None:
    with pytest.raises(KeyError, match="green"):
        grade_sample(BOOK, "oolong", {})


def test_bad_rule_books_are_rejected() -> None:
    with pytest.raises(ValidationError):
        parse_rules(
            {
                "version": 1,
                "teas": {"g": {"name": "g", "grades": [{"name": "A", "limits": {"m": {}}}]}},
            }
        )
    with pytest.raises(ValidationError):
        parse_rules({"version": 1, "teas": {"g": {"name": "g", "grades": []}}})


def test_shipped_rules_grade_better_samples_higher() -> None:
    book = load_rules()
    assert {"green", "black"} <= set(book.teas)
    good = {
        "sensory_score": 93,
        "moisture": 6.0,
        "total_ash": 6.0,
        "powder": 0.5,
        "broken": 2,
        "water_extract": 37,
    }
    worse = {**good, "sensory_score": 85, "broken": 7}
    for tea in ("green", "black"):
        names = [g.name for g in book.teas[tea].grades]
        best = grade_sample(book, tea, good).grade
        lower = grade_sample(book, tea, worse).grade
        assert best == names[0]
        assert names.index(lower) > names.index(best)
