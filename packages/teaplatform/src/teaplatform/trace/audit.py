"""The whole-ledger audit from the store: `verify.audit_hashed` fed by streaming queries.

Fast by default: one pass re-hashes every event's bytes, checks every lot's chain and every
day's Merkle root and checkpoint signature; Ed25519 per event only where no signed checkpoint
covers it. ``signatures=True`` verifies every event's signature as well, spread over `workers`
processes (Ed25519 verification is ~50-140 µs per event in one core).
"""

import itertools
import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from teaplatform.store.db import make_engine
from teaplatform.trace.service import checkpoint_of, keyring
from teaplatform.trace.signing import KeyInfo
from teaplatform.trace.tables import TraceCheckpoint, TraceEvent, TraceLot
from teaplatform.trace.verify import (
    AuditReport,
    Finding,
    StoredEvent,
    StoredLink,
    audit_hashed,
    hash_events,
    verify_event,
)

_BATCH = 20_000
_cursors = itertools.count()


def _raw_rows(session: Session, sql: str) -> Iterator[tuple[Any, ...]]:
    """Rows of `sql` straight from the driver, `_BATCH` at a time: a million rows through
    SQLAlchemy's result machinery cost more than the hashing they feed. PostgreSQL streams
    them from a server-side cursor instead of loading the whole ledger into memory."""
    connection = session.connection()
    driver = connection.connection.dbapi_connection
    assert driver is not None
    postgres = connection.dialect.name == "postgresql"
    cursor = driver.cursor(name=f"trace_audit_{next(_cursors)}") if postgres else driver.cursor()
    try:
        cursor.execute(sql)
        while rows := cursor.fetchmany(_BATCH):
            yield from rows
    finally:
        cursor.close()


def _load_events(session: Session, first: int, last: int) -> list[StoredEvent]:
    rows = session.execute(
        select(
            TraceEvent.seq,
            TraceEvent.event_id,
            TraceEvent.org_id,
            TraceEvent.key_id,
            TraceEvent.body,
            TraceEvent.digest,
            TraceEvent.signature,
            TraceEvent.ledger_day,
        )
        .where(TraceEvent.seq.between(first, last))
        .order_by(TraceEvent.seq)
    )
    return [StoredEvent(*row) for row in rows]


def _verify_chunk(events: Sequence[StoredEvent], keys: dict[str, KeyInfo]) -> list[Finding]:
    return [f for event in events for f in verify_event(event, keys)[0]]


_EVENTS_SQL = "SELECT seq, body, digest FROM trace_events"
Hashed = tuple[list[bytes], list[Finding]]  # what `hash_events` returns
_FORK = multiprocessing.get_context("fork")  # workers start in milliseconds, sharing nothing


def _hash_range(url: str, first: int, last: int) -> Hashed:
    """Re-hash ledger seqs first..last in a worker process, on its own connection."""
    engine = make_engine(url)
    try:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(
                f"{_EVENTS_SQL} WHERE seq BETWEEN {int(first)} AND {int(last)} ORDER BY seq"
            )
            rows = iter(lambda: cursor.fetchmany(_BATCH), [])
            return hash_events((row for batch in rows for row in batch), first, last)
        finally:
            connection.close()
    finally:
        engine.dispose()


def _hashing(session: Session, workers: int, parallel_from: int) -> Callable[[], Hashed]:
    """Start `hash_events` over the whole ledger; call the result for it. A big file database
    is hashed on `workers` processes, each range on its own connection, meanwhile this process
    reads the links."""
    url = session.connection().engine.url
    size = session.scalar(select(func.max(TraceEvent.seq))) or 0
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    if workers <= 1 or size < parallel_from or in_memory:
        return lambda: hash_events(_raw_rows(session, f"{_EVENTS_SQL} ORDER BY seq"))
    step = -(-size // workers)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_FORK)
    futures = [
        pool.submit(
            _hash_range, url.render_as_string(hide_password=False), a, min(a + step - 1, size)
        )
        for a in range(1, size + 1, step)
    ]

    def collect() -> Hashed:
        with pool:
            digests: list[bytes] = []
            findings: list[Finding] = []
            for future in futures:
                part, found = future.result()
                digests.extend(part)
                findings.extend(found)
            return digests, findings

    return collect


def audit_ledger(
    session: Session, *, signatures: bool = False, workers: int = 2, parallel_from: int = 100_000
) -> AuditReport:
    """Audit every event, chain and day of the ledger in `session`'s database; a ledger of
    `parallel_from` events or more is re-hashed on `workers` processes."""
    hashing = _hashing(session, workers, parallel_from)
    keys = keyring(session)
    checkpoints = [
        checkpoint_of(row)
        for row in session.scalars(select(TraceCheckpoint).order_by(TraceCheckpoint.day))
    ]
    heads = {
        lot: (seq, digest)
        for lot, seq, digest in session.execute(
            select(TraceLot.lot, TraceLot.head_seq, TraceLot.head_digest)
        )
    }
    # read the links while the workers hash (a list: the chains need the hashes first)
    links = list(
        map(
            StoredLink._make,
            _raw_rows(
                session, "SELECT lot, seq, event_seq, prev FROM trace_links ORDER BY event_seq, lot"
            ),
        )
    )
    hashed = hashing()
    with (
        ProcessPoolExecutor(max_workers=workers)
        if signatures and workers > 1
        else nullcontext() as pool
    ):

        def verify_all(batch: Sequence[StoredEvent]) -> list[Finding]:
            if pool is None:
                return _verify_chunk(batch, keys)
            size = -(-len(batch) // workers)
            chunks = [batch[i : i + size] for i in range(0, len(batch), size)]
            return [
                f for found in pool.map(_verify_chunk, chunks, [keys] * len(chunks)) for f in found
            ]

        return audit_hashed(
            hashed,
            links,
            heads,
            checkpoints,
            keys,
            load_events=lambda first, last: _load_events(session, first, last),
            signatures=verify_all if signatures else None,
        )
