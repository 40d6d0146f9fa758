"""The ingestion service: one batch of parsed readings → stored, counted, handed to consumers.

Every path in (MQTT bridge, HTTP batch, CSV import) ends here. Within one unit of work:

1. reject readings of unknown devices, or of sensors a device does not declare;
2. drop repeats within the batch (same device, quantity and timestamp: the first one wins);
3. store the rest in time order; ones already stored are duplicates (idempotent re-delivery);
4. add the outcome counts (stored / duplicate / each reject reason) to the source's counters;
5. call ``consume(session, readings)`` of every module in `READING_CONSUMERS` that exists with
   the newly stored readings, sorted by time (ties in arrival order). Each consumer runs in a
   savepoint: one that fails is logged and rolled back alone, and the readings stay stored.
"""

import importlib
import importlib.util
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from itertools import islice
from operator import attrgetter

from sqlalchemy.orm import Session

from teaplatform.garden import repository
from teaplatform.garden.readings import Reading, Rejection, RejectReason
from teaplatform.store.db import Store

log = logging.getLogger(__name__)

READING_CONSUMERS: tuple[str, ...] = (
    "teaplatform.garden.alerting",
    "teaplatform.processing.telemetry",
)
STORED = "stored"
DUPLICATE = "duplicate"

Consumer = Callable[[Session, Sequence[Reading]], None]


@dataclass(frozen=True, slots=True)
class IngestResult:
    received: int
    stored: int
    duplicates: int
    rejected: list[tuple[int, Rejection]] = field(default_factory=list)  # (input index, why)

    def reject_counts(self) -> dict[str, int]:
        return dict(Counter(r.reason.value for _, r in self.rejected))


@cache
def consumers() -> tuple[tuple[str, Consumer], ...]:
    """The consumers that exist in this installation (looked up once)."""
    found: list[tuple[str, Consumer]] = []
    for name in READING_CONSUMERS:
        if importlib.util.find_spec(name) is not None:
            found.append((name, importlib.import_module(name).consume))
    return tuple(found)


def _known_devices(
    session: Session, items: Sequence[Reading | Rejection]
) -> tuple[list[tuple[int, Reading]], list[tuple[int, Rejection]], dict[str, int]]:
    devices = repository.device_ids(session, {i.device for i in items if isinstance(i, Reading)})
    good: list[tuple[int, Reading]] = []
    bad: list[tuple[int, Rejection]] = []
    for index, item in enumerate(items):
        if isinstance(item, Rejection):
            bad.append((index, item))
            continue
        known = devices.get(item.device)
        if known is None:
            bad.append(
                (
                    index,
                    Rejection(
                        RejectReason.UNKNOWN_DEVICE, f"no device {item.device!r}", item.device
                    ),
                )
            )
        elif known[1] and item.quantity not in known[1]:
            detail = f"{item.device} has no {item.quantity} sensor ({', '.join(known[1])})"
            bad.append((index, Rejection(RejectReason.NOT_ON_DEVICE, detail, item.device)))
        else:
            good.append((index, item))
    return good, bad, {key: id_ for key, (id_, _) in devices.items()}


def ingest(
    session: Session, items: Sequence[Reading | Rejection], *, source: str, now: datetime
) -> IngestResult:
    """Store the valid readings of `items` (from `source`, received at `now`) and count all."""
    good, rejected, ids = _known_devices(session, items)
    unique: dict[tuple[str, str, datetime], Reading] = {}
    for _, reading in good:
        unique.setdefault((reading.device, reading.quantity, reading.ts), reading)
    ordered = sorted(unique.values(), key=attrgetter("ts"))  # stable: ties keep arrival order
    new = repository.store_readings(session, ordered, ids)
    repository.touch_devices(session, (ids[r.device] for r in ordered), now)

    result = IngestResult(len(items), len(new), len(good) - len(new), rejected)
    counts = {STORED: result.stored, DUPLICATE: result.duplicates, **result.reject_counts()}
    details = {r.reason.value: r.detail for _, r in rejected}
    repository.add_counts(session, source, counts, details, now)
    if rejected:
        log.info(
            "%s: %d of %d readings rejected, e.g. %s",
            source,
            len(rejected),
            len(items),
            rejected[0][1].detail,
        )
    if new:
        _notify_consumers(session, new)
    return result


def _notify_consumers(session: Session, new: Sequence[Reading]) -> None:
    for name, consume in consumers():
        try:
            with session.begin_nested():
                consume(session, new)
        except Exception:
            log.exception("reading consumer %s failed on %d readings", name, len(new))


@dataclass(slots=True)
class Totals:
    """What several batches came to (a CSV import, a replay)."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejects: Counter[str] = field(default_factory=Counter)
    examples: list[Rejection] = field(default_factory=list)  # the first few rejections

    def add(self, result: IngestResult, keep: int = 20) -> None:
        self.received += result.received
        self.stored += result.stored
        self.duplicates += result.duplicates
        self.rejects.update(result.reject_counts())
        for _, rejection in result.rejected[: max(0, keep - len(self.examples))]:
            self.examples.append(rejection)


def ingest_in_chunks(
    store: Store,
    items: Iterable[Reading | Rejection],
    *,
    source: str,
    chunk: int = 5000,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_chunk: Callable[[IngestResult], None] | None = None,
) -> Totals:
    """Ingest a long stream, one unit of work per `chunk` items (a failure keeps earlier ones)."""
    totals = Totals()
    stream = iter(items)
    while part := list(islice(stream, chunk)):
        with store.session() as session:
            result = ingest(session, part, source=source, now=clock())
        totals.add(result)
        if on_chunk is not None:
            on_chunk(result)
    return totals
