"""Benchmark: batch telemetry through the ingestion, deviation alarms, batch records.

Data: SYNTHETIC telemetry (there is no public processing-line data set): `--batches` black-tea
batches in fermentation, one device each, reporting leaf temperature and humidity every 10 s
for `--minutes`. Into each batch's leaf temperature go 3 sustained excursions (10 min at
32 °C: each must open exactly one alarm) and 40 single-reading spikes (35 °C: none may).

Medians of `--repeats` runs, each on fresh databases.

* the processing consumer alone (`telemetry.consume` on chunks of 5,000 readings) — goal
  ≥ 20,000 readings/s, the platform's ingest goal, so that following batches is never the
  bottleneck;
* ingestion end to end with the consumer (`ingest`: store, garden rules, batch watches), in
  chunks of 5,000 — goal ≥ 20,000 readings/s; the same readings with the batches not running
  (consumer idle) for reference: the difference is what following the batches costs;
* alarms opened vs expected (de-duplication, spike suppression);
* the batch record of one batch (all its readings summarised) — goal ≤ 500 ms.

On SQLite (WAL, a file under /tmp); ``--postgres`` adds a private PostgreSQL on 127.0.0.1.

    .venv/bin/python packages/teaplatform/benchmarks/bench_processing.py [--batches 20] [--minutes 240] [--repeats 3] [--postgres] [--json]
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from teaplatform.garden import catalog
from teaplatform.garden.ingest import ingest
from teaplatform.garden.readings import Reading
from teaplatform.processing import service
from teaplatform.processing.service import BatchCreate
from teaplatform.processing.telemetry import consume
from teaplatform.store.db import Store
from teaplatform.store.migrate import upgrade

GOAL = 20_000.0
CHUNK = 5_000
STEP_S = 10
EXCURSIONS = 3
SPIKES = 40
T0 = datetime(2024, 10, 1, 6, tzinfo=UTC)
FERMENTATION_AT = T0 + timedelta(minutes=680)


def telemetry(devices: list[str], minutes: int) -> list[Reading]:
    """Leaf temperature and humidity of every device, time-ordered, with the injected faults."""
    steps = minutes * 60 // STEP_S
    excursion_starts = {int(steps * (k + 1) / (EXCURSIONS + 1)) for k in range(EXCURSIONS)}
    hot = {s + i for s in excursion_starts for i in range(600 // STEP_S)}
    spikes = {int(steps * (k + 0.5) / SPIKES) for k in range(SPIKES)} - hot
    out: list[Reading] = []
    for step in range(steps):
        ts = FERMENTATION_AT + timedelta(seconds=step * STEP_S)
        leaf = 32.0 if step in hot else 35.0 if step in spikes else 27.0 + (step % 7) * 0.1
        for device in devices:
            out.append(Reading(device, "leaf_temperature", ts, leaf, "°C"))
            out.append(Reading(device, "humidity", ts, 94.0 + (step % 5) * 0.5, "%"))
    return out


def setup(store: Store, count: int, *, running: bool) -> list[int]:
    ids: list[int] = []
    with store.session() as session:
        for i in range(count):
            key = f"bench-{i:03d}"
            catalog.create_device(
                session,
                catalog.DeviceCreate(
                    key=key, kind=catalog.DeviceKind.PROCESSING, line=f"SYNTHETIC line {i}"
                ),
            )
            batch = service.create_batch(session, BatchCreate(recipe="hunan-black", device=key), T0)
            ids.append(batch.id)
            if running:
                service.start_batch(session, batch.id, T0)
                service.advance_batch(session, batch.id, T0 + timedelta(minutes=600))
                service.advance_batch(session, batch.id, FERMENTATION_AT)
    return ids


def run_consume(store: Store, readings: list[Reading]) -> float:
    """The processing consumer alone, on the same chunks (readings/s)."""
    start = time.perf_counter()
    for i in range(0, len(readings), CHUNK):
        with store.session() as session:
            consume(session, readings[i : i + CHUNK])
    return len(readings) / (time.perf_counter() - start)


def run_ingest(store: Store, readings: list[Reading]) -> float:
    start = time.perf_counter()
    now = datetime.now(UTC)
    for i in range(0, len(readings), CHUNK):
        with store.session() as session:
            ingest(session, readings[i : i + CHUNK], source="bench", now=now)
    return len(readings) / (time.perf_counter() - start)


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    from testkit.postgres import create_database, running_postgres

    with running_postgres(database="bench") as server:
        yield create_database(server, "bench_processing")


def measure(kind: str, batches: int, minutes: int, repeats: int) -> dict[str, Any]:
    """Medians over `repeats` fresh databases."""
    runs = [measure_once(kind, batches, minutes) for _ in range(repeats)]
    out = dict(runs[0])
    for key in ("consumer_per_s", "with_batches_per_s", "batches_idle_per_s", "record_ms"):
        out[key] = statistics.median(r[key] for r in runs)
        out[f"{key}_runs"] = [round(r[key], 1) for r in runs]
    out["alarms"] = (
        max(r["alarms"] for r in runs)
        if any(r["alarms"] != r["alarms_expected"] for r in runs)
        else runs[0]["alarms"]
    )
    return out


def measure_once(kind: str, batches: int, minutes: int) -> dict[str, Any]:
    devices = [f"bench-{i:03d}" for i in range(batches)]
    readings = telemetry(devices, minutes)
    result: dict[str, Any] = {"db": kind, "readings": len(readings)}
    with database(kind) as url:
        upgrade(url)
        store = Store(url)
        try:
            setup(store, batches, running=True)
            result["consumer_per_s"] = run_consume(store, readings)
        finally:
            store.dispose()
    for running in (True, False):
        with database(kind) as url:
            upgrade(url)
            store = Store(url)
            try:
                ids = setup(store, batches, running=running)
                rate = run_ingest(store, readings)
                key = "with_batches" if running else "batches_idle"
                result[f"{key}_per_s"] = rate
                if running:
                    with store.session() as session:
                        alarms = service.list_alarms(session)
                        result["alarms"] = len(alarms)
                        result["alarms_expected"] = EXCURSIONS * batches
                        end = FERMENTATION_AT + timedelta(minutes=minutes)
                        times = []
                        for _ in range(5):
                            t = time.perf_counter()
                            service.batch_record(session, ids[0], end)
                            times.append(time.perf_counter() - t)
                        result["record_ms"] = statistics.median(times) * 1000
            finally:
                store.dispose()
        print(f"  {kind} running={running}: done", file=sys.stderr, flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--minutes", type=int, default=240)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kinds = ("sqlite", "postgresql")[: 1 + args.postgres]
    results = [measure(k, args.batches, args.minutes, args.repeats) for k in kinds]
    ok = all(
        r["consumer_per_s"] >= GOAL
        and r["with_batches_per_s"] >= GOAL
        and r["alarms"] == r["alarms_expected"]
        and r["record_ms"] <= 500
        for r in results
    )
    if args.json:
        print(json.dumps(results, indent=2))
        return 0 if ok else 1
    print(f"| {'figure':<66} | {'goal':<16} | {'measured':>16} |")
    print(f"|{'-' * 68}|{'-' * 18}|{'-' * 18}|")
    for r in results:
        n = f"{r['readings']:,}"
        rows = [
            (
                f"{r['db']}: processing consumer alone, {args.batches} running batches",
                f"≥ {GOAL:,.0f} /s",
                f"{r['consumer_per_s']:,.0f} /s",
            ),
            (
                f"{r['db']}: ingest + {args.batches} running batches ({n} SYNTHETIC readings)",
                f"≥ {GOAL:,.0f} /s",
                f"{r['with_batches_per_s']:,.0f} /s",
            ),
            (
                f"{r['db']}: same readings, batches not running (reference)",
                "report",
                f"{r['batches_idle_per_s']:,.0f} /s",
            ),
            (
                f"{r['db']}: alarms opened ({EXCURSIONS} excursions + {SPIKES} spikes per batch)",
                f"= {r['alarms_expected']}",
                str(r["alarms"]),
            ),
            (f"{r['db']}: batch record of one batch", "≤ 500 ms", f"{r['record_ms']:,.1f} ms"),
        ]
        for figure, goal, measured in rows:
            print(f"| {figure:<66} | {goal:<16} | {measured:>16} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
