"""The ledger in a real database (SQLite and PostgreSQL): record, seal, verify, and catch
tampering done directly in the tables; keys on disk; EPCIS export/import; the module hooks."""

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from pydantic import SecretStr
from sqlalchemy import delete, select, update

from teaplatform.settings import Settings
from teaplatform.store.db import Base, Store
from teaplatform.store.migrate import upgrade
from teaplatform.trace import builders, keystore
from teaplatform.trace.audit import audit_ledger
from teaplatform.trace.demo import FACTORY, SEASON, demo_code, seed_demo
from teaplatform.trace.exchange import export_document, import_document
from teaplatform.trace.hooks import record_grading_result, record_processing_batch
from teaplatform.trace.journey import log_scan, verify_lot, verify_package
from teaplatform.trace.ledger import Link, seal
from teaplatform.trace.service import (
    Conflict,
    EventError,
    append_verified,
    record_event,
    register_org,
    revoke_key,
    seal_days,
    signer_for,
)
from teaplatform.trace.tables import TraceCheckpoint, TraceEvent, TraceKey, TraceLink, TracePackage
from teaplatform.trace.verify import Problem

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def demo(store: Store, settings: Settings) -> Store:
    seed_demo(settings, store)
    return store


def journey_status(store: Store, code: str = "") -> tuple[str, set[tuple[Problem, int | None]]]:
    with store.session() as session:
        report = verify_package(session, code or demo_code(), scan_limit=10)
        assert report.lot is not None
        found = report.findings + report.lot.findings
        return report.status, {(f.problem, f.seq) for f in found}


def package_seqs(store: Store) -> dict[str, int]:
    """Ledger seq of each stage of the demo package's lot chain."""
    with store.session() as session:
        report = verify_package(session, demo_code(), 10)
        assert report.lot is not None
        return {s.stage: s.seq for s in report.lot.steps}


def test_trace_tables_match_the_migration(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert [d for d in diff if "trace_" in repr(d)] == []


def test_demo_journey_verifies_end_to_end(demo: Store, settings: Settings) -> None:
    status, found = journey_status(demo)
    assert (status, found) == ("verified", set())
    with demo.session() as session:
        report = verify_package(session, demo_code(), 10)
        assert report.lot is not None
        stages = [s.stage for s in report.lot.steps]
        assert stages == [
            "picking",
            "processing",
            "grading",
            "packaging",
            "packing",
            "shipping",
            "receiving",
            "retail",
        ]
        assert all(s.proof and s.proof["included"] for s in report.lot.steps)
        keys = {s.key_id for s in report.lot.steps if s.org == FACTORY}
        assert len(keys) == 1  # lot 1 is before the factory's key rotation...
        later = verify_lot(session, "urn:epc:class:lgtin:0614141.020001.G2602")
        assert later is not None and later.status == "verified"
        assert {s.key_id for s in later.steps if s.org == FACTORY}.isdisjoint(
            keys
        )  # ...lot 2 after
        assert audit_ledger(session).ok
        assert audit_ledger(session, parallel_from=1).ok
    assert seed_demo(settings, demo).startswith("already seeded")  # idempotent


def test_flip_a_byte_of_a_stored_event(demo: Store) -> None:
    seq = package_seqs(demo)["grading"]
    with demo.session() as session:
        body = session.scalar(select(TraceEvent.body).where(TraceEvent.seq == seq))
        assert body is not None
        session.execute(
            update(TraceEvent)
            .where(TraceEvent.seq == seq)
            .values(body=body.replace(b"Special", b"Spec1al"))
        )
    status, found = journey_status(demo)
    assert status == "tampered"
    assert {(Problem.EDITED, seq), (Problem.BAD_SIGNATURE, seq)} <= found
    assert (Problem.BROKEN_LINK, package_seqs(demo)["packaging"]) in found  # next in the chain
    for parallel_from in (10**9, 1):  # in this process, and re-hashed by two worker processes
        with demo.session() as session:
            audit = audit_ledger(session, parallel_from=parallel_from)
        assert {(f.problem, f.seq) for f in audit.findings} >= {(Problem.EDITED, seq)}
        assert Problem.ROOT_MISMATCH in {f.problem for f in audit.findings}
        assert audit.events == 80


def test_drop_an_event(demo: Store) -> None:
    seqs = package_seqs(demo)
    seq = seqs["shipping"]
    with demo.session() as session:
        session.execute(delete(TraceLink).where(TraceLink.event_seq == seq))
        session.execute(delete(TraceEvent).where(TraceEvent.seq == seq))
    status, found = journey_status(demo)
    assert status == "tampered"
    assert (Problem.MISSING_EVENT, seqs["receiving"]) in found  # the event after the gap
    with demo.session() as session:
        audit = audit_ledger(session)
    assert {Problem.LEDGER_GAP, Problem.MISSING_EVENT, Problem.ROOT_MISMATCH} <= {
        f.problem for f in audit.findings
    }


def test_re_sign_with_the_wrong_key(demo: Store, settings: Settings) -> None:
    """An insider edits the grading event and re-signs it with the carrier's key."""
    seq = package_seqs(demo)["grading"]
    with demo.session() as session:
        row = session.get(TraceEvent, seq)
        assert row is not None
        event = json.loads(row.body)
        event["tea:grade"]["grade"] = "特级 Special (forged)"
        links = [
            Link(item["lot"], item["seq"], bytes.fromhex(item["prev"]) if item["prev"] else None)
            for item in event.pop("tea:chain")
        ]
        event.pop("tea:signer")
        carrier = signer_for(session, settings, "urn:epc:id:pgln:0614141.00003", datetime.now(UTC))
        forged = seal(
            event,
            links,
            type(carrier)(FACTORY, carrier.key_id, carrier.private_key),
            row.record_time,
        )
        row.body, row.digest, row.signature, row.key_id = (
            forged.body,
            forged.digest,
            forged.signature,
            forged.key_id,
        )
    status, found = journey_status(demo)
    assert status == "tampered"
    assert (Problem.WRONG_ORG, seq) in found
    assert (Problem.BROKEN_LINK, package_seqs(demo)["packaging"]) in found


def test_a_stolen_key_used_after_revocation_fails(store: Store, settings: Settings) -> None:
    t0 = datetime(2026, 5, 1, tzinfo=UTC)
    lot = "urn:epc:class:lgtin:0614141.020003.D2699"
    with store.session() as session:
        register_org(session, settings, FACTORY, "Factory", now=t0)
        record_event(
            session,
            settings,
            builders.grading(name="a", lot=lot, grade="A", conformant=True, at=t0, site=None),
            org=FACTORY,
            now=t0,
        )
        stolen = signer_for(session, settings, FACTORY, t0)
        replacement = revoke_key(
            session,
            settings,
            stolen.key_id,
            at=t0 + timedelta(hours=1),
            now=t0 + timedelta(hours=1),
        )
        assert replacement is not None  # the factory can go on signing
    with store.session() as session:
        head = session.scalar(select(TraceEvent.digest).where(TraceEvent.seq == 1))
        event = builders.grading(name="b", lot=lot, grade="S", conformant=True, at=t0, site=None)
        forged = seal(event, [Link(lot, 2, head)], stolen, t0 + timedelta(hours=2))
        append_verified(session, settings, [(forged, event)], now=t0 + timedelta(hours=2))
    with store.session() as session:
        report = verify_lot(session, lot)
        assert report is not None
        assert [(f.problem, f.seq) for f in report.findings] == [(Problem.KEY_REVOKED, 2)]
        assert report.steps[0].ok  # signed before the revocation: still valid


def test_private_keys_are_0600_files_and_can_be_encrypted(tmp_path: Path, store: Store) -> None:
    plain = Settings(data_dir=tmp_path / "plain")
    with store.session() as session:
        register_org(session, plain, FACTORY, "Factory")
        key_id = session.scalars(select(TraceKey.key_id)).one()
    path = keystore.keys_dir(plain) / f"{key_id}.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"BEGIN PRIVATE KEY" in path.read_bytes()
    path.chmod(0o644)
    with pytest.raises(keystore.KeyStoreError, match="readable by others"):
        keystore.load_key(plain, key_id)
    locked = Settings(data_dir=tmp_path / "locked", trace_key_passphrase=SecretStr("correct horse"))
    key_id, _ = keystore.create_key(locked)
    assert b"ENCRYPTED PRIVATE KEY" in (keystore.keys_dir(locked) / f"{key_id}.pem").read_bytes()
    assert keystore.load_key(locked, key_id) is not None
    wrong = Settings(data_dir=tmp_path / "locked", trace_key_passphrase=SecretStr("wrong"))
    with pytest.raises(keystore.KeyStoreError):
        keystore.load_key(wrong, key_id)


def test_recording_is_idempotent_and_conflicts_are_refused(
    store: Store, settings: Settings
) -> None:
    lot = "urn:epc:class:lgtin:0614141.020003.D2698"
    event = builders.grading(name="x", lot=lot, grade="A", conformant=True, at=SEASON, site=None)
    with store.session() as session:
        register_org(session, settings, FACTORY, "Factory")
        first = record_event(session, settings, event, org=FACTORY)
        again = record_event(session, settings, event, org=FACTORY)
        assert (again.created, again.seq, again.digest) == (False, first.seq, first.digest)
        with pytest.raises(Conflict):
            record_event(session, settings, {**event, "disposition": "non_conformant"}, org=FACTORY)
        with pytest.raises(EventError):
            record_event(
                session, settings, {**event, "eventID": "urn:uuid:1", "tea:chain": []}, org=FACTORY
            )
        unknown = builders.retail_sale(
            name="y", package="urn:epc:id:sgtin:0614141.020003.NOPE", at=SEASON, site=None
        )
        with pytest.raises(EventError, match="unknown EPC"):
            record_event(session, settings, unknown, org=FACTORY)


def test_days_are_sealed_and_chained(store: Store, settings: Settings) -> None:
    lot = "urn:epc:class:lgtin:0614141.020003.D2697"
    day1 = datetime(2026, 6, 1, 10, tzinfo=UTC)
    with store.session() as session:
        register_org(session, settings, FACTORY, "Factory", now=day1)
        for i, at in enumerate(
            [day1, day1 + timedelta(hours=1), day1 + timedelta(days=1), day1 + timedelta(days=3)]
        ):
            event = builders.grading(
                name=f"d{i}", lot=lot, grade="A", conformant=True, at=at, site=None
            )
            record_event(session, settings, event, org=FACTORY, now=at)
    with store.session() as session:
        checkpoints = session.scalars(select(TraceCheckpoint).order_by(TraceCheckpoint.day)).all()
        assert [(c.day.isoformat(), c.first_seq, c.last_seq) for c in checkpoints] == [
            ("2026-06-01", 1, 2),
            ("2026-06-02", 3, 3),
        ]
        assert seal_days(session, settings, now=day1 + timedelta(days=3, hours=1)) == []  # day open
        assert len(seal_days(session, settings, now=day1 + timedelta(days=4))) == 1
        assert audit_ledger(session).ok


def test_export_and_import_round_trip_and_tampered_documents_are_rejected(
    demo: Store, settings: Settings, tmp_path: Path
) -> None:
    with demo.session() as session:
        lot = verify_package(session, demo_code(), 10).lot
        assert lot is not None
        doc = export_document(session, [lot.lot])
    events = doc["epcisBody"]["eventList"]
    assert len(events) == 8 and all("tea:proof" in e for e in events)
    other_settings = Settings(data_dir=tmp_path / "other")
    other = Store(f"sqlite:///{tmp_path / 'other.db'}")
    upgrade(other.engine)
    try:
        with other.session() as session:  # unknown keys are not trusted by default
            report = import_document(session, other_settings, doc)
            assert not report.ok and {f.problem for f in report.findings} == {Problem.UNKNOWN_KEY}
        tampered = json.loads(json.dumps(doc))
        tampered["epcisBody"]["eventList"][2]["tea:grade"]["grade"] = "forged"
        with other.session() as session:
            report = import_document(session, other_settings, tampered, trust_keys=True)
            assert [(f.problem, f.event_id) for f in report.findings] == [
                (Problem.EDITED, events[2]["eventID"]),
                (Problem.BAD_SIGNATURE, events[2]["eventID"]),
            ]
        gap = json.loads(json.dumps(doc))
        del gap["epcisBody"]["eventList"][0]
        with other.session() as session:
            report = import_document(session, other_settings, gap, trust_keys=True)
            assert {f.problem for f in report.findings} == {Problem.BROKEN_LINK}
            assert session.scalar(select(TraceEvent.seq).limit(1)) is None  # all or nothing
        with other.session() as session:
            report = import_document(session, other_settings, doc, trust_keys=True)
            assert (report.ok, report.imported) == (True, 8)
        with other.session() as session:
            again = import_document(session, other_settings, doc)
            assert (again.ok, again.already_present) == (True, 8)
            imported = verify_lot(session, lot.lot)
            assert imported is not None and imported.status == "verified"
            assert session.get(TracePackage, demo_code()) is not None
    finally:
        other.dispose()


def test_scans_from_two_places_flag_a_copied_code(demo: Store) -> None:
    now = datetime.now(UTC)
    with demo.session() as session:
        log_scan(session, demo_code(), "203.0.113.0/24", "iPhone", now)
        assert verify_package(session, demo_code(), 10).status == "verified"
        log_scan(session, demo_code(), "198.51.100.0/24", "Android", now)
        report = verify_package(session, demo_code(), 10)
        assert report.status == "counterfeit_suspected" and report.scans.places == 2


def test_hooks_record_processing_and_grading(store: Store, settings: Settings) -> None:
    finished = datetime(2026, 4, 20, 8, tzinfo=UTC)
    batch = {
        "batch_id": "B-42",
        "tea_type": "dark",
        "recipe": "anhua-dark",
        "finished_at": finished,
        "inputs": [{"lot": "L42", "quantity_kg": 200.0}],
        "output": {"lot": "D42", "quantity_kg": 46.0},
    }
    with store.session() as session:
        made = record_processing_batch(session, settings, batch)
        assert made.lots == (
            "urn:epc:class:lgtin:0614141.010003.L42",
            "urn:epc:class:lgtin:0614141.020003.D42",
        )
        assert record_processing_batch(session, settings, batch).created is False
        graded = record_grading_result(
            session,
            settings,
            {
                "result_id": "G-7",
                "lot": "D42",
                "tea_type": "dark",
                "grade": "一级",
                "graded_at": finished + timedelta(hours=3),
                "score": 91.5,
            },
        )
        assert graded.lots == ("urn:epc:class:lgtin:0614141.020003.D42",)
        with pytest.raises(EventError):
            record_processing_batch(session, settings, {"batch_id": "B-43"})
    with store.session() as session:
        report = verify_lot(session, "urn:epc:class:lgtin:0614141.020003.D42")
        assert report is not None and report.status == "verified"
        assert [s.stage for s in report.steps] == ["processing", "grading"]
        assert report.lots[1] == "urn:epc:class:lgtin:0614141.010003.L42"
