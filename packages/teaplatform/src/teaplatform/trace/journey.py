"""A lot's journey, verified: what the verification page, the API and `trace verify` show.

`verify_lot` follows the lot's chain and, through processing (transformation) events, the
chains of the lots it was made from, back to the plot. Every event is checked on its own
(hash, signature, key), every chain link by link, and every event of a sealed day is proven
to be in that day's signed Merkle root (the inclusion proof is part of the report).
`verify_package` adds the package's own checks: it was commissioned in the signed journey,
and its scans do not look like a copied code.
"""

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from teaplatform.trace import ids, merkle
from teaplatform.trace.epcis import cbv_word, parse_time
from teaplatform.trace.ledger import Checkpoint, Link, open_body
from teaplatform.trace.lots import event_roles
from teaplatform.trace.scans import Scan, ScanVerdict, assess
from teaplatform.trace.service import checkpoint_of, keyring
from teaplatform.trace.signing import KeyInfo
from teaplatform.trace.tables import (
    TraceCheckpoint,
    TraceEpcLot,
    TraceEvent,
    TraceLink,
    TraceLocation,
    TraceLot,
    TraceOrg,
    TracePackage,
    TraceProduct,
    TraceScan,
)
from teaplatform.trace.verify import (
    Finding,
    Problem,
    StoredEvent,
    StoredLink,
    verify_chain,
    verify_checkpoint,
    verify_event,
)

Status = Literal["verified", "tampered", "counterfeit_suspected", "unknown"]

STAGES: dict[str, tuple[str, str]] = {
    "picking": ("Picking", "采摘"),
    "processing": ("Processing", "加工"),
    "grading": ("Grading", "分级"),
    "packaging": ("Packaging", "包装赋码"),
    "packing": ("Packed into cases", "装箱"),
    "shipping": ("Shipping", "发运"),
    "receiving": ("Received by the shop", "门店收货"),
    "retail": ("Sold", "零售售出"),
    "other": ("Other", "其他"),
}
_STAGE_OF_STEP = {
    "creating_class_instance": "picking",
    "inspecting": "grading",
    "commissioning": "packaging",
    "packing": "packing",
    "shipping": "shipping",
    "departing": "shipping",
    "receiving": "receiving",
    "arriving": "receiving",
    "retail_selling": "retail",
}


def stage_of(event: Mapping[str, Any]) -> str:
    if event.get("type") == "TransformationEvent":
        return "processing"
    step = event.get("bizStep")
    return _STAGE_OF_STEP.get(cbv_word(step, "bizStep"), "other") if step else "other"


@dataclass
class Step:
    """One event as shown on the page."""

    seq: int
    event_id: str
    event_type: str
    stage: str
    biz_step: str | None
    disposition: str | None
    event_time: datetime
    record_time: datetime | None
    org: str
    org_name: str
    org_name_zh: str
    place: str | None
    place_name: str
    place_name_zh: str
    lots: list[str]
    what: list[str]  # quantities and EPC counts, readable
    details: dict[str, Any]  # tea: extension fields other than ours (grade, recipe...)
    key_id: str
    digest: str
    day: date
    epcs: list[str] = field(default_factory=list)  # instance EPCs the event names
    other_package: bool = False  # on a package's page: about other packages of the lot only
    proof: dict[str, Any] | None = None  # Merkle inclusion in the day's checkpoint
    problems: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def stage_en(self) -> str:
        return STAGES[self.stage][0]

    @property
    def stage_zh(self) -> str:
        return STAGES[self.stage][1]

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "type": self.event_type,
            "stage": self.stage,
            "stage_en": self.stage_en,
            "stage_zh": self.stage_zh,
            "biz_step": self.biz_step,
            "disposition": self.disposition,
            "event_time": self.event_time.isoformat(),
            "record_time": self.record_time.isoformat() if self.record_time else None,
            "org": self.org,
            "org_name": self.org_name,
            "org_name_zh": self.org_name_zh,
            "place": self.place,
            "place_name": self.place_name,
            "place_name_zh": self.place_name_zh,
            "lots": self.lots,
            "what": self.what,
            "details": self.details,
            "key_id": self.key_id,
            "hash": self.digest,
            "ledger_day": self.day.isoformat(),
            "merkle": self.proof,
            "other_package": self.other_package,
            "ok": self.ok,
            "problems": [f.to_json() for f in self.problems],
        }


@dataclass
class LotReport:
    lot: str
    product: str
    product_zh: str
    lots: list[str]  # the lot and those it was made from
    steps: list[Step]
    findings: list[Finding]

    @property
    def status(self) -> Status:
        return "tampered" if self.findings else "verified"

    def to_json(self) -> dict[str, Any]:
        return {
            "lot": self.lot,
            "product": self.product,
            "product_zh": self.product_zh,
            "status": self.status,
            "lots": self.lots,
            "steps": [s.to_json() for s in self.steps],
            "findings": [f.to_json() for f in self.findings],
        }


@dataclass
class PackageReport:
    code: str
    sgtin: str | None
    gtin: str | None
    lot: LotReport | None
    scans: ScanVerdict
    findings: list[Finding]

    @property
    def status(self) -> Status:
        if self.lot is None:
            return "unknown"
        if self.findings or self.lot.findings:
            return "tampered"
        return "counterfeit_suspected" if self.scans.flagged else "verified"

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "sgtin": self.sgtin,
            "gtin": self.gtin,
            "status": self.status,
            "scans": {
                "count": self.scans.count,
                "places": self.scans.places,
                "flagged": self.scans.flagged,
                "reasons": list(self.scans.reasons),
                "first_at": self.scans.first_at.isoformat() if self.scans.first_at else None,
            },
            "findings": [f.to_json() for f in self.findings],
            "journey": self.lot.to_json() if self.lot else None,
        }


class Loader:
    """Rows of the journey, each loaded once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.events: dict[int, StoredEvent] = {}
        self._names: dict[tuple[Any, str | None], tuple[str, str]] = {}

    def links(self, lot: str) -> list[StoredLink]:
        rows = self.session.execute(
            select(TraceLink.lot, TraceLink.seq, TraceLink.event_seq, TraceLink.prev)
            .where(TraceLink.lot == lot)
            .order_by(TraceLink.seq)
        )
        return [StoredLink(*row) for row in rows]

    def load(self, seqs: Iterable[int]) -> None:
        missing = sorted(set(seqs) - self.events.keys())
        for i in range(0, len(missing), 500):
            rows = self.session.scalars(
                select(TraceEvent).where(TraceEvent.seq.in_(missing[i : i + 500]))
            )
            for row in rows:
                self.events[row.seq] = StoredEvent(
                    row.seq,
                    row.event_id,
                    row.org_id,
                    row.key_id,
                    row.body,
                    row.digest,
                    row.signature,
                    row.ledger_day,
                )

    def names(self, model: Any, key: str | None) -> tuple[str, str]:
        """(name, Chinese name) of a master-data row, each looked up once (misses too)."""
        if (model, key) not in self._names:
            self._names[model, key] = _names(self.session, model, key)
        return self._names[model, key]

    def digest(self, seq: int) -> bytes | None:
        stored = self.events.get(seq)
        return hashlib.sha256(stored.body).digest() if stored else None

    def epc_lots(self, epc: str) -> set[str]:
        return set(self.session.scalars(select(TraceEpcLot.lot).where(TraceEpcLot.epc == epc)))


def journey_lots(loader: Loader, lot: str) -> tuple[list[str], dict[str, list[StoredLink]]]:
    """`lot` and, through processing events that made it, the lots it came from (transitively),
    with each one's chain links; events are loaded into `loader` on the way."""
    lots, queue, chains = [lot], [lot], {}
    while queue:
        current = queue.pop(0)
        chains[current] = loader.links(current)
        loader.load(link.event_seq for link in chains[current])
        for link in chains[current]:
            stored = loader.events.get(link.event_seq)
            try:
                event = open_body(stored.body).event if stored else {}
            except ValueError:
                continue  # reported by verify_event
            if event.get("type") == "TransformationEvent":
                roles = event_roles(event, loader.epc_lots)
                if current in roles.outputs:
                    for source in sorted(roles.inputs - set(lots)):
                        lots.append(source)
                        queue.append(source)
    return lots, chains


def verify_lot(session: Session, lot: str) -> LotReport | None:
    """The verified journey of `lot` (None when the ledger has never seen it)."""
    if session.get(TraceLot, lot) is None and not session.scalar(
        select(TraceLink.lot).where(TraceLink.lot == lot).limit(1)
    ):
        return None
    loader = Loader(session)
    lots, chains = journey_lots(loader, lot)
    keys = keyring(session)
    findings: list[Finding] = []
    steps: dict[int, Step] = {}
    parsed: dict[int, tuple[datetime | None, tuple[Link, ...]]] = {}
    for stored in sorted(loader.events.values(), key=lambda e: e.seq):
        problems, record_time, signed_links = verify_event(stored, keys)
        parsed[stored.seq] = (record_time, signed_links)
        steps[stored.seq] = _step(loader, stored, record_time, problems)
        findings.extend(problems)
    for current in lots:
        head_row = session.get(TraceLot, current)
        chain_findings = verify_chain(
            current,
            chains[current],
            loader.digest,
            (head_row.head_seq, head_row.head_digest) if head_row else None,
            signed_links={seq: links for seq, (_, links) in parsed.items()},
            record_times={seq: moment for seq, (moment, _) in parsed.items()},
            event_ids={seq: e.event_id for seq, e in loader.events.items()},
        )
        findings.extend(chain_findings)
        for finding in chain_findings:
            if finding.seq in steps:
                steps[finding.seq].problems.append(finding)
    findings.extend(_prove_days(session, steps, keys))
    product, product_zh = _product_names(session, lot)
    ordered = sorted(steps.values(), key=lambda s: (s.event_time, s.seq))
    return LotReport(lot, product, product_zh, lots, ordered, findings)


def _prove_days(
    session: Session, steps: dict[int, Step], keys: Mapping[str, KeyInfo]
) -> list[Finding]:
    """Prove every step of a sealed day is in the day's signed Merkle root."""
    found: list[Finding] = []
    for day in sorted({step.day for step in steps.values()}):
        row = session.get(TraceCheckpoint, day)
        if row is None:
            continue  # not sealed yet: the event signatures and the chain stand alone
        checkpoint = checkpoint_of(row)
        prev_row = session.scalars(
            select(TraceCheckpoint)
            .where(TraceCheckpoint.day < day)
            .order_by(TraceCheckpoint.day.desc())
            .limit(1)
        ).first()
        own = {seq: bytes.fromhex(step.digest) for seq, step in steps.items() if step.day == day}
        rows = session.execute(
            select(TraceEvent.seq, TraceEvent.digest)
            .where(TraceEvent.seq.between(checkpoint.first_seq, checkpoint.last_seq))
            .order_by(TraceEvent.seq)
        ).all()
        # this journey's events by their recomputed hash; the day's others as recorded (a
        # changed recorded hash shows as a root mismatch, a changed body of ours as EDITED)
        seqs = [seq for seq, _ in rows]
        leaves = [own.get(seq, digest) for seq, digest in rows]
        day_findings = verify_checkpoint(
            checkpoint, leaves, checkpoint_of(prev_row) if prev_row else None, keys
        )
        found.extend(day_findings)
        tree = merkle.levels(leaves) if leaves else [[]]
        for step in steps.values():
            if step.day == day:
                _attach_proof(step, checkpoint, seqs, tree, day_findings)
    return found


def _attach_proof(
    step: Step,
    checkpoint: Checkpoint,
    seqs: list[int],
    tree: list[list[bytes]],
    day_findings: list[Finding],
) -> None:
    index = step.seq - checkpoint.first_seq
    included = False
    proof: list[bytes] = []
    if 0 <= index < len(seqs) and seqs[index] == step.seq:
        proof = merkle.path(tree, index)
        included = merkle.verify_inclusion(
            bytes.fromhex(step.digest), index, checkpoint.count, proof, checkpoint.root
        )
    step.proof = {
        "day": checkpoint.day.isoformat(),
        "root": checkpoint.root.hex(),
        "index": index,
        "size": checkpoint.count,
        "path": [p.hex() for p in proof],
        "included": included,
    }
    if not included:
        step.problems.append(
            Finding(
                Problem.ROOT_MISMATCH,
                f"not provably in the signed root of {checkpoint.day.isoformat()}",
                step.seq,
                step.event_id,
                day=checkpoint.day,
            )
        )
    step.problems.extend(f for f in day_findings if f.problem is Problem.CHECKPOINT_SIGNATURE)


def _names(session: Session, model: Any, key: str | None) -> tuple[str, str]:
    row = session.get(model, key) if key else None
    return (row.name, row.name_zh or row.name) if row is not None else (key or "", key or "")


def _product_names(session: Session, lot: str) -> tuple[str, str]:
    try:
        product = ids.parse_lgtin(lot).product
    except ids.IdentifierError:
        return lot, lot
    return _names(session, TraceProduct, f"{product.company_prefix}.{product.item_ref}")


def _step(
    loader: Loader, stored: StoredEvent, record_time: datetime | None, problems: list[Finding]
) -> Step:
    try:
        envelope = open_body(stored.body)
        event = envelope.event
        lots = [link.lot for link in envelope.links]
    except ValueError:
        event, lots = {}, []
    place = (event.get("bizLocation") or event.get("readPoint") or {}).get("id")
    org_name, org_name_zh = loader.names(TraceOrg, stored.org)
    place_name, place_name_zh = loader.names(TraceLocation, place)
    try:
        event_time = parse_time(str(event.get("eventTime")))
    except ValueError:
        event_time = record_time or datetime.min
    return Step(
        seq=stored.seq,
        event_id=stored.event_id,
        event_type=str(event.get("type", "?")),
        stage=stage_of(event),
        biz_step=cbv_word(event["bizStep"], "bizStep") if event.get("bizStep") else None,
        disposition=cbv_word(event["disposition"], "disposition")
        if event.get("disposition")
        else None,
        event_time=event_time,
        record_time=record_time,
        org=stored.org,
        org_name=org_name,
        org_name_zh=org_name_zh,
        place=place,
        place_name=place_name,
        place_name_zh=place_name_zh,
        lots=lots,
        what=_what(event),
        details={
            k: v
            for k, v in event.items()
            if k.startswith("tea:") and k not in ("tea:chain", "tea:signer")
        },
        key_id=stored.key_id,
        digest=hashlib.sha256(stored.body).hexdigest(),
        day=stored.day,
        epcs=[
            e for name in ("epcList", "outputEPCList", "childEPCs") for e in event.get(name) or ()
        ],
        problems=list(problems),
    )


def _what(event: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    for name in ("quantityList", "inputQuantityList", "outputQuantityList", "childQuantityList"):
        for q in event.get(name) or ():
            amount = f"{q.get('quantity', '')} {q.get('uom', '')}".strip()
            label = {"inputQuantityList": "in ", "outputQuantityList": "out "}.get(name, "")
            out.append(f"{label}{amount} {q.get('epcClass', '')}".strip())
    for name in ("epcList", "childEPCs", "inputEPCList", "outputEPCList"):
        count = len(event.get(name) or ())
        if count:
            out.append(f"{count} × {name.removesuffix('List').removesuffix('s')}")
    if event.get("parentID"):
        out.append(f"case {event['parentID']}")
    return out


# --- packages and scans ------------------------------------------------------------------


def package_scans(session: Session, code: str) -> list[Scan]:
    rows = session.scalars(select(TraceScan).where(TraceScan.code == code).order_by(TraceScan.id))
    return [Scan(r.scanned_at, r.place, r.agent) for r in rows]


def log_scan(session: Session, code: str, place: str, agent: str, at: datetime) -> None:
    session.add(TraceScan(code=code[:20], scanned_at=at, place=place[:64], agent=agent[:40]))
    session.flush()


def verify_package(session: Session, code: str, scan_limit: int) -> PackageReport:
    """The package's journey, whether it was commissioned in it, and its scan verdict."""
    package = session.get(TracePackage, code)
    scans = assess(package_scans(session, code), scan_limit)
    if package is None:
        return PackageReport(code, None, None, None, scans, [])
    report = verify_lot(session, package.lot)
    findings: list[Finding] = []
    sgtin = ids.parse_sgtin(package.sgtin)
    if report is not None and not any(
        step.stage == "packaging" and package.sgtin in step.epcs for step in report.steps
    ):
        findings.append(
            Finding(
                Problem.MISSING_EVENT,
                "no signed packaging event commissions this package",
                lot=package.lot,
            )
        )
    for step in report.steps if report else ():
        packages = [e for e in step.epcs if ids.is_sgtin(e)]
        step.other_package = bool(packages) and package.sgtin not in packages
    return PackageReport(code, package.sgtin, sgtin.product.gtin, report, scans, findings)


def package_by_digital_link(session: Session, gtin: str, serial: str) -> TracePackage | None:
    package = session.get(TracePackage, serial)
    if package is None or ids.parse_sgtin(package.sgtin).product.gtin != gtin:
        return None
    return package
