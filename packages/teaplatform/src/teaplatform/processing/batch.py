"""A batch's life (pure): states, and the stage changes that elapsed time makes due.

    planned ──start──▶ running ──advance past the last stage──▶ completed
                          └──────────────abort──────────────▶ aborted

A running batch is in one stage at a time. Stages advance by hand, or — for a batch with
``auto_advance`` — when a stage has run its typical duration; the change is dated at that
boundary, not when someone noticed, so the record keeps the true timeline.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from teaplatform.processing.recipe import Recipe


class BatchState(StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    COMPLETED = "completed"
    ABORTED = "aborted"


class EndedBy(StrEnum):
    MANUAL = "manual"
    ELAPSED = "elapsed"  # auto-advance after the typical duration
    ABORTED = "aborted"


class TransitionError(ValueError):
    """The batch cannot do that in its state."""


@dataclass(frozen=True, slots=True)
class Transition:
    ended: int  # index of the stage that ends
    at: datetime
    by: EndedBy
    next: int | None  # the stage that starts at `at`; None: the batch completes


def next_stage(recipe: Recipe, index: int) -> int | None:
    return index + 1 if index + 1 < len(recipe.stages) else None


def due_transitions(
    recipe: Recipe, index: int, started_at: datetime, until: datetime
) -> list[Transition]:
    """Stage changes an auto-advancing batch owes by `until` (each at its typical duration)."""
    out: list[Transition] = []
    current: int | None = index
    start = started_at
    while current is not None:
        end = start + timedelta(minutes=recipe.stage(current).duration.typical_min)
        if end > until:
            break
        following = next_stage(recipe, current)
        out.append(Transition(current, end, EndedBy.ELAPSED, following))
        current, start = following, end
    return out


def require(state: BatchState, *allowed: BatchState, action: str) -> None:
    if state not in allowed:
        wanted = " or ".join(s.value for s in allowed)
        raise TransitionError(f"cannot {action} a {state.value} batch (needs {wanted})")
