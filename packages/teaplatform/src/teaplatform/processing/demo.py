"""Demo batches for `make up`: one SYNTHETIC batch per tea, with SYNTHETIC telemetry.

Everything here is made up and labelled so (device names, batch notes, the ``DEMO-`` codes):
each batch gets its own processing line, and telemetry near each range's typical value (plus
seeded noise) goes in through the garden ingestion, so alarms and records come out of the same
code paths as live data. Two deliberate deviations show the alarms: the black tea's leaf runs
hot for a while in fermentation (resolved), and the dark tea's pile overheats (resolved after
turning). The black batch is still fermenting, with its humidity sagging right now (open).
Four batches finished an hour ago.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import select

from teaplatform.garden import catalog
from teaplatform.garden.ingest import ingest
from teaplatform.garden.readings import QUANTITIES, Reading, check
from teaplatform.processing import service
from teaplatform.processing.recipe import Range, Recipe, builtin
from teaplatform.processing.service import BatchCreate
from teaplatform.processing.tables import BatchRow
from teaplatform.settings import Settings
from teaplatform.store.db import Store

PREFIX = "DEMO-"
SEED = 20241001
POINTS_PER_STAGE = 48  # readings per quantity and stage (at least one a minute)
LIVE = "black"  # the batch still running


@dataclass(frozen=True, slots=True)
class Excursion:
    stage: str
    quantity: str
    value: float
    start_frac: float  # where in the stage it starts (share of the stage)
    minutes: float


EXCURSIONS = {
    "black": [
        Excursion("fermentation", "leaf_temperature", 31.6, 0.25, 9),
        Excursion("fermentation", "humidity", 84.0, 0.68, 60),  # ongoing at "now" (0.75)
    ],
    "dark": [Excursion("pile-fermentation", "pile_temperature", 47.5, 0.6, 40)],
}


def _typical(rng: Range) -> float:
    if rng.typical is not None:
        return rng.typical
    if rng.low is not None and rng.high is not None:
        return (rng.low + rng.high) / 2
    return rng.low + 2 if rng.low is not None else (rng.high or 0) - 3


def _series(
    recipe: Recipe, index: int, start: datetime, minutes: float, rng: np.random.Generator
) -> Iterator[tuple[str, datetime, float]]:
    """(quantity, ts, value) of one stage: ranges throughout, targets at the end."""
    stage = recipe.stage(index)
    step = max(minutes / POINTS_PER_STAGE, 1.0)
    times = [start + timedelta(minutes=m) for m in np.arange(0, minutes, step)]
    watched = dict(stage.ranges)
    if stage.oxidation and "leaf_temperature" not in watched and recipe.fermentation:
        watched["leaf_temperature"] = Range(low=20, high=35, typical=26, source="demo")
    for quantity, r in watched.items():
        spans = [
            (start + timedelta(minutes=minutes * e.start_frac), e)
            for e in EXCURSIONS.get(recipe.tea_type, [])
            if e.stage == stage.key and e.quantity == quantity
        ]
        width = ((r.high or _typical(r) + 5) - (r.low or _typical(r) - 5)) / 12
        for i, ts in enumerate(times):
            if any(b <= ts < b + timedelta(minutes=e.minutes) for b, e in spans):
                continue  # the excursion replaces the normal readings
            value = _typical(r) + float(rng.normal(0, width))
            if r.low is not None:
                value = max(value, r.low + width / 4)
            if r.high is not None:
                value = min(value, r.high - width / 4)
            if quantity == "pile_temperature":  # a pile heats itself
                low = r.low or 20.0
                value = low + (_typical(r) - low) * min(1.0, 1.5 * i / len(times))
            yield quantity, ts, value
        for begin, excursion in spans:
            for m in range(int(excursion.minutes)):
                yield quantity, begin + timedelta(minutes=m, seconds=30), excursion.value
    for quantity, r in stage.targets.items():
        yield quantity, start + timedelta(minutes=minutes - 1), _typical(r)


def _readings(
    device: str, rows: Iterator[tuple[str, datetime, float]], now: datetime
) -> list[Reading]:
    out: list[Reading] = []
    for quantity, ts, value in rows:
        if ts > now:
            continue
        made = check(device, quantity, ts, round(value, 2), QUANTITIES[quantity].unit)
        if isinstance(made, Reading):
            out.append(made)
    return sorted(out, key=lambda r: r.ts)


def _plots_by_tea(store: Store) -> dict[str, int]:
    with store.session() as session:
        return {p.tea_type: p.id for p in catalog.list_plots(session)}


def seed_demo(settings: Settings, store: Store) -> str:
    """Create the SYNTHETIC demo batches (idempotent)."""
    with store.session() as session:
        if session.scalar(select(BatchRow.id).where(BatchRow.code.startswith(PREFIX))):
            return "SYNTHETIC demo batches: present already"
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    rng = np.random.default_rng(SEED)
    plots = _plots_by_tea(store)
    total = 0
    for recipe in builtin().values():
        total += _seed_batch(store, recipe, plots.get(recipe.tea_type), now, rng)
    with store.session() as session:
        alarms = service.list_alarms(session)
        open_now = sum(a.state != "resolved" for a in alarms)
    return (
        f"{len(builtin())} SYNTHETIC batches (1 running), {total} SYNTHETIC readings, "
        f"{len(alarms)} alarms ({open_now} open)"
    )


def _seed_batch(
    store: Store, recipe: Recipe, plot_id: int | None, now: datetime, rng: np.random.Generator
) -> int:
    device = f"demo-line-{recipe.tea_type}"
    live = recipe.tea_type == LIVE
    minutes = [s.duration.typical_min for s in recipe.stages]
    if live:  # 3/4 into fermentation now
        index = next(i for i, s in enumerate(recipe.stages) if s.key == "fermentation")
        start = now - timedelta(minutes=sum(minutes[:index]) + 0.75 * minutes[index])
        minutes = minutes[: index + 1]
    else:
        start = now - timedelta(hours=1, minutes=sum(minutes))
    with store.session() as session:
        catalog.create_device(
            session,
            catalog.DeviceCreate(
                key=device,
                name=f"SYNTHETIC {recipe.tea_type} line sensors",
                kind=catalog.DeviceKind.PROCESSING,
                line=f"SYNTHETIC demo line ({recipe.name_zh})",
            ),
        )
        spec = BatchCreate(
            recipe=recipe.name,
            code=f"{PREFIX}{recipe.tea_type}",
            device=device,
            plot_id=plot_id,
            picked_on=start.date(),
            leaf_kg=float(round(rng.uniform(40, 120))),
            note="SYNTHETIC demo batch: made-up telemetry",
        )
        batch_id = service.create_batch(session, spec, start).id
        service.start_batch(session, batch_id, start)
    stored = 0
    at = start
    for index, length in enumerate(minutes):
        rows = _readings(device, _series(recipe, index, at, length, rng), now)
        with store.session() as session:
            stored += ingest(session, rows, source="demo", now=now).stored
            at += timedelta(minutes=length)
            if not (live and index == len(minutes) - 1):
                service.advance_batch(session, batch_id, at)
    return stored
