"""Batch telemetry: a consumer of the garden ingestion (``READING_CONSUMERS``).

Processing devices report through the same MQTT/HTTP/CSV ingestion as garden sensors; once
readings are stored, `consume` hands each running batch the readings of its device, in time
order, to compare with the current stage's ranges (see `service.LiveBatch.observe`).
"""

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from teaplatform.garden.readings import Reading
from teaplatform.processing.batch import BatchState
from teaplatform.processing.service import LiveBatch
from teaplatform.processing.tables import BatchRow


def consume(session: Session, readings: Sequence[Reading]) -> None:
    """Feed newly stored readings (sorted by time) to the running batches of their devices."""
    devices = {r.device for r in readings}
    batches = session.scalars(
        select(BatchRow).where(
            BatchRow.state == BatchState.RUNNING.value, BatchRow.device_key.in_(devices)
        )
    ).all()
    if not batches:
        return
    by_device: dict[str, list[Reading]] = defaultdict(list)
    for reading in readings:
        by_device[reading.device].append(reading)
    for batch in LiveBatch.load_many(session, list(batches)):
        assert batch.row.device_key is not None
        for reading in by_device[batch.row.device_key]:
            batch.observe(reading.ts, reading.quantity, reading.value)
        batch.save()
