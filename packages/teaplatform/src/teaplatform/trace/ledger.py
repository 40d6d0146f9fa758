"""The signed, hash-chained ledger: how an event and a day's checkpoint become bytes (pure).

An event is sealed by adding ``tea:chain`` (its place in the hash chain of every lot it
concerns: sequence number and the previous event's hash), ``tea:signer`` (organisation, key)
and ``recordTime``, serialising with RFC 8785 (JCS), hashing with SHA-256 and signing those
bytes with Ed25519. Editing a byte changes the hash, which breaks the signature, the next
event's ``prev`` and the day's Merkle root.

Once a ledger day is over its events' hashes (in ledger order) become a Merkle tree whose root
goes into a checkpoint, chained to the previous day's and signed by the ledger's own key.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from teaplatform.trace.canonical import canonical
from teaplatform.trace.epcis import CHAIN, PROOF, SIGNER, format_time, parse_time
from teaplatform.trace.signing import Signer

CHECKPOINT_TYPE = "tea:DayCheckpoint"


@dataclass(frozen=True, slots=True)
class Link:
    """An event's place in one lot's chain: sequence number (from 1) and the previous hash."""

    lot: str
    seq: int
    prev: bytes | None  # None for a lot's first event

    def to_json(self) -> dict[str, Any]:
        return {"lot": self.lot, "seq": self.seq, "prev": self.prev.hex() if self.prev else None}


@dataclass(frozen=True, slots=True)
class Sealed:
    """A signed event: its canonical bytes, their SHA-256 and the Ed25519 signature."""

    event_id: str
    org: str
    key_id: str
    record_time: datetime
    links: tuple[Link, ...]
    body: bytes
    digest: bytes
    signature: bytes


def seal(
    event: Mapping[str, Any], links: Sequence[Link], signer: Signer, record_time: datetime
) -> Sealed:
    """Sign `event` (a validated EPCIS event with an eventID) at `record_time` into `links`."""
    ordered = tuple(sorted(links, key=lambda link: link.lot))
    signed = {k: v for k, v in event.items() if k != PROOF}
    signed["recordTime"] = format_time(record_time)
    signed[CHAIN] = [link.to_json() for link in ordered]
    signed[SIGNER] = {"org": signer.org, "keyId": signer.key_id}
    body = canonical(signed)
    return Sealed(
        event_id=str(event["eventID"]),
        org=signer.org,
        key_id=signer.key_id,
        record_time=parse_time(signed["recordTime"]),
        links=ordered,
        body=body,
        digest=hashlib.sha256(body).digest(),
        signature=signer.sign(body),
    )


class EnvelopeError(ValueError):
    """Signed bytes that are not a sealed event (unparseable, or our fields malformed)."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the signed bytes of an event say about themselves."""

    event: dict[str, Any]
    event_id: str
    org: str
    key_id: str
    record_time: datetime
    links: tuple[Link, ...]


def open_body(body: bytes) -> Envelope:
    """Parse a sealed event's bytes; raise `EnvelopeError` when they are not one."""
    try:
        event = json.loads(body)
        signer = event[SIGNER]
        links = tuple(
            Link(
                str(item["lot"]),
                int(item["seq"]),
                bytes.fromhex(item["prev"]) if item["prev"] is not None else None,
            )
            for item in event[CHAIN]
        )
        return Envelope(
            event=event,
            event_id=str(event["eventID"]),
            org=str(signer["org"]),
            key_id=str(signer["keyId"]),
            record_time=parse_time(event["recordTime"]),
            links=links,
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise EnvelopeError(f"not a sealed event: {exc}") from None


def exported(body: bytes, digest: bytes, signature: bytes) -> dict[str, Any]:
    """The event as exported: its signed fields plus the unsigned ``tea:proof``."""
    event: dict[str, Any] = json.loads(body)
    event[PROOF] = {"hash": digest.hex(), "signature": signature.hex()}
    return event


def unwrap(event: Mapping[str, Any]) -> tuple[bytes, bytes, bytes]:
    """An exported event back to (body, claimed hash, signature); the body is re-canonicalised."""
    proof = event.get(PROOF)
    if not isinstance(proof, Mapping):
        raise EnvelopeError(f"{PROOF}: missing — unsigned events cannot be imported")
    try:
        claimed = bytes.fromhex(str(proof["hash"]))
        signature = bytes.fromhex(str(proof["signature"]))
    except (KeyError, ValueError):
        raise EnvelopeError(f"{PROOF}: needs hex 'hash' and 'signature'") from None
    body = canonical({k: v for k, v in event.items() if k != PROOF})
    return body, claimed, signature


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A ledger day's Merkle root over its events (ledger seq first..last), signed.

    The signed bytes are rebuilt from the fields, so editing any stored field breaks the
    signature.
    """

    day: date
    first_seq: int
    last_seq: int
    root: bytes
    prev: bytes | None  # digest of the previous day's checkpoint
    sealed_at: datetime
    org: str
    key_id: str
    signature: bytes = b""

    @property
    def count(self) -> int:
        return self.last_seq - self.first_seq + 1

    @property
    def body(self) -> bytes:
        return canonical(
            {
                "type": CHECKPOINT_TYPE,
                "day": self.day.isoformat(),
                "firstSeq": self.first_seq,
                "lastSeq": self.last_seq,
                "root": self.root.hex(),
                "prev": self.prev.hex() if self.prev else None,
                "sealedAt": format_time(self.sealed_at),
                SIGNER: {"org": self.org, "keyId": self.key_id},
            }
        )

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(self.body).digest()

    def signed(self, signer: Signer) -> "Checkpoint":
        """This checkpoint signed by `signer` (its org and key id filled in)."""
        unsigned = replace(
            self,
            org=signer.org,
            key_id=signer.key_id,
            sealed_at=parse_time(format_time(self.sealed_at)),  # what the bytes can hold
        )
        return replace(unsigned, signature=signer.sign(unsigned.body))
