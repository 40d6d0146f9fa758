"""The signed hash chain (pure): each kind of tampering is caught and named.

Flip a byte, drop an event, re-sign with the wrong key, sign with an expired or revoked key,
truncate a chain, alter a sealed day — each yields a finding naming the event and the problem.
"""

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from teaplatform.trace import builders, merkle
from teaplatform.trace.ledger import Checkpoint, Link, Sealed, open_body, seal
from teaplatform.trace.signing import KeyInfo, Signer, key_id_of, raw_public
from teaplatform.trace.verify import (
    Problem,
    StoredEvent,
    StoredLink,
    audit,
    verify_chain,
    verify_checkpoint,
    verify_event,
)

pytestmark = pytest.mark.unit

T0 = datetime(2026, 4, 2, 1, 0, tzinfo=UTC)
LOT = "urn:epc:class:lgtin:0614141.020001.G2601"
ORG = "urn:epc:id:pgln:0614141.00002"
DAY0 = T0.date()


def make_signer(
    org: str = ORG, not_before: datetime = T0, **validity: datetime
) -> tuple[Signer, KeyInfo]:
    key = Ed25519PrivateKey.generate()
    public = raw_public(key)
    key_id = key_id_of(public)
    return Signer(org, key_id, key), KeyInfo(key_id, org, public, not_before, **validity)


def grading_event(i: int) -> dict[str, object]:
    return builders.grading(
        name=f"test:{i}", lot=LOT, grade="A", conformant=True, at=T0 + timedelta(hours=i), site=None
    )


def chain(n: int, signer: Signer) -> list[Sealed]:
    out: list[Sealed] = []
    prev: bytes | None = None
    for i in range(n):
        sealed = seal(grading_event(i), [Link(LOT, i + 1, prev)], signer, T0 + timedelta(hours=i))
        out.append(sealed)
        prev = sealed.digest
    return out


def stored(sealed: Sealed, seq: int, day: date = DAY0) -> StoredEvent:
    return StoredEvent(
        seq,
        sealed.event_id,
        sealed.org,
        sealed.key_id,
        sealed.body,
        sealed.digest,
        sealed.signature,
        day,
    )


def links(events: list[Sealed], seqs: list[int] | None = None) -> list[StoredLink]:
    seqs = seqs or list(range(1, len(events) + 1))
    return [
        StoredLink(LOT, s.links[0].seq, seq, s.links[0].prev)
        for s, seq in zip(events, seqs, strict=True)
    ]


def problems(findings: list) -> set[Problem]:  # type: ignore[type-arg]
    return {f.problem for f in findings}


def test_an_untouched_chain_verifies() -> None:
    signer, info = make_signer()
    events = chain(5, signer)
    keys = {info.key_id: info}
    for i, event in enumerate(events):
        assert verify_event(stored(event, i + 1), keys)[0] == []
    digests = {i + 1: e.digest for i, e in enumerate(events)}
    assert verify_chain(LOT, links(events), digests.get, (5, events[-1].digest)) == []


def test_flipping_one_byte_is_caught_at_that_event() -> None:
    signer, info = make_signer()
    events = chain(3, signer)
    body = bytearray(events[1].body)
    body[body.index(b'"grade":"A"') + 9] = ord("S")  # grade A -> S
    tampered = replace(stored(events[1], 2), body=bytes(body))
    found, _, _ = verify_event(tampered, {info.key_id: info})
    assert problems(found) == {Problem.EDITED, Problem.BAD_SIGNATURE}
    assert {f.seq for f in found} == {2}
    # and the chain breaks right after it: event 3's prev is the hash of the original event 2
    digests = {1: events[0].digest, 2: hashlib.sha256(bytes(body)).digest(), 3: events[2].digest}
    chain_found = verify_chain(LOT, links(events), digests.get, (3, events[2].digest))
    assert [(f.problem, f.seq) for f in chain_found] == [(Problem.BROKEN_LINK, 3)]


def test_dropping_an_event_is_a_missing_link() -> None:
    signer, _ = make_signer()
    events = chain(4, signer)
    kept = [events[0], events[2], events[3]]
    digests = {1: events[0].digest, 3: events[2].digest, 4: events[3].digest}
    found = verify_chain(LOT, links(kept, [1, 3, 4]), digests.get, (4, events[3].digest))
    assert [(f.problem, f.seq) for f in found] == [(Problem.MISSING_EVENT, 3)]


def test_dropping_the_newest_event_is_truncation() -> None:
    signer, _ = make_signer()
    events = chain(3, signer)
    digests = {i + 1: e.digest for i, e in enumerate(events)}
    found = verify_chain(LOT, links(events[:2]), digests.get, (3, events[2].digest))
    assert problems(found) == {Problem.TRUNCATED}


def test_re_signing_with_a_wrong_key_is_caught() -> None:
    signer, info = make_signer()
    thief, thief_info = make_signer()  # a key nobody registered
    other_org, other_info = make_signer("urn:epc:id:pgln:0614141.00009")
    keys = {info.key_id: info, other_info.key_id: other_info}
    edited = {**grading_event(0), "tea:grade": {"grade": "Special"}}
    # signed by an unknown key
    forged = seal(edited, [Link(LOT, 1, None)], thief, T0)
    assert problems(verify_event(stored(forged, 1), keys)[0]) == {Problem.UNKNOWN_KEY}
    # signed by another organisation's registered key, claiming to be ORG
    impostor = Signer(ORG, other_org.key_id, other_org.private_key)
    forged = seal(edited, [Link(LOT, 1, None)], impostor, T0)
    assert problems(verify_event(stored(forged, 1), keys)[0]) == {Problem.WRONG_ORG}
    # claiming ORG's real key id but signed with another private key
    liar = Signer(ORG, signer.key_id, thief.private_key)
    forged = seal(edited, [Link(LOT, 1, None)], liar, T0)
    assert problems(verify_event(stored(forged, 1), keys)[0]) == {Problem.BAD_SIGNATURE}
    assert thief_info.key_id not in keys


def test_rotation_old_events_keep_verifying_and_the_old_key_cannot_sign_later() -> None:
    rotation = T0 + timedelta(days=10)
    old, old_info = make_signer(not_after=rotation)
    new, new_info = make_signer(not_before=rotation)
    keys = {old_info.key_id: old_info, new_info.key_id: new_info}
    before = seal(grading_event(0), [Link(LOT, 1, None)], old, T0 + timedelta(days=1))
    after = seal(grading_event(1), [Link(LOT, 2, before.digest)], new, rotation + timedelta(days=1))
    late = seal(grading_event(2), [Link(LOT, 2, before.digest)], old, rotation + timedelta(days=1))
    assert verify_event(stored(before, 1), keys)[0] == []
    assert verify_event(stored(after, 2), keys)[0] == []
    assert problems(verify_event(stored(late, 2), keys)[0]) == {Problem.KEY_EXPIRED}
    early = seal(grading_event(3), [Link(LOT, 1, None)], new, T0)
    assert problems(verify_event(stored(early, 1), keys)[0]) == {Problem.KEY_NOT_YET_VALID}


def test_a_revoked_key_fails_from_the_revocation_on_only() -> None:
    revoked_at = T0 + timedelta(days=5)
    signer, info = make_signer(revoked_at=revoked_at)
    keys = {info.key_id: info}
    honest = seal(grading_event(0), [Link(LOT, 1, None)], signer, revoked_at - timedelta(seconds=1))
    stolen = seal(grading_event(1), [Link(LOT, 2, honest.digest)], signer, revoked_at)
    assert verify_event(stored(honest, 1), keys)[0] == []
    assert problems(verify_event(stored(stolen, 2), keys)[0]) == {Problem.KEY_REVOKED}


def test_signed_links_must_match_the_index_and_time_must_not_go_back() -> None:
    signer, _ = make_signer()
    first = seal(grading_event(0), [Link(LOT, 1, None)], signer, T0 + timedelta(hours=5))
    second = seal(grading_event(1), [Link(LOT, 2, first.digest)], signer, T0)
    rows = [StoredLink(LOT, 1, 1, None), StoredLink(LOT, 2, 2, first.digest)]
    signed = {1: first.links, 2: (Link(LOT, 7, first.digest),)}  # bytes say seq 7
    times = {1: open_body(first.body).record_time, 2: open_body(second.body).record_time}
    found = verify_chain(
        LOT,
        rows,
        {1: first.digest, 2: second.digest}.get,
        None,
        signed_links=signed,
        record_times=times,
    )
    assert problems(found) == {Problem.INDEX_MISMATCH, Problem.TIME_TRAVEL}


def sealed_day(events: list[Sealed], ledger: Signer, first: int = 1) -> Checkpoint:
    return Checkpoint(
        day=T0.date(),
        first_seq=first,
        last_seq=first + len(events) - 1,
        root=merkle.root([e.digest for e in events]),
        prev=None,
        sealed_at=T0 + timedelta(days=1),
        org="urn:teaplatform:ledger",
        key_id="",
    ).signed(ledger)


def test_checkpoint_catches_an_altered_day_and_a_forged_checkpoint() -> None:
    signer, _ = make_signer()
    ledger, ledger_info = make_signer("urn:teaplatform:ledger")
    keys = {ledger_info.key_id: ledger_info}
    events = chain(6, signer)
    checkpoint = sealed_day(events, ledger)
    digests = [e.digest for e in events]
    assert verify_checkpoint(checkpoint, digests, None, keys) == []
    altered = [*digests[:2], hashlib.sha256(b"other").digest(), *digests[3:]]
    assert problems(verify_checkpoint(checkpoint, altered, None, keys)) == {Problem.ROOT_MISMATCH}
    assert problems(verify_checkpoint(checkpoint, digests[:-1], None, keys)) == {
        Problem.ROOT_MISMATCH
    }
    forged = replace(checkpoint, root=merkle.root(altered))  # root changed, signature kept
    assert problems(verify_checkpoint(forged, altered, None, keys)) == {
        Problem.CHECKPOINT_SIGNATURE
    }


def test_audit_of_a_clean_ledger_and_of_one_with_an_edit() -> None:
    signer, info = make_signer()
    ledger, ledger_info = make_signer("urn:teaplatform:ledger")
    keys = {info.key_id: info, ledger_info.key_id: ledger_info}
    events = chain(8, signer)
    checkpoint = sealed_day(events[:6], ledger)  # days 1..6 sealed, 7..8 still open
    rows = [stored(e, i + 1) for i, e in enumerate(events)]

    def run(table: list[StoredEvent]):  # type: ignore[no-untyped-def]
        return audit(
            ((r.seq, r.body, r.digest) for r in table),
            links(events),
            {LOT: (8, events[-1].digest)},
            [checkpoint],
            keys,
            load_events=lambda a, b: [r for r in table if a <= r.seq <= b],
        )

    clean = run(rows)
    assert clean.ok and clean.events == 8 and clean.days_sealed == 1
    assert clean.events_signature_checked == 2  # only the unsealed tail
    # an attacker edits event 3 and recomputes its stored hash to hide it
    body = rows[2].body.replace(b'"grade":"A"', b'"grade":"S"')
    edited = [
        *rows[:2],
        replace(rows[2], body=body, digest=hashlib.sha256(body).digest()),
        *rows[3:],
    ]
    report = run(edited)
    assert (Problem.ROOT_MISMATCH, None) in {(f.problem, f.seq) for f in report.findings}
    assert (Problem.BAD_SIGNATURE, 3) in {(f.problem, f.seq) for f in report.findings}
    assert (Problem.BROKEN_LINK, 4) in {(f.problem, f.seq) for f in report.findings}
