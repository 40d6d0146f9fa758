"""Verification (pure): which event failed, and why.

Three levels, each reporting `Finding`s that name the event (ledger seq, eventID, lot):

* `verify_event` — one event: its bytes still hash to the recorded hash, its signature verifies
  with the key it names, that key belonged to the signing organisation and was valid (not
  expired, not revoked) at the event's recordTime, and the indexed columns match the bytes;
* `verify_chain` — one lot: sequence numbers 1..n with no gap, each ``prev`` equal to the hash
  of the event before it, the last one equal to the lot's recorded head (no truncation);
* `verify_checkpoint` / `audit` — whole ledger days: the Merkle root over the day's event hashes
  equals the signed checkpoint, the checkpoints chain, and their signatures verify.

`audit` is the fast whole-ledger check (hashes, chains and day roots over every event; Ed25519
only for checkpoints and for events of days not yet sealed); `audit(..., signatures=True)` also
verifies every event's signature (see docs/teaplatform/trace.md for what each proves).
"""

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple

from teaplatform.trace import merkle
from teaplatform.trace.ledger import Checkpoint, EnvelopeError, Link, open_body
from teaplatform.trace.signing import KeyInfo, key_problem, verify

SIGNATURE_CHUNK = 50_000  # events loaded at a time for full signature verification


class Problem(StrEnum):
    EDITED = "edited"  # the bytes no longer hash to the recorded hash
    BAD_SIGNATURE = "bad_signature"
    UNKNOWN_KEY = "unknown_key"
    WRONG_ORG = "wrong_org"
    KEY_NOT_YET_VALID = "key_not_yet_valid"
    KEY_EXPIRED = "key_expired"
    KEY_REVOKED = "key_revoked"
    MALFORMED = "malformed"
    INDEX_MISMATCH = "index_mismatch"  # stored columns disagree with the signed bytes
    MISSING_EVENT = "missing_event"  # a gap in a lot's sequence numbers
    BROKEN_LINK = "broken_link"  # prev is not the hash of the event before
    TRUNCATED = "truncated"  # the chain ends before the lot's recorded head
    LEDGER_GAP = "ledger_gap"  # a gap in the ledger's own sequence
    ROOT_MISMATCH = "root_mismatch"  # a day's events no longer give its signed Merkle root
    CHECKPOINT_BROKEN = "checkpoint_broken"  # checkpoints do not chain
    CHECKPOINT_SIGNATURE = "checkpoint_signature"
    TIME_TRAVEL = "time_travel"  # recordTime earlier than the event before it in the chain


EXPLAIN: dict[Problem, tuple[str, str]] = {
    Problem.EDITED: ("content changed after signing", "内容在签名后被修改"),
    Problem.BAD_SIGNATURE: ("signature does not verify", "签名验证失败"),
    Problem.UNKNOWN_KEY: ("signed with an unknown key", "使用未知密钥签名"),
    Problem.WRONG_ORG: ("key belongs to another organisation", "密钥属于其他机构"),
    Problem.KEY_NOT_YET_VALID: ("key not yet valid at record time", "记录时密钥尚未生效"),
    Problem.KEY_EXPIRED: ("key already rotated out at record time", "记录时密钥已轮换失效"),
    Problem.KEY_REVOKED: ("key revoked before record time", "密钥在记录前已被吊销"),
    Problem.MALFORMED: ("not a sealed event", "不是有效的签名事件"),
    Problem.INDEX_MISMATCH: ("index disagrees with signed content", "索引与签名内容不一致"),
    Problem.MISSING_EVENT: ("an event of this lot is missing", "该批次缺少事件"),
    Problem.BROKEN_LINK: ("hash link to the previous event broken", "与前一事件的哈希链接断裂"),
    Problem.TRUNCATED: ("latest events of this lot are missing", "该批次最新的事件缺失"),
    Problem.LEDGER_GAP: ("ledger sequence has a gap", "账本序号不连续"),
    Problem.ROOT_MISMATCH: ("day's Merkle root does not match", "当日默克尔根不匹配"),
    Problem.CHECKPOINT_BROKEN: ("day checkpoints do not chain", "每日检查点链断裂"),
    Problem.CHECKPOINT_SIGNATURE: ("day checkpoint signature invalid", "每日检查点签名无效"),
    Problem.TIME_TRAVEL: ("recorded before its predecessor", "记录时间早于前一事件"),
}


@dataclass(frozen=True, slots=True)
class Finding:
    problem: Problem
    detail: str
    seq: int | None = None  # ledger sequence number of the event
    event_id: str | None = None
    lot: str | None = None
    day: date | None = None

    def explanation(self, lang: str = "en") -> str:
        return EXPLAIN[self.problem][1 if lang == "zh" else 0]

    def to_json(self) -> dict[str, object]:
        return {
            "problem": self.problem.value,
            "explanation": EXPLAIN[self.problem][0],
            "explanation_zh": EXPLAIN[self.problem][1],
            "detail": self.detail,
            "seq": self.seq,
            "event_id": self.event_id,
            "lot": self.lot,
            "day": self.day.isoformat() if self.day else None,
        }


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as the store holds it: signed bytes plus the columns indexed from them."""

    seq: int
    event_id: str
    org: str
    key_id: str
    body: bytes
    digest: bytes
    signature: bytes
    day: date


class StoredLink(NamedTuple):  # a tuple: a million are built from database rows in an audit
    lot: str
    seq: int
    event_seq: int
    prev: bytes | None


def verify_event(
    event: StoredEvent, keys: Mapping[str, KeyInfo]
) -> tuple[list[Finding], datetime | None, tuple[Link, ...]]:
    """Check one event's hash, signature and key; also return its recordTime and links."""
    found: list[Finding] = []

    def add(problem: Problem, detail: str) -> None:
        found.append(Finding(problem, detail, event.seq, event.event_id))

    if hashlib.sha256(event.body).digest() != event.digest:
        add(Problem.EDITED, "SHA-256 of the stored bytes differs from the recorded hash")
    key = keys.get(event.key_id)
    if key is None:
        add(Problem.UNKNOWN_KEY, f"key {event.key_id} is not registered")
    elif not verify(key.public_key, event.signature, event.body):
        add(Problem.BAD_SIGNATURE, f"Ed25519 signature does not verify with key {event.key_id}")
    try:
        envelope = open_body(event.body)
    except EnvelopeError as exc:
        add(Problem.MALFORMED, str(exc))
        return found, None, ()
    if (envelope.event_id, envelope.org, envelope.key_id) != (
        event.event_id,
        event.org,
        event.key_id,
    ):
        add(Problem.INDEX_MISMATCH, "eventID, organisation or key differ from the signed bytes")
    if key is not None:
        problem = key_problem(dict(keys), envelope.key_id, envelope.org, envelope.record_time)
        if problem is not None:
            add(Problem(problem.value), f"key {envelope.key_id} at {envelope.record_time}")
    return found, envelope.record_time, envelope.links


class Chains:
    """Lots' hash chains checked link by link, in chain order, with any interleaving of lots
    (an audit streams a million links in ledger order through one of these).

    `digests(event_seq)` gives an event's recomputed hash. With `signed_links` (event seq ->
    links parsed from the signed bytes) the stored links must agree with what was signed; with
    `record_times` recordTime must never go backwards along a chain.
    """

    def __init__(
        self,
        digests: Callable[[int], bytes | None],
        *,
        signed_links: Mapping[int, tuple[Link, ...]] | None = None,
        record_times: Mapping[int, datetime | None] | None = None,
        event_ids: Mapping[int, str] | None = None,
    ) -> None:
        self.digests = digests
        self.signed_links = signed_links
        self.times = record_times or {}
        self.ids = event_ids or {}
        self.state: dict[str, tuple[int, bytes | None, datetime | None]] = {}
        self.findings: list[Finding] = []

    def _add(self, problem: Problem, detail: str, link: StoredLink) -> None:
        self.findings.append(
            Finding(problem, detail, link.event_seq, self.ids.get(link.event_seq), link.lot)
        )

    def add(self, link: StoredLink) -> None:
        last, prev_digest, prev_time = self.state.get(link.lot, (0, None, None))
        if link.seq != last + 1:
            self._add(Problem.MISSING_EVENT, f"sequence jumps from {last} to {link.seq}", link)
        elif link.prev != prev_digest:
            self._add(Problem.BROKEN_LINK, "prev is not the hash of the previous event", link)
        if self.signed_links is not None:
            signed = [s for s in self.signed_links.get(link.event_seq, ()) if s.lot == link.lot]
            if signed != [Link(link.lot, link.seq, link.prev)]:
                self._add(
                    Problem.INDEX_MISMATCH, "stored chain position differs from tea:chain", link
                )
        moment = self.times.get(link.event_seq)
        if moment is not None and prev_time is not None and moment < prev_time:
            self._add(Problem.TIME_TRAVEL, f"{moment.isoformat()} < {prev_time.isoformat()}", link)
        self.state[link.lot] = (link.seq, self.digests(link.event_seq), moment or prev_time)

    def finish(self, lot: str, head: tuple[int, bytes] | None) -> None:
        """The chain must end at the lot's recorded head (its newest events not dropped)."""
        last, digest, _ = self.state.get(lot, (0, None, None))
        if head is not None and (head[0] != last or head[1] != digest):
            detail = f"chain ends at seq {last}, the lot's head is seq {head[0]}"
            self.findings.append(Finding(Problem.TRUNCATED, detail, lot=lot))


def verify_chain(
    lot: str,
    links: Sequence[StoredLink],
    digests: Callable[[int], bytes | None],
    head: tuple[int, bytes] | None,
    *,
    signed_links: Mapping[int, tuple[Link, ...]] | None = None,
    record_times: Mapping[int, datetime | None] | None = None,
    event_ids: Mapping[int, str] | None = None,
) -> list[Finding]:
    """Check one lot's chain (see `Chains`)."""
    chains = Chains(
        digests, signed_links=signed_links, record_times=record_times, event_ids=event_ids
    )
    for link in sorted(links, key=lambda item: item.seq):
        chains.add(link)
    chains.finish(lot, head)
    return chains.findings


def verify_checkpoint(
    checkpoint: Checkpoint,
    leaves: Sequence[bytes],
    prev: Checkpoint | None,
    keys: Mapping[str, KeyInfo],
) -> list[Finding]:
    """One day's checkpoint against the day's event hashes (in ledger order)."""
    found: list[Finding] = []
    day = checkpoint.day

    def add(problem: Problem, detail: str) -> None:
        found.append(Finding(problem, detail, day=day))

    if len(leaves) != checkpoint.count:
        add(
            Problem.ROOT_MISMATCH, f"{len(leaves)} events, the checkpoint covers {checkpoint.count}"
        )
    elif merkle.root(leaves) != checkpoint.root:
        add(Problem.ROOT_MISMATCH, "the day's event hashes give another Merkle root")
    if checkpoint.prev != (prev.digest if prev else None):
        add(Problem.CHECKPOINT_BROKEN, "prev is not the hash of the previous day's checkpoint")
    if prev is not None and checkpoint.first_seq != prev.last_seq + 1:
        add(
            Problem.CHECKPOINT_BROKEN,
            f"starts at seq {checkpoint.first_seq}, not after {prev.last_seq}",
        )
    key = keys.get(checkpoint.key_id)
    if key is None or not verify(key.public_key, checkpoint.signature, checkpoint.body):
        add(Problem.CHECKPOINT_SIGNATURE, f"signature by key {checkpoint.key_id} does not verify")
    elif (problem := key.problem_at(checkpoint.org, checkpoint.sealed_at)) is not None:
        add(Problem.CHECKPOINT_SIGNATURE, f"key {checkpoint.key_id}: {problem.value}")
    return found


@dataclass
class AuditReport:
    events: int = 0
    lots: int = 0
    days_sealed: int = 0
    events_signature_checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def hash_events(
    events: Iterable[tuple[int, bytes, bytes]], first: int = 1, last: int | None = None
) -> tuple[list[bytes], list[Finding]]:
    """Re-hash stored events (seq, body, recorded hash) of ledger seqs `first`..`last`, in seq
    order: their SHA-256 (empty for a missing seq) and the gaps and edits found."""
    findings: list[Finding] = []
    sha256 = hashlib.sha256
    digests: list[bytes] = []
    append = digests.append
    expected = first
    for seq, body, recorded in events:
        if seq != expected:
            findings.append(Finding(Problem.LEDGER_GAP, f"seq {expected}..{seq - 1} missing", seq))
            digests.extend([b""] * (seq - expected))
        digest = sha256(body).digest()
        if digest != recorded:
            findings.append(Finding(Problem.EDITED, "SHA-256 of the stored bytes differs", seq))
        append(digest)
        expected = seq + 1
    if last is not None and expected <= last:
        findings.append(Finding(Problem.LEDGER_GAP, f"seq {expected}..{last} missing", last))
        digests.extend([b""] * (last - expected + 1))
    return digests, findings


def audit(
    events: Iterable[tuple[int, bytes, bytes]],
    links: Iterable[StoredLink],
    heads: Mapping[str, tuple[int, bytes]],
    checkpoints: Sequence[Checkpoint],
    keys: Mapping[str, KeyInfo],
    *,
    load_events: Callable[[int, int], Sequence[StoredEvent]],
    signatures: Callable[[Sequence[StoredEvent]], list[Finding]] | None = None,
) -> AuditReport:
    """The whole ledger. `events` yields (seq, body, recorded hash) in seq order; see
    `audit_hashed` for the rest."""
    return audit_hashed(
        hash_events(events),
        links,
        heads,
        checkpoints,
        keys,
        load_events=load_events,
        signatures=signatures,
    )


def audit_hashed(
    hashed: tuple[list[bytes], list[Finding]],
    links: Iterable[StoredLink],
    heads: Mapping[str, tuple[int, bytes]],
    checkpoints: Sequence[Checkpoint],
    keys: Mapping[str, KeyInfo],
    *,
    load_events: Callable[[int, int], Sequence[StoredEvent]],
    signatures: Callable[[Sequence[StoredEvent]], list[Finding]] | None = None,
) -> AuditReport:
    """The whole ledger from `hash_events`' output (digests[i] is ledger seq i + 1). `links`
    come in ledger order (by event seq, so each lot's links run in chain order). Events of
    unsealed days, and of days whose root fails (to name the culprit), are loaded with
    `load_events(first, last)` and fully verified; `signatures`, when given, verifies every
    event's signature too (e.g. in parallel processes).
    """
    digests, hash_findings = hashed
    report = AuditReport(findings=list(hash_findings))
    report.events = sum(1 for d in digests if d)

    suspicious: list[tuple[int, int]] = []  # ledger ranges to verify event by event
    prev: Checkpoint | None = None
    for checkpoint in checkpoints:
        leaves = digests[checkpoint.first_seq - 1 : checkpoint.last_seq]
        day_findings = verify_checkpoint(checkpoint, leaves, prev, keys)
        report.findings.extend(day_findings)
        if any(f.problem is Problem.ROOT_MISMATCH for f in day_findings):
            suspicious.append((checkpoint.first_seq, checkpoint.last_seq))
        prev = checkpoint
        report.days_sealed += 1
    sealed_through = prev.last_seq if prev else 0
    if sealed_through < len(digests):
        suspicious.append((sealed_through + 1, len(digests)))

    for first, last in suspicious:
        batch = load_events(first, last)
        report.events_signature_checked += len(batch)
        for event in batch:
            report.findings.extend(
                f for f in verify_event(event, keys)[0] if f.problem is not Problem.EDITED
            )
    if signatures is not None:
        for first in range(1, sealed_through + 1, SIGNATURE_CHUNK):
            batch = load_events(first, min(first + SIGNATURE_CHUNK - 1, sealed_through))
            report.findings.extend(signatures(batch))
            report.events_signature_checked += len(batch)

    def digest_of(event_seq: int) -> bytes | None:
        return digests[event_seq - 1] if 0 < event_seq <= len(digests) else None

    chains = Chains(digest_of)
    for link in links:
        chains.add(link)
    for lot in chains.state.keys() | heads.keys():
        if lot not in heads:
            chains.findings.append(
                Finding(Problem.TRUNCATED, "the lot has no recorded head", lot=lot)
            )
        chains.finish(lot, heads.get(lot))
    report.findings.extend(chains.findings)
    report.lots = len(chains.state)
    return report
