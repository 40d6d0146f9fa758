"""What a grading result says, decided without I/O.

    outcome = made_tea_outcome(load_rules(), "green", {"moisture": 6.2, ...})  # by the rules
    outcome = leaf_outcome({"healthy": 47, "brown_blight": 3}, model="classifier 1a2b…")

Two sources of a lot's grade:

* **made-tea rules** (``made-tea-rules``): measured indicators of a made-tea sample against
  `rules.grade_sample` — the best grade whose every limit is met; the failed checks say why
  each better grade was missed.
* **leaf images** (``leaf-images``): the leaf-condition classifier's class for each image of a
  sample of the lot's leaf (`batch.grade_folder`). The grade is decided by the **share of
  healthy leaves** (images whose most likely class is ``healthy``): at least 0.90 is
  ``leaf grade 1``, 0.75 ``leaf grade 2``, 0.50 ``leaf grade 3``, below that ``off-grade``; a
  sample of fewer than 20 images is not graded. These thresholds are this platform's own
  (illustrative, like the made-tea numbers), not taken from a standard.

`trace_record` turns a stored result into what `teaplatform.trace.hooks.record_grading_result`
signs.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from teaplatform.grading.rules import OFF_GRADE, RuleBook, grade_sample

HEALTHY = "healthy"  # the classifier's class of a leaf without disease
# (grade, least share of healthy leaves), best first
LEAF_GRADES: tuple[tuple[str, float], ...] = (
    ("leaf grade 1", 0.90),
    ("leaf grade 2", 0.75),
    ("leaf grade 3", 0.50),
)
MIN_IMAGES = 20  # fewer images say too little about a lot


class Source(StrEnum):
    MADE_TEA = "made-tea-rules"
    LEAF_IMAGES = "leaf-images"


class GradingError(ValueError):
    """The input cannot be graded (unknown tea, too few images, …)."""


@dataclass(frozen=True)
class Outcome:
    source: Source
    grade: str
    conformant: bool  # False: off-grade
    method: str  # which rules / which model
    failed_checks: tuple[str, ...]  # why each better grade was missed
    indicators: dict[str, float] = field(default_factory=dict)  # made tea
    image_count: int | None = None  # leaf images
    class_counts: dict[str, int] | None = None  # leaf images
    score: float | None = None  # sensory score (made tea) or share of healthy leaves


def made_tea_outcome(rules: RuleBook, tea: str, indicators: Mapping[str, float]) -> Outcome:
    """The grade of a made-tea sample of `tea` by `rules`; `GradingError` for an unknown tea."""
    try:
        graded = grade_sample(rules, tea, indicators)
    except KeyError as exc:
        raise GradingError(str(exc.args[0])) from None
    return Outcome(
        source=Source.MADE_TEA,
        grade=graded.grade,
        conformant=graded.grade != OFF_GRADE,
        method=f"made-tea rules v{rules.version}",
        failed_checks=graded.reasons,
        indicators=dict(indicators),
        score=indicators.get("sensory_score"),
    )


def class_counts(names: Iterable[str]) -> dict[str, int]:
    """How many images got each class (sorted by class name)."""
    return dict(sorted(Counter(names).items()))


def leaf_outcome(counts: Mapping[str, int], *, model: str, min_images: int = MIN_IMAGES) -> Outcome:
    """The leaf grade of a lot from the class counts of its sample's images (see the module)."""
    if any(n < 0 for n in counts.values()):
        raise GradingError("class counts cannot be negative")
    total = sum(counts.values())
    if total < min_images:
        raise GradingError(f"{total} images: a lot's leaf is graded on {min_images} or more")
    healthy = counts.get(HEALTHY, 0) / total
    misses: list[str] = []
    grade = OFF_GRADE
    for name, least in LEAF_GRADES:
        if healthy >= least:
            grade = name
            break
        misses.append(f"not {name}: healthy share {healthy:.3f} < {least:g}")
    return Outcome(
        source=Source.LEAF_IMAGES,
        grade=grade,
        conformant=grade != OFF_GRADE,
        method=f"leaf images: {model}",
        failed_checks=tuple(misses),
        image_count=total,
        class_counts=dict(sorted(counts.items())),
        score=round(healthy, 4),
    )


def trace_record(
    *,
    result_id: str,
    lot: str,
    tea_type: str,
    grade: str,
    conformant: bool,
    graded_at: datetime,
    method: str,
    score: float | None,
    samples: int | None,
) -> dict[str, Any]:
    """The mapping `record_grading_result` expects (``samples``: images graded, if any)."""
    record: dict[str, Any] = {
        "result_id": result_id,
        "lot": lot,
        "tea_type": tea_type,
        "grade": grade,
        "conformant": conformant,
        "graded_at": graded_at,
        "method": method,
    }
    if score is not None:
        record["score"] = score
    if samples is not None:
        record["samples"] = samples
    return record
