"""Job events: an append-only history (past tense, one record per change)."""

from dataclasses import dataclass
from enum import StrEnum


class EventKind(StrEnum):
    SUBMITTED = "submitted"
    REQUEUED = "requeued"
    STARTED = "started"
    PREEMPTED = "preempted"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class JobEvent:
    at: float
    job_id: str
    kind: EventKind
    detail: str = ""
