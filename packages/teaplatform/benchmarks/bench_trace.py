"""Benchmark: the traceability ledger (goals: sign ≥ 5,000 events/s; verify a 1,000,000-event
chain in ≤ 10 s).

Data: SYNTHETIC grading events (EPCIS 2.0 ObjectEvents of the demo's shape, ~900 bytes signed)
over `--lots` lots and `--days` ledger days, in a SQLite file under /tmp.

Figures:

* sign — `ledger.seal` alone: RFC 8785 canonical bytes, SHA-256, Ed25519 signature (1 core);
* record — `service.record_events` into SQLite in batches of 5,000: validation, lot derivation,
  chain heads, signing, inserts, one commit per batch (this builds the big ledger);
* audit (fast) — `audit.audit_ledger` over the whole ledger: every event re-hashed, every chain
  link checked, every day's Merkle root recomputed and its checkpoint signature verified
  (Ed25519 per event only for the last, unsealed day);
* audit in memory — the same pure pass (`verify.audit`) on rows already in memory, to show
  what the database read costs;
* audit with every signature — also every event's Ed25519 signature, on `--workers` processes;
* one package's page — `journey.verify_package` of one lot (all its events, proofs).

    nice .venv/bin/python packages/teaplatform/benchmarks/bench_trace.py [--events 1000000]
        [--lots 1000] [--days 100] [--repeats 3] [--workers 2] [--reuse] [--json]
"""

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from teaplatform.settings import Settings
from teaplatform.store.db import Store
from teaplatform.store.migrate import upgrade
from teaplatform.trace import builders
from teaplatform.trace.audit import audit_ledger
from teaplatform.trace.journey import verify_lot
from teaplatform.trace.ledger import Link, seal
from teaplatform.trace.service import checkpoint_of, keyring, record_events, register_org, seal_days
from teaplatform.trace.signing import Signer, key_id_of, raw_public
from teaplatform.trace.tables import TraceCheckpoint, TraceEvent, TraceLink, TraceLot
from teaplatform.trace.verify import StoredEvent, StoredLink, audit

ORG = "urn:epc:id:pgln:0614141.00002"
START = datetime(2026, 1, 1, 1, tzinfo=UTC)
SIGN_GOAL = 5_000.0
VERIFY_GOAL = 10.0
BATCH = 5_000


def lot_of(i: int, lots: int) -> str:
    return f"urn:epc:class:lgtin:0614141.020003.B{i % lots:05d}"


def event(i: int, lots: int, at: datetime) -> dict[str, Any]:
    return builders.grading(
        name=f"bench:{i}",
        lot=lot_of(i, lots),
        grade="一级 Grade 1",
        conformant=True,
        at=at,
        site="urn:epc:id:sgln:0614141.20001.0",
        details={"score": 90.5, "method": "panel + image model", "samples": 12},
    )


def bench_sign(n: int) -> tuple[float, float]:
    """Events signed per wall second and per CPU second."""
    key = Ed25519PrivateKey.generate()
    signer = Signer(ORG, key_id_of(raw_public(key)), key)
    events = [event(i, 100, START) for i in range(n)]
    prev: bytes | None = None
    t0, c0 = time.perf_counter(), _cpu()
    for i, item in enumerate(events):
        prev = seal(item, [Link(lot_of(i, 100), i // 100 + 1, prev)], signer, START).digest
    return n / (time.perf_counter() - t0), n / (_cpu() - c0)


def build(store: Store, settings: Settings, n: int, lots: int, days: int) -> float:
    """Record n events over `days` ledger days; returns events/s of the record path."""
    per_day = -(-n // days)
    with store.session() as session:
        register_org(session, settings, ORG, "Benchmark factory (SYNTHETIC)", now=START)
    t0 = time.perf_counter()
    for first in range(0, n, BATCH):
        day = START + timedelta(days=first // per_day)
        batch = [event(i, lots, day) for i in range(first, min(first + BATCH, n))]
        with store.session() as session:
            record_events(
                session, settings, batch, org=ORG, now=day + timedelta(seconds=first % per_day)
            )
        if first % 100_000 == 0:
            print(f"  recorded {first + len(batch):,} events", file=sys.stderr, flush=True)
    elapsed = time.perf_counter() - t0
    with store.session() as session:
        seal_days(session, settings, now=START + timedelta(days=days + 1))
    return n / elapsed


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the machine is shared: wall
    time also counts waiting for a core)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def measure(fn: Callable[[], Any], repeats: int) -> tuple[list[float], list[float], Any]:
    """(wall seconds, CPU seconds) of `repeats` calls, and the last result."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), _cpu()
        result = fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(_cpu() - c0)
    return walls, cpus, result


def in_memory_audit(store: Store) -> Callable[[], Any]:
    with store.session() as session:
        rows = session.execute(
            select(TraceEvent.seq, TraceEvent.body, TraceEvent.digest).order_by(TraceEvent.seq)
        ).all()
        links = [
            StoredLink(*r)
            for r in session.execute(
                select(TraceLink.lot, TraceLink.seq, TraceLink.event_seq, TraceLink.prev).order_by(
                    TraceLink.event_seq, TraceLink.lot
                )
            )
        ]
        heads = {
            lot: (seq, digest)
            for lot, seq, digest in session.execute(
                select(TraceLot.lot, TraceLot.head_seq, TraceLot.head_digest)
            )
        }
        checkpoints = [
            checkpoint_of(c)
            for c in session.scalars(select(TraceCheckpoint).order_by(TraceCheckpoint.day))
        ]
        keys = keyring(session)
    events = [(seq, body, digest) for seq, body, digest in rows]

    def load(first: int, last: int) -> list[StoredEvent]:
        raise AssertionError("a clean, fully sealed ledger needs no per-event verification")

    return lambda: audit(iter(events), iter(links), heads, checkpoints, keys, load_events=load)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--lots", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sign-events", type=int, default=20_000)
    parser.add_argument("--reuse", action="store_true", help="keep/reuse the ledger in /tmp")
    parser.add_argument("--skip-signatures", action="store_true", help="skip the slow full audit")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    results: list[dict[str, Any]] = []

    def add(
        figure: str,
        goal: str,
        runs: list[float],
        unit: str,
        met: bool | None,
        *,
        cpu: list[float] | None = None,
    ) -> None:
        results.append(
            {
                "figure": figure,
                "goal": goal,
                "median": statistics.median(runs),
                "runs": runs,
                "unit": unit,
                "met": met,
                "cpu_s": statistics.median(cpu) if cpu else None,
                "load": os.getloadavg()[0],
            }
        )
        print(f"  {figure}: {statistics.median(runs):,.2f} {unit}", file=sys.stderr, flush=True)

    signing = [bench_sign(args.sign_events) for _ in range(args.repeats)]
    for label, values in (("wall", [w for w, _ in signing]), ("CPU", [c for _, c in signing])):
        add(
            f"sign (canonicalise + SHA-256 + Ed25519), 1 process, per {label} second",
            f"≥ {SIGN_GOAL:,.0f} events/s",
            values,
            "ev/s",
            statistics.median(values) >= SIGN_GOAL,
        )

    folder = (
        Path(tempfile.gettempdir())
        / f"teaplatform-bench-trace-{args.events}-{args.lots}-{args.days}"
    )
    settings = Settings(data_dir=folder)
    fresh = not (args.reuse and (folder / "teaplatform.db").exists())
    if fresh and folder.exists():
        for path in sorted(folder.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    folder.mkdir(parents=True, exist_ok=True)
    upgrade(settings.url)
    store = Store(settings.url)
    try:
        if fresh:
            rate = build(store, settings, args.events, args.lots, args.days)
            add(
                "record into SQLite (validate, chain, sign, insert)",
                "report",
                [rate],
                "events/s",
                None,
            )
        with store.session() as session:
            size = session.scalar(select(func.count()).select_from(TraceEvent)) or 0
        with store.session() as session:
            walls, cpus, report = measure(lambda: audit_ledger(session), args.repeats)
        assert report.ok and report.events == size, report.findings[:3]
        add(
            f"audit {size:,} events from SQLite: hashes, chains, day roots",
            f"≤ {VERIFY_GOAL:.0f} s",
            walls,
            "s",
            statistics.median(walls) <= VERIFY_GOAL,
            cpu=cpus,
        )
        walls, cpus, report = measure(in_memory_audit(store), args.repeats)
        assert report.ok
        add(
            f"same pass on {size:,} events already in memory",
            f"≤ {VERIFY_GOAL:.0f} s",
            walls,
            "s",
            statistics.median(walls) <= VERIFY_GOAL,
            cpu=cpus,
        )
        with store.session() as session:
            lot = session.scalar(select(TraceLot.lot).limit(1))
            assert lot is not None
            walls, cpus, journey = measure(lambda: verify_lot(session, lot), args.repeats)
        assert journey is not None and journey.status == "verified"
        add(
            f"one lot's journey ({len(journey.steps):,} events over {args.days} days), proofs",
            "report",
            [w * 1000 for w in walls],
            "ms",
            None,
            cpu=cpus,
        )
        if not args.skip_signatures:
            with store.session() as session:
                walls, cpus, report = measure(
                    lambda: audit_ledger(session, signatures=True, workers=args.workers), 1
                )
            assert report.ok and report.events_signature_checked == size
            add(
                f"audit with every Ed25519 signature, {args.workers} processes",
                "report (not the 10 s goal)",
                walls,
                "s",
                None,
                cpu=cpus,
            )
    finally:
        store.dispose()
    if args.json:
        print(
            json.dumps(
                {
                    "events": args.events,
                    "lots": args.lots,
                    "days": args.days,
                    "cpus": os.cpu_count(),
                    "results": results,
                },
                indent=2,
            )
        )
        return 0
    print(
        f"\n{args.events:,} SYNTHETIC events, {args.lots:,} lots, {args.days} days; median of {args.repeats} runs; {os.cpu_count()} CPUs\n"
    )
    print(f"| {'figure':<66} | {'goal':<26} | {'measured':>16} | {'CPU s':>7} | load |")
    print(f"|{'-' * 68}|{'-' * 28}|{'-' * 18}|{'-' * 9}|------|")
    for r in results:
        flag = "" if r["met"] in (True, None) else " (below goal)"
        cpu = f"{r['cpu_s']:.2f}" if r["cpu_s"] is not None else ""
        print(
            f"| {r['figure']:<66} | {r['goal']:<26} | {r['median']:>10,.2f} {r['unit']:<5} "
            f"| {cpu:>7} | {r['load']:.1f} |{flag}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
