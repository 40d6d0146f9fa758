"""Made-tea grade rules: a pure engine over a data file of limits per grade.

    rules = load_rules()                                     # the shipped rule file
    result = grade_sample(rules, "green", {"moisture": 6.2, "powder": 0.7, ...})
    result.grade, result.reasons

The best grade whose every limit the sample meets wins; the reasons say, for each better
grade, which indicator kept the sample out. A missing indicator fails its limit (a grade is
never given on unmeasured properties); a sample below the last grade is "off-grade".
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

RULES_FILE = Path(__file__).resolve().parent / "data" / "made_tea_grades.yaml"
OFF_GRADE = "off-grade"


class Limit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one_bound(self) -> "Limit":
        if self.min is None and self.max is None:
            raise ValueError("a limit needs min or max")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min above max")
        return self

    def check(self, name: str, value: float | None) -> str | None:
        """None when `value` meets the limit, else the reason it does not."""
        if value is None:
            return f"{name} not measured"
        if self.min is not None and value < self.min:
            return f"{name} {value:g} < {self.min:g}"
        if self.max is not None and value > self.max:
            return f"{name} {value:g} > {self.max:g}"
        return None


class Grade(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    limits: dict[str, Limit]


class TeaRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    after: str = ""
    grades: list[Grade] = Field(min_length=1)


class RuleBook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int
    teas: dict[str, TeaRules]


@dataclass(frozen=True)
class GradeResult:
    tea: str
    grade: str
    reasons: tuple[str, ...]  # why each better grade was missed

    def to_json(self) -> dict[str, object]:
        return {"tea": self.tea, "grade": self.grade, "reasons": list(self.reasons)}


def parse_rules(raw: object) -> RuleBook:
    return RuleBook.model_validate(raw)


def load_rules(path: Path = RULES_FILE) -> RuleBook:
    return parse_rules(yaml.safe_load(path.read_text()))


def grade_sample(rules: RuleBook, tea: str, indicators: Mapping[str, float]) -> GradeResult:
    """The best grade of `tea` whose limits `indicators` meet, with the reasons for the misses."""
    if tea not in rules.teas:
        raise KeyError(f"unknown tea {tea!r}; known: {', '.join(sorted(rules.teas))}")
    reasons: list[str] = []
    for grade in rules.teas[tea].grades:
        misses = [
            reason
            for name, limit in grade.limits.items()
            if (reason := limit.check(name, indicators.get(name))) is not None
        ]
        if not misses:
            return GradeResult(tea, grade.name, tuple(reasons))
        reasons.append(f"not {grade.name}: " + "; ".join(misses))
    return GradeResult(tea, OFF_GRADE, tuple(reasons))
