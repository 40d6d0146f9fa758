"""Demo grading results (SYNTHETIC) of the processing demo's finished batches.

``DEMO-green`` gets a made-tea sample graded by the rules (made-up indicators) and
``DEMO-dark`` a leaf grade from made-up class counts of 50 leaf images, so those lots' journeys
(``/trace/lots/<LGTIN>``, ``teaplatform trace verify <LGTIN>``) show processing, then grading.
Completed demo batches are handed to traceability first (what the processing clock does a
minute after the server starts), so their processing events are in the ledger before the
grading ones. Idempotent: the results have fixed ids (``demo-<batch code>``).
"""

import importlib.util
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from teaplatform.grading.service import (
    LeafSample,
    LotSpec,
    MadeTeaResult,
    record_leaf_images,
    record_made_tea,
)
from teaplatform.settings import Settings
from teaplatform.store.db import Store

NOTE = "SYNTHETIC demo result: made-up values"
OPERATOR = "SYNTHETIC demo grader"
GREEN_SAMPLE = {  # grade 1 by the shipped rules (sensory score, broken tea: not premium)
    "sensory_score": 90.5,
    "moisture": 6.4,
    "total_ash": 6.1,
    "powder": 0.7,
    "broken": 3.8,
    "water_extract": 36.5,
}
DARK_LEAF = LeafSample(  # 46 of 50 healthy: 0.92, leaf grade 1
    counts={"algal_leaf": 1, "brown_blight": 3, "healthy": 46},
    model="SYNTHETIC counts (no images classified)",
    seconds=0.0,
)
AFTER = timedelta(minutes=20)  # graded this long after the batch ended


def seed_demo(settings: Settings, store: Store) -> str:
    """Grade the completed demo batches of green and dark tea (idempotent)."""
    if importlib.util.find_spec("teaplatform.processing.demo") is None:
        return "no processing demo batches to grade"
    from teaplatform.processing.demo import PREFIX
    from teaplatform.processing.service import trace_completed
    from teaplatform.processing.tables import BatchRow

    now = datetime.now(UTC)
    with store.session() as session:
        trace_completed(session, settings, now)
        query = select(BatchRow).where(
            BatchRow.code.startswith(PREFIX), BatchRow.state == "completed"
        )
        ended = {b.tea_type: (b.code, b.ended_at) for b in session.scalars(query)}
    parts: list[str] = []
    traced = created = 0
    with store.session() as session:
        for tea in ("green", "dark"):
            code, ended_at = ended.get(tea, (None, None))
            if code is None or ended_at is None:
                continue
            spec = LotSpec(
                lot=code,
                tea_type=tea,
                graded_at=ended_at + AFTER,
                operator=OPERATOR,
                note=NOTE,
                result_id=f"demo-{code}",
            )
            if tea == "green":
                sample = MadeTeaResult(**spec.model_dump(), indicators=GREEN_SAMPLE)
                stored = record_made_tea(session, settings, sample, now)
            else:
                stored = record_leaf_images(session, settings, spec, DARK_LEAF, now)
            traced += stored.row.trace_event_id is not None
            created += stored.created
            parts.append(f"{code} {stored.row.grade} ({stored.row.source})")
    if not parts:
        return "no completed demo batches to grade"
    already = "" if created else " (present already)"
    return f"SYNTHETIC results{already}: {', '.join(parts)}; {traced} traced"
