"""EPCIS 2.0 JSON export and import of signed events.

Export writes an EPCISDocument: the standard @context (a string, never fetched) plus our
``tea`` prefix; each event carries its signed fields and an unsigned ``tea:proof`` (hash,
signature); the header carries the organisations' public keys with their validity periods and
the master data (places, products). A lot's export holds complete chains: every lot touched
by an exported event is exported from its first event on, so the document verifies alone.

Import validates the document and every event (EPCIS rules), re-canonicalises each event,
checks its hash and Ed25519 signature with a key valid at its recordTime, and checks that it
continues the local chain of each of its lots. One failure rejects the whole document, and the
report says which event failed and why. Keys come from the local store; keys only the document
knows are used when the caller trusts them (`trust_keys`), like ssh's first connection.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from teaplatform.settings import Settings
from teaplatform.trace import ids
from teaplatform.trace.epcis import (
    EventError,
    document,
    document_events,
    format_time,
    parse_time,
    validate_event,
)
from teaplatform.trace.journey import Loader, journey_lots
from teaplatform.trace.ledger import EnvelopeError, Sealed, exported, open_body, unwrap
from teaplatform.trace.service import (
    ChainConflict,
    add_location,
    append_verified,
    existing_events,
    keyring,
)
from teaplatform.trace.signing import KeyInfo, key_id_of
from teaplatform.trace.tables import (
    TraceEvent,
    TraceKey,
    TraceLink,
    TraceLocation,
    TraceOrg,
    TraceProduct,
)
from teaplatform.trace.verify import Finding, Problem, StoredEvent, verify_event

_LOCATION_VT = "urn:epcglobal:epcis:vtype:BusinessLocation"
_CLASS_VT = "urn:epcglobal:epcis:vtype:EPCClass"
_NAME = "urn:epcglobal:cbv:mda#name"
_NAME_ZH = "tea:nameZh"


def _export_lots(session: Session, lots: Sequence[str]) -> list[int]:
    """Event seqs of complete chains: `lots`, and every lot their events touch, to a fixpoint."""
    todo, done, seqs = list(lots), set[str](), set[int]()
    while todo:
        lot = todo.pop()
        if lot in done:
            continue
        done.add(lot)
        new = set(session.scalars(select(TraceLink.event_seq).where(TraceLink.lot == lot))) - seqs
        seqs |= new
        if new:
            todo.extend(
                set(session.scalars(select(TraceLink.lot).where(TraceLink.event_seq.in_(new))))
                - done
            )
    return sorted(seqs)


def export_document(
    session: Session,
    lots: Sequence[str] | None = None,
    *,
    now: datetime | None = None,
    journey: bool = True,
) -> dict[str, Any]:
    """An EPCISDocument of `lots` (with the lots they were made from when `journey`), or of
    the whole ledger when `lots` is None."""
    if lots is None:
        rows = session.scalars(select(TraceEvent).order_by(TraceEvent.seq)).all()
    else:
        if journey:
            loader = Loader(session)
            lots = sorted({source for lot in lots for source in journey_lots(loader, lot)[0]})
        seqs = _export_lots(session, lots)
        rows = [
            row
            for i in range(0, len(seqs), 500)
            for row in session.scalars(
                select(TraceEvent)
                .where(TraceEvent.seq.in_(seqs[i : i + 500]))
                .order_by(TraceEvent.seq)
            )
        ]
    events = [exported(row.body, row.digest, row.signature) for row in rows]
    orgs = sorted({row.org_id for row in rows})
    return document(events, now or datetime.now(UTC), _header(session, orgs, events))


def _header(session: Session, orgs: list[str], events: list[dict[str, Any]]) -> dict[str, Any]:
    org_rows = session.scalars(select(TraceOrg).where(TraceOrg.id.in_(orgs))).all()
    key_rows = session.scalars(select(TraceKey).where(TraceKey.org_id.in_(orgs))).all()
    places = {
        (e.get(name) or {}).get("id") for e in events for name in ("readPoint", "bizLocation")
    } - {None}
    place_rows = session.scalars(select(TraceLocation).where(TraceLocation.id.in_(places))).all()
    products = session.scalars(select(TraceProduct)).all()
    vocabularies = []
    if place_rows:
        vocabularies.append(
            {
                "type": _LOCATION_VT,
                "vocabularyElementList": [
                    {
                        "id": p.id,
                        "attributes": [
                            {"id": _NAME, "attribute": p.name},
                            {"id": _NAME_ZH, "attribute": p.name_zh},
                        ],
                    }
                    for p in place_rows
                ],
            }
        )
    if products:
        vocabularies.append(
            {
                "type": _CLASS_VT,
                "vocabularyElementList": [
                    {
                        "id": f"urn:epc:idpat:sgtin:{p.id}.*",
                        "attributes": [
                            {"id": _NAME, "attribute": p.name},
                            {"id": _NAME_ZH, "attribute": p.name_zh},
                        ],
                    }
                    for p in products
                ],
            }
        )
    return {
        "epcisMasterData": {"vocabularyList": vocabularies},
        "tea:orgs": [
            {"id": o.id, "name": o.name, "nameZh": o.name_zh, "role": o.role} for o in org_rows
        ],
        "tea:keys": [
            {
                "keyId": k.key_id,
                "org": k.org_id,
                "publicKey": k.public_key.hex(),
                "notBefore": format_time(k.not_before),
                "notAfter": format_time(k.not_after) if k.not_after else None,
                "revokedAt": format_time(k.revoked_at) if k.revoked_at else None,
            }
            for k in key_rows
        ],
    }


@dataclass
class ImportReport:
    events: int = 0
    imported: int = 0
    already_present: int = 0
    keys_added: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "events": self.events,
            "imported": self.imported,
            "already_present": self.already_present,
            "keys_added": self.keys_added,
            "findings": [f.to_json() for f in self.findings],
        }


def _document_keys(header: Mapping[str, Any]) -> tuple[dict[str, KeyInfo], list[str]]:
    keys: dict[str, KeyInfo] = {}
    problems: list[str] = []
    for i, item in enumerate(header.get("tea:keys") or ()):
        try:
            public = bytes.fromhex(item["publicKey"])
            if key_id_of(public) != item["keyId"] or len(public) != 32:
                raise ValueError("keyId is not the hash of publicKey")
            keys[item["keyId"]] = KeyInfo(
                item["keyId"],
                str(item["org"]),
                public,
                parse_time(item["notBefore"]),
                parse_time(item["notAfter"]) if item.get("notAfter") else None,
                parse_time(item["revokedAt"]) if item.get("revokedAt") else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            problems.append(f"epcisHeader.tea:keys[{i}]: {exc}")
    return keys, problems


def import_document(
    session: Session,
    settings: Settings,
    doc: Any,
    *,
    trust_keys: bool = False,
    now: datetime | None = None,
) -> ImportReport:
    """Verify and append a document's events (all or none); raises `EventError` when the
    document is not EPCIS 2.0 JSON, returns findings when an event fails verification."""
    events = document_events(doc)
    header = doc.get("epcisHeader") or {}
    doc_keys, problems = _document_keys(header)
    if problems:
        raise EventError(problems)
    report = ImportReport(events=len(events))
    local = keyring(session)
    trusted = {**(doc_keys if trust_keys else {}), **local}
    present = {
        event_id: hashlib.sha256(body).digest()
        for event_id, (_, body) in existing_events(
            session, [str(e.get("eventID")) for e in events]
        ).items()
    }
    items: list[tuple[Sealed, dict[str, Any]]] = []
    for index, event in enumerate(events):
        label = str(event.get("eventID") or f"event #{index + 1}")
        try:
            validate_event(event)
            body, claimed, signature = unwrap(event)
            envelope = open_body(body)
        except (EventError, EnvelopeError, ValueError) as exc:
            report.findings.append(Finding(Problem.MALFORMED, str(exc), event_id=label))
            continue
        digest = hashlib.sha256(body).digest()
        if envelope.event_id in present:
            if present[envelope.event_id] != digest:
                report.findings.append(
                    Finding(
                        Problem.EDITED,
                        "differs from the recorded event with this eventID",
                        event_id=label,
                    )
                )
            else:
                report.already_present += 1
            continue
        stored = StoredEvent(
            0,
            envelope.event_id,
            envelope.org,
            envelope.key_id,
            body,
            claimed,
            signature,
            (now or datetime.now(UTC)).date(),
        )
        found, _, _ = verify_event(stored, trusted)
        report.findings.extend(Finding(f.problem, f.detail, None, label) for f in found)
        items.append(
            (
                Sealed(
                    envelope.event_id,
                    envelope.org,
                    envelope.key_id,
                    envelope.record_time,
                    envelope.links,
                    body,
                    digest,
                    signature,
                ),
                envelope.event,
            )
        )
    if report.findings:
        return report
    try:
        with session.begin_nested():  # keys, events and names all land, or none
            added = _register_keys(session, header, doc_keys, local, {s.key_id for s, _ in items})
            append_verified(session, settings, items, now=now)
            _register_master_data(session, header)
    except ChainConflict as exc:
        report.findings.append(
            Finding(Problem.BROKEN_LINK, exc.detail, None, exc.event_id, exc.lot)
        )
        return report
    report.imported = len(items)
    report.keys_added = added
    return report


def _register_keys(
    session: Session,
    header: Mapping[str, Any],
    doc_keys: Mapping[str, KeyInfo],
    local: Mapping[str, KeyInfo],
    used: set[str],
) -> int:
    """Store the document's keys that signed imported events and were not known here."""
    names = {o.get("id"): o for o in header.get("tea:orgs") or () if isinstance(o, Mapping)}
    added = 0
    for key_id in sorted(used - local.keys()):
        key = doc_keys[key_id]
        if session.get(TraceOrg, key.org) is None:
            info = names.get(key.org) or {}
            session.add(
                TraceOrg(
                    id=key.org,
                    name=str(info.get("name") or key.org),
                    name_zh=str(info.get("nameZh") or ""),
                    role=str(info.get("role") or ""),
                    created_at=datetime.now(UTC),
                )
            )
            session.flush()
        session.add(
            TraceKey(
                key_id=key.key_id,
                org_id=key.org,
                public_key=key.public_key,
                not_before=key.not_before,
                not_after=key.not_after,
                revoked_at=key.revoked_at,
            )
        )
        added += 1
    session.flush()
    return added


def _register_master_data(session: Session, header: Mapping[str, Any]) -> None:
    """Names of places and products the store does not know yet (never overwrites)."""
    for vocabulary in (header.get("epcisMasterData") or {}).get("vocabularyList") or ():
        for element in vocabulary.get("vocabularyElementList") or ():
            attrs = {a.get("id"): a.get("attribute") for a in element.get("attributes") or ()}
            name, name_zh = str(attrs.get(_NAME) or ""), str(attrs.get(_NAME_ZH) or "")
            element_id = str(element.get("id", ""))
            if vocabulary.get("type") == _LOCATION_VT and ids.is_sgln(element_id):
                if session.get(TraceLocation, element_id) is None:
                    add_location(session, element_id, name or element_id, name_zh=name_zh)
            elif vocabulary.get("type") == _CLASS_VT and element_id.endswith(".*"):
                key = element_id.removeprefix("urn:epc:idpat:sgtin:").removesuffix(".*")
                try:
                    product = ids.Product(*key.split("."))
                except (TypeError, ids.IdentifierError):
                    continue
                if session.get(TraceProduct, key) is None:
                    session.add(
                        TraceProduct(id=key, gtin=product.gtin, name=name or key, name_zh=name_zh)
                    )
    session.flush()
