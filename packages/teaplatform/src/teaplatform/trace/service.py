"""Use cases of the ledger: organisations and keys, master data, recording and sealing.

Every append takes the ledger row's lock (``SELECT ... FOR UPDATE``; SQLite's write lock), so
the ledger has one total order: contiguous sequence numbers, record times that never go back,
and days that close for good — a day is sealed into a signed Merkle checkpoint by the first
append (or `seal_days`) after it ends.

Errors: `TraceError` > `NotFound`, `Conflict`; bad events raise `EventError` (a ValueError).

Other modules record through `record_event` or the helpers `record_processing_batch` and
`record_grading_result` (see `teaplatform.trace.hooks`).
"""

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from teaplatform.settings import Settings
from teaplatform.trace import ids, keystore, merkle
from teaplatform.trace.epcis import CHAIN, PROOF, SIGNER, EventError, parse_time, validate_event
from teaplatform.trace.ledger import Checkpoint, Link, Sealed, seal
from teaplatform.trace.lots import event_roles
from teaplatform.trace.signing import KeyInfo, Signer
from teaplatform.trace.tables import (
    TraceCheckpoint,
    TraceEpcLot,
    TraceEvent,
    TraceKey,
    TraceLedger,
    TraceLink,
    TraceLocation,
    TraceLot,
    TraceOrg,
    TracePackage,
    TraceProduct,
)

LEDGER_ORG = "urn:teaplatform:ledger"  # the platform itself: signs the day checkpoints
_CHUNK = 500  # ids per IN (...) list, well under every database's parameter limit

__all__ = [
    "LEDGER_ORG",
    "ChainConflict",
    "Conflict",
    "EventError",
    "NotFound",
    "Recorded",
    "TraceError",
    "add_location",
    "add_product",
    "append_verified",
    "existing_events",
    "keyring",
    "record_event",
    "record_events",
    "register_org",
    "revoke_key",
    "rotate_key",
    "seal_days",
]


class TraceError(Exception):
    """Base of the errors of this module."""


class NotFound(TraceError):
    pass


class Conflict(TraceError):
    pass


def _now(now: datetime | None) -> datetime:
    """`now` (default: the clock) to the millisecond, the resolution of signed record times:
    a key made at `now` is then valid for an event recorded at `now` (the first event of a new
    organisation, with the key registered in the same call)."""
    moment = now if now is not None else datetime.now(UTC)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


# --- organisations and keys --------------------------------------------------------------


def register_org(
    session: Session,
    settings: Settings,
    org_id: str,
    name: str,
    *,
    name_zh: str = "",
    role: str = "",
    now: datetime | None = None,
) -> TraceOrg:
    """Add an organisation with a first key (valid from `now`); an existing one is returned."""
    org = session.get(TraceOrg, org_id)
    if org is not None:
        return org
    if ":" not in org_id:
        raise EventError([f"organisation id must be a URI (e.g. a PGLN URN), not {org_id!r}"])
    moment = _now(now)
    org = TraceOrg(id=org_id, name=name, name_zh=name_zh, role=role, created_at=moment)
    session.add(org)
    session.flush()
    _new_key(session, settings, org_id, moment)
    return org


def _new_key(session: Session, settings: Settings, org_id: str, moment: datetime) -> TraceKey:
    key_id, public = keystore.create_key(settings)
    key = TraceKey(key_id=key_id, org_id=org_id, public_key=public, not_before=moment)
    session.add(key)
    session.flush()
    return key


def _valid_keys(session: Session, org_id: str, moment: datetime) -> list[TraceKey]:
    keys = session.scalars(select(TraceKey).where(TraceKey.org_id == org_id)).all()
    info = {k.key_id: _info(k) for k in keys}
    valid = [k for k in keys if info[k.key_id].problem_at(org_id, moment) is None]
    return sorted(valid, key=lambda k: k.not_before, reverse=True)


def rotate_key(
    session: Session, settings: Settings, org_id: str, *, now: datetime | None = None
) -> TraceKey:
    """Start a new key for `org_id` at `now`; keys valid until then stop at `now`."""
    if session.get(TraceOrg, org_id) is None:
        raise NotFound(f"no organisation {org_id!r}")
    moment = _now(now)
    for key in _valid_keys(session, org_id, moment):
        key.not_after = moment
    return _new_key(session, settings, org_id, moment)


def revoke_key(
    session: Session, settings: Settings, key_id: str, *, at: datetime, now: datetime | None = None
) -> TraceKey | None:
    """Revoke `key_id` from `at` on (signatures dated then or later fail). When its
    organisation is left without a valid key, a new one starts now and is returned."""
    key = session.get(TraceKey, key_id)
    if key is None:
        raise NotFound(f"no key {key_id!r}")
    if key.revoked_at is None or at < key.revoked_at:
        key.revoked_at = at
    session.flush()
    moment = _now(now)
    if not _valid_keys(session, key.org_id, moment):
        return _new_key(session, settings, key.org_id, moment)
    return None


def signer_for(session: Session, settings: Settings, org_id: str, moment: datetime) -> Signer:
    """The organisation's newest key valid at `moment`, with its private half."""
    valid = _valid_keys(session, org_id, moment)
    if not valid:
        if session.get(TraceOrg, org_id) is None:
            raise NotFound(f"no organisation {org_id!r}: register it first")
        raise Conflict(f"{org_id} has no valid key at {moment.isoformat()}: rotate its key")
    key = valid[0]
    return Signer(org_id, key.key_id, keystore.load_key(settings, key.key_id))


def _info(key: TraceKey) -> KeyInfo:
    return KeyInfo(
        key.key_id, key.org_id, key.public_key, key.not_before, key.not_after, key.revoked_at
    )


def keyring(session: Session) -> dict[str, KeyInfo]:
    """Every known public key with its validity period."""
    return {k.key_id: _info(k) for k in session.scalars(select(TraceKey))}


def _ledger_signer(session: Session, settings: Settings, moment: datetime) -> Signer:
    register_org(
        session, settings, LEDGER_ORG, "This ledger", name_zh="本账本", role="ledger", now=moment
    )
    return signer_for(session, settings, LEDGER_ORG, moment)


# --- master data ---------------------------------------------------------------------------


def add_location(
    session: Session, sgln: str, name: str, *, name_zh: str = "", org_id: str | None = None
) -> TraceLocation:
    """Add or rename a place (SGLN)."""
    if not ids.is_sgln(sgln):
        raise EventError([f"not an SGLN URN: {sgln!r}"])
    place = session.get(TraceLocation, sgln) or TraceLocation(id=sgln)
    place.name, place.name_zh, place.org_id = name, name_zh, org_id
    session.add(place)
    return place


def add_product(
    session: Session, product: ids.Product, name: str, *, name_zh: str = ""
) -> TraceProduct:
    """Add or rename a trade item (one GTIN)."""
    key = f"{product.company_prefix}.{product.item_ref}"
    item = session.get(TraceProduct, key) or TraceProduct(id=key, gtin=product.gtin)
    item.name, item.name_zh = name, name_zh
    session.add(item)
    return item


# --- recording -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recorded:
    seq: int
    event_id: str
    digest: str  # hex
    lots: tuple[str, ...]
    created: bool  # False: the same event was already recorded (idempotent retry)


def record_event(
    session: Session,
    settings: Settings,
    event: Mapping[str, Any],
    *,
    org: str,
    lots: Sequence[str] = (),
    now: datetime | None = None,
) -> Recorded:
    """Validate, sign (as `org`) and append one EPCIS event; see `record_events`."""
    return record_events(session, settings, [event], org=org, lots=lots, now=now)[0]


def record_events(
    session: Session,
    settings: Settings,
    events: Sequence[Mapping[str, Any]],
    *,
    org: str,
    lots: Sequence[str] = (),
    now: datetime | None = None,
) -> list[Recorded]:
    """Validate, sign and append `events` in order, each chained into every lot it concerns
    (derived from the event, plus `lots`). An event whose eventID is already recorded with the
    same content is not appended again; with other content it is a `Conflict`."""
    for event in events:
        validate_event(event)
        reserved = {CHAIN, SIGNER, PROOF} & event.keys()
        if reserved:
            raise EventError([f"{', '.join(sorted(reserved))}: set by the ledger, not the caller"])
    for lot in lots:
        if not ids.is_lgtin(lot):
            raise EventError([f"lots: not an LGTIN URN: {lot!r}"])
    ledger, moment, day = _open_ledger(session, settings, now)
    signer = signer_for(session, settings, org, moment)
    prepared = [_with_id(event) for event in events]
    existing = existing_events(session, [str(e["eventID"]) for e in prepared])
    epcs = _epc_lots(session, _instance_epcs(prepared))
    heads = _heads(session)
    out: list[Recorded] = []
    batch: list[tuple[Sealed, Mapping[str, Any], list[tuple[str, str]]]] = []
    for event in prepared:
        event_id = str(event["eventID"])
        if event_id in existing:
            out.append(_same_or_conflict(event, *existing[event_id]))
            continue
        roles = event_roles(event, lambda epc: set(epcs.get(epc, ())))
        if roles.unknown:
            raise EventError([f"unknown EPC (no lot recorded for it): {roles.unknown[0]}"])
        concerned = sorted(roles.lots | set(lots))
        if not concerned:
            raise EventError(["the event concerns no lot: name one (LGTIN) or a known EPC"])
        links = [Link(lot, *heads.next(lot)) for lot in concerned]
        sealed = seal(event, links, signer, moment)
        heads.advance(concerned, sealed.digest)
        for epc, lot in roles.registrations:
            epcs.setdefault(epc, set()).add(lot)
        batch.append((sealed, event, roles.registrations))
        existing[event_id] = (0, sealed.body)
        out.append(Recorded(0, event_id, sealed.digest.hex(), tuple(concerned), True))
    seqs = _append(session, ledger, day, batch, heads)
    numbered = iter(seqs)
    return [
        Recorded(next(numbered), r.event_id, r.digest, r.lots, True) if r.created else r
        for r in out
    ]


class ChainConflict(Conflict):
    """An event signed elsewhere does not continue the local chain of one of its lots."""

    def __init__(self, event_id: str, lot: str, detail: str) -> None:
        super().__init__(f"{event_id}: lot {lot}: {detail}")
        self.event_id, self.lot, self.detail = event_id, lot, detail


def append_verified(
    session: Session,
    settings: Settings,
    items: Sequence[tuple[Sealed, Mapping[str, Any]]],
    *,
    now: datetime | None = None,
) -> list[int]:
    """Append events sealed and signed elsewhere (verified by the caller), keeping their
    bytes; each must continue the local chain of every lot it names (`ChainConflict`)."""
    ledger, _, day = _open_ledger(session, settings, now)
    heads = _heads(session)
    epcs = _epc_lots(session, _instance_epcs(event for _, event in items))
    batch: list[tuple[Sealed, Mapping[str, Any], list[tuple[str, str]]]] = []
    for sealed, event in items:
        for link in sealed.links:
            expected_seq, expected_prev = heads.next(link.lot)
            if link.seq != expected_seq:
                raise ChainConflict(
                    sealed.event_id, link.lot, f"is seq {link.seq}, the chain needs {expected_seq}"
                )
            if link.prev != expected_prev:
                raise ChainConflict(sealed.event_id, link.lot, "prev is not the chain's head")
        heads.advance([link.lot for link in sealed.links], sealed.digest)
        roles = event_roles(event, lambda epc: set(epcs.get(epc, ())))
        for epc, lot in roles.registrations:
            epcs.setdefault(epc, set()).add(lot)
        batch.append((sealed, event, roles.registrations))
    return _append(session, ledger, day, batch, heads)


def _with_id(event: Mapping[str, Any]) -> dict[str, Any]:
    copy = dict(event)
    copy.pop("recordTime", None)  # set by the ledger (EPCIS: the capturing system's time)
    copy.setdefault("eventID", f"urn:uuid:{uuid.uuid4()}")
    return copy


def _content(event: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in (CHAIN, SIGNER, PROOF, "recordTime")}


def _same_or_conflict(event: Mapping[str, Any], seq: int, body: bytes) -> Recorded:
    stored = json.loads(body)
    if _content(stored) != _content(event):
        raise Conflict(f"event {event['eventID']} is already recorded with other content")
    links = tuple(item["lot"] for item in stored[CHAIN])
    return Recorded(seq, str(event["eventID"]), hashlib.sha256(body).hexdigest(), links, False)


def existing_events(session: Session, event_ids: list[str]) -> dict[str, tuple[int, bytes]]:
    found: dict[str, tuple[int, bytes]] = {}
    for i in range(0, len(event_ids), _CHUNK):
        rows = session.execute(
            select(TraceEvent.event_id, TraceEvent.seq, TraceEvent.body).where(
                TraceEvent.event_id.in_(event_ids[i : i + _CHUNK])
            )
        )
        found.update({eid: (seq, body) for eid, seq, body in rows})
    return found


def _instance_epcs(events: Iterable[Mapping[str, Any]]) -> list[str]:
    fields = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
    found = {e for event in events for name in fields for e in event.get(name) or ()}
    found |= {str(event["parentID"]) for event in events if event.get("parentID")}
    return sorted(found)


def _epc_lots(session: Session, epcs: list[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for i in range(0, len(epcs), _CHUNK):
        rows = session.execute(
            select(TraceEpcLot.epc, TraceEpcLot.lot).where(
                TraceEpcLot.epc.in_(epcs[i : i + _CHUNK])
            )
        )
        for epc, lot in rows:
            found.setdefault(epc, set()).add(lot)
    return found


class _Heads:
    """Chain heads of the lots touched by one append, loaded on first use."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self.known: dict[str, tuple[int, bytes]] = {}
        self.new: set[str] = set()
        self.changed: set[str] = set()

    def next(self, lot: str) -> tuple[int, bytes | None]:
        if lot not in self.known and lot not in self.new:
            row = self._session.get(TraceLot, lot)
            if row is None:
                self.new.add(lot)
            else:
                self.known[lot] = (row.head_seq, row.head_digest)
        head = self.known.get(lot)
        return (1, None) if head is None else (head[0] + 1, head[1])

    def advance(self, lots: Iterable[str], digest: bytes) -> None:
        for lot in lots:
            seq = self.known[lot][0] + 1 if lot in self.known else 1
            self.known[lot] = (seq, digest)
            self.changed.add(lot)


def _heads(session: Session) -> _Heads:
    return _Heads(session)


def _open_ledger(
    session: Session, settings: Settings, now: datetime | None
) -> tuple[TraceLedger, datetime, date]:
    """Lock the ledger; seal the open day if it has ended. Returns (ledger, now, ledger day)."""
    ledger = session.execute(
        select(TraceLedger).where(TraceLedger.id == 1).with_for_update()
    ).scalar_one()
    moment = _now(now)
    day = moment.astimezone(UTC).date()
    if ledger.open_day is not None and ledger.open_day > day:
        day = ledger.open_day  # the clock went back: stay in the open day
    if ledger.open_day is not None and ledger.open_day < day:
        _seal_before(session, settings, day, moment)
    return ledger, moment, day


def _append(
    session: Session,
    ledger: TraceLedger,
    day: date,
    batch: list[tuple[Sealed, Mapping[str, Any], list[tuple[str, str]]]],
    heads: _Heads,
) -> list[int]:
    """Insert sealed events, their links, learnt EPC memberships and the new chain heads."""
    if not batch:
        return []
    first = ledger.last_seq + 1
    seqs = list(range(first, first + len(batch)))
    event_rows: list[dict[str, Any]] = []
    link_rows: list[dict[str, Any]] = []
    epc_rows: list[dict[str, Any]] = []
    package_rows: list[dict[str, Any]] = []
    for seq, (sealed, event, registrations) in zip(seqs, batch, strict=True):
        event_rows.append(
            {
                "seq": seq,
                "event_id": sealed.event_id,
                "event_type": str(event["type"]),
                "biz_step": event.get("bizStep"),
                "event_time": parse_time(str(event["eventTime"])),
                "record_time": sealed.record_time,
                "ledger_day": day,
                "org_id": sealed.org,
                "key_id": sealed.key_id,
                "body": sealed.body,
                "digest": sealed.digest,
                "signature": sealed.signature,
            }
        )
        link_rows.extend(
            {"lot": link.lot, "seq": link.seq, "event_seq": seq, "prev": link.prev}
            for link in sealed.links
        )
        for epc, lot in registrations:
            epc_rows.append({"epc": epc, "lot": lot})
            if ids.is_sgtin(epc):
                serial = ids.parse_sgtin(epc).serial
                package_rows.append({"code": serial, "sgtin": epc, "lot": lot})
    session.execute(insert(TraceEvent), event_rows)
    session.execute(insert(TraceLink), link_rows)
    _insert_new(session, TraceEpcLot, epc_rows, ("epc", "lot"))
    _insert_new(session, TracePackage, package_rows, ("sgtin",))
    _save_heads(session, heads)
    ledger.last_seq = seqs[-1]
    ledger.open_day = day
    session.flush()
    return seqs


def _insert_new(
    session: Session, table: Any, rows: list[dict[str, Any]], key: tuple[str, ...]
) -> None:
    """Insert the rows not yet present (a re-commissioned EPC keeps its first record)."""
    unique = {tuple(row[k] for k in key): row for row in rows}
    if not unique:
        return
    columns = [getattr(table, k) for k in key]
    present: set[tuple[Any, ...]] = set()
    first_values = sorted({k[0] for k in unique})
    for i in range(0, len(first_values), _CHUNK):
        present |= {
            tuple(r)
            for r in session.execute(
                select(*columns).where(columns[0].in_(first_values[i : i + _CHUNK]))
            )
        }
    fresh = [row for k, row in unique.items() if k not in present]
    if table is TracePackage:
        taken = _taken_codes(session, [row["code"] for row in fresh])
        clash = [row["code"] for row in fresh if row["code"] in taken]
        if clash:
            raise Conflict(f"package code {clash[0]} already belongs to another package")
    if fresh:
        session.execute(insert(table), fresh)


def _taken_codes(session: Session, codes: list[str]) -> set[str]:
    taken: set[str] = set()
    for i in range(0, len(codes), _CHUNK):
        taken |= set(
            session.scalars(
                select(TracePackage.code).where(TracePackage.code.in_(codes[i : i + _CHUNK]))
            )
        )
    return taken


def _save_heads(session: Session, heads: _Heads) -> None:
    created = [
        {"lot": lot, "head_seq": heads.known[lot][0], "head_digest": heads.known[lot][1]}
        for lot in sorted(heads.changed & heads.new)
    ]
    updated = [
        {"b_lot": lot, "head_seq": heads.known[lot][0], "head_digest": heads.known[lot][1]}
        for lot in sorted(heads.changed - heads.new)
    ]
    if created:
        session.execute(insert(TraceLot), created)
    if updated:
        lots = TraceLot.__table__
        assert isinstance(lots, Table)
        session.connection().execute(update(lots).where(lots.c.lot == bindparam("b_lot")), updated)


# --- sealing days ------------------------------------------------------------------------


def seal_days(
    session: Session, settings: Settings, *, now: datetime | None = None
) -> list[Checkpoint]:
    """Seal every ended ledger day that is not sealed yet (idempotent)."""
    ledger = session.execute(
        select(TraceLedger).where(TraceLedger.id == 1).with_for_update()
    ).scalar_one()
    moment = _now(now)
    today = max(moment.astimezone(UTC).date(), ledger.open_day or date.min)
    return _seal_before(session, settings, today, moment)


def _seal_before(
    session: Session, settings: Settings, today: date, moment: datetime
) -> list[Checkpoint]:
    last = session.scalars(
        select(TraceCheckpoint).order_by(TraceCheckpoint.day.desc()).limit(1)
    ).first()
    query = select(TraceEvent.ledger_day).where(TraceEvent.ledger_day < today).distinct()
    if last is not None:
        query = query.where(TraceEvent.ledger_day > last.day)
    days = sorted(session.scalars(query))
    prev = checkpoint_of(last) if last is not None else None
    sealed: list[Checkpoint] = []
    for day in days:
        signer = _ledger_signer(session, settings, moment)
        rows = session.execute(
            select(TraceEvent.seq, TraceEvent.body)
            .where(TraceEvent.ledger_day == day)
            .order_by(TraceEvent.seq)
        ).all()
        root = merkle.root([hashlib.sha256(body).digest() for _, body in rows])
        checkpoint = Checkpoint(
            day=day,
            first_seq=rows[0][0],
            last_seq=rows[-1][0],
            root=root,
            prev=prev.digest if prev else None,
            sealed_at=moment,
            org="",
            key_id="",
        ).signed(signer)
        session.add(
            TraceCheckpoint(
                day=day,
                first_seq=checkpoint.first_seq,
                last_seq=checkpoint.last_seq,
                root=checkpoint.root,
                prev=checkpoint.prev,
                sealed_at=checkpoint.sealed_at,
                org_id=checkpoint.org,
                key_id=checkpoint.key_id,
                signature=checkpoint.signature,
            )
        )
        sealed.append(checkpoint)
        prev = checkpoint
    session.flush()
    return sealed


def checkpoint_of(row: TraceCheckpoint) -> Checkpoint:
    return Checkpoint(
        day=row.day,
        first_seq=row.first_seq,
        last_seq=row.last_seq,
        root=row.root,
        prev=row.prev,
        sealed_at=row.sealed_at,
        org=row.org_id,
        key_id=row.key_id,
        signature=row.signature,
    )


def ledger_size(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(TraceEvent)) or 0)
