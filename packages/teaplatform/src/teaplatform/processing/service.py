"""Processing use cases on the store, shared by the API, the CLI, telemetry and the worker.

Every function works inside the caller's unit of work (a `Session`) and takes the time it
acts at as an argument: the API passes the wall clock, telemetry the readings' own time, so
that a batch's timeline and its alarms carry data time.
"""

import importlib.util
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from teaplatform.garden import catalog
from teaplatform.garden.readings import QUANTITIES
from teaplatform.garden.repository import readings_between
from teaplatform.processing import fermentation as kinetics
from teaplatform.processing.batch import (
    BatchState,
    EndedBy,
    Transition,
    TransitionError,
    due_transitions,
    next_stage,
    require,
)
from teaplatform.processing.deviation import (
    EMPTY,
    AlarmOpened,
    AlarmResolved,
    Direction,
    Event,
    Watch,
    observe,
    overrun,
)
from teaplatform.processing.recipe import Range, Recipe, RecipeError, Stage, get_recipe
from teaplatform.processing.record import Series, StageRun, build_record
from teaplatform.processing.tables import AlarmRow, BatchRow, StageRunRow, WatchRow
from teaplatform.settings import Settings

log = logging.getLogger(__name__)
DURATION = "duration"  # the alarm "quantity" of a stage overrun
LEAF_TEMPERATURE = "leaf_temperature"


class BatchNotFoundError(LookupError):
    pass


class BatchInputError(ValueError):
    """The request names something that does not exist or does not fit."""


class AlarmState:
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class BatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipe: str
    code: str | None = Field(default=None, min_length=1, max_length=64)
    device: str | None = Field(default=None, description="processing device key (telemetry)")
    plot_id: int | None = Field(default=None, description="plot the leaf was picked from")
    picked_on: date | None = None
    leaf_kg: float | None = Field(default=None, gt=0)
    auto_advance: bool = Field(default=False, description="advance at each typical duration")
    note: str = ""


def _recipe(name: str) -> Recipe:
    try:
        return get_recipe(name)
    except RecipeError as exc:
        raise BatchInputError(str(exc)) from exc


def _check_device(session: Session, key: str) -> None:
    try:
        device = catalog.get_device(session, key)
    except catalog.NotFoundError as exc:
        raise BatchInputError(str(exc)) from exc
    if device.kind != catalog.DeviceKind.PROCESSING.value:
        raise BatchInputError(f"device {key!r} is a {device.kind} device, not a processing one")


def _device_busy(session: Session, key: str, batch_id: int) -> None:
    other = session.scalar(
        select(BatchRow.code).where(
            BatchRow.device_key == key,
            BatchRow.state == BatchState.RUNNING.value,
            BatchRow.id != batch_id,
        )
    )
    if other is not None:
        raise TransitionError(f"device {key!r} is running batch {other} already")


def create_batch(session: Session, spec: BatchCreate, now: datetime) -> BatchRow:
    recipe = _recipe(spec.recipe)
    if spec.device is not None:
        _check_device(session, spec.device)
    if spec.plot_id is not None:
        try:
            catalog.get_plot(session, spec.plot_id)
        except catalog.NotFoundError as exc:
            raise BatchInputError(str(exc)) from exc
    if spec.code and session.scalar(select(BatchRow.id).where(BatchRow.code == spec.code)):
        raise TransitionError(f"batch code {spec.code!r} is taken")
    row = BatchRow(
        code=spec.code or f"tmp-{uuid.uuid4().hex}",
        recipe=recipe.name,
        tea_type=recipe.tea_type,
        state=BatchState.PLANNED.value,
        device_key=spec.device,
        plot_id=spec.plot_id,
        picked_on=spec.picked_on.isoformat() if spec.picked_on else None,
        leaf_kg=spec.leaf_kg,
        auto_advance=spec.auto_advance,
        created_at=now,
        note=spec.note,
    )
    session.add(row)
    session.flush()
    if spec.code is None:
        row.code = f"{recipe.tea_type}-{row.id:05d}"
    return row


def get_batch(session: Session, batch_id: int) -> BatchRow:
    row = session.get(BatchRow, batch_id)
    if row is None:
        raise BatchNotFoundError(f"no batch {batch_id}")
    return row


def list_batches(session: Session, state: BatchState | None = None) -> list[BatchRow]:
    query = select(BatchRow).order_by(BatchRow.id)
    if state is not None:
        query = query.where(BatchRow.state == state.value)
    return list(session.scalars(query))


def stage_runs(session: Session, batch_id: int) -> list[StageRunRow]:
    query = select(StageRunRow).where(StageRunRow.batch_id == batch_id)
    return list(session.scalars(query.order_by(StageRunRow.stage_index)))


def list_alarms(
    session: Session, *, batch_id: int | None = None, active: bool | None = None
) -> list[AlarmRow]:
    query = select(AlarmRow).order_by(AlarmRow.id)
    if batch_id is not None:
        query = query.where(AlarmRow.batch_id == batch_id)
    if active is True:
        query = query.where(AlarmRow.state != AlarmState.RESOLVED)
    elif active is False:
        query = query.where(AlarmRow.state == AlarmState.RESOLVED)
    return list(session.scalars(query))


def acknowledge_alarm(session: Session, alarm_id: int, by: str, now: datetime) -> AlarmRow:
    alarm = session.get(AlarmRow, alarm_id)
    if alarm is None:
        raise BatchNotFoundError(f"no alarm {alarm_id}")
    if alarm.state == AlarmState.OPEN:
        alarm.state = AlarmState.ACKNOWLEDGED
        alarm.acknowledged_at, alarm.acknowledged_by = now, by
    return alarm


@dataclass
class LiveBatch:
    """A batch with what changing it needs: its recipe, watches and active alarms.

    Telemetry updates the watches in memory (`observe` runs per reading: it stays cheap) and
    `save` writes them back once per batch of readings.
    """

    session: Session
    row: BatchRow
    recipe: Recipe
    watches: dict[str, WatchRow] = field(default_factory=dict)  # stored watch rows
    alarms: dict[str, AlarmRow] = field(default_factory=dict)  # active, by quantity
    states: dict[str, Watch] = field(default_factory=dict)  # current watch states
    changed: set[str] = field(default_factory=set)  # states not yet saved
    due: datetime | None = None  # next time the clock has something to do (None: nothing)
    # the current stage's watched quantities: range, sustain, clear (refreshed per stage)
    watched: dict[str, tuple[Range, timedelta, timedelta]] = field(default_factory=dict)
    started: datetime | None = None  # when the current stage began

    @classmethod
    def load(cls, session: Session, row: BatchRow) -> "LiveBatch":
        return cls.load_many(session, [row])[0]

    @classmethod
    def load_many(cls, session: Session, rows: list[BatchRow]) -> list["LiveBatch"]:
        """Several batches with two queries (telemetry touches many at once)."""
        batches = {row.id: cls(session, row, _recipe(row.recipe)) for row in rows}
        ids = list(batches)
        for watch in session.scalars(select(WatchRow).where(WatchRow.batch_id.in_(ids))):
            batches[watch.batch_id].watches[watch.quantity] = watch
            batches[watch.batch_id].states[watch.quantity] = _watch(watch)
        active = select(AlarmRow).where(
            AlarmRow.batch_id.in_(ids), AlarmRow.state != AlarmState.RESOLVED
        )
        for alarm in session.scalars(active):
            batches[alarm.batch_id].alarms[alarm.quantity] = alarm
        for live in batches.values():
            live._refresh()
        return list(batches.values())

    def _refresh(self) -> None:
        """Recompute what depends on the current stage (after any change of stage)."""
        self.due = self._next_due()
        self.watched = {}
        self.started = self.row.stage_started_at
        if self.running:
            clear = timedelta(seconds=self.recipe.alarm.clear_s)
            for quantity, rng in self.stage.ranges.items():
                sustain = timedelta(seconds=rng.sustain_s or self.recipe.alarm.sustain_s)
                self.watched[quantity] = (rng, sustain, clear)

    def _next_due(self) -> datetime | None:
        """When an auto-advance or an overrun alarm falls due in the current stage."""
        if not self.running or self.row.stage_started_at is None:
            return None
        duration = self.stage.duration
        times = []
        if self.row.auto_advance:
            times.append(self.row.stage_started_at + timedelta(minutes=duration.typical_min))
        if DURATION not in self.alarms:
            # overrun() needs strictly longer than the maximum
            times.append(self.row.stage_started_at + timedelta(minutes=duration.high_min))
        return min(times) if times else None

    @property
    def running(self) -> bool:
        return self.row.state == BatchState.RUNNING.value

    @property
    def stage(self) -> Stage:
        assert self.row.stage_index is not None
        return self.recipe.stage(self.row.stage_index)

    # -- stages ---------------------------------------------------------------------------

    def start(self, at: datetime) -> None:
        require(BatchState(self.row.state), BatchState.PLANNED, action="start")
        if self.row.device_key:
            _device_busy(self.session, self.row.device_key, self.row.id)
        self.row.state = BatchState.RUNNING.value
        self.row.started_at = at
        self._enter(0, at)
        self._refresh()

    def advance(self, at: datetime, by: EndedBy = EndedBy.MANUAL) -> None:
        require(BatchState(self.row.state), BatchState.RUNNING, action="advance")
        assert self.row.stage_index is not None and self.row.stage_started_at is not None
        if at < self.row.stage_started_at:
            raise TransitionError(f"{at.isoformat()} is before the stage began")
        self.apply(
            Transition(self.row.stage_index, at, by, next_stage(self.recipe, self.row.stage_index))
        )

    def abort(self, at: datetime, reason: str) -> None:
        require(BatchState(self.row.state), BatchState.PLANNED, BatchState.RUNNING, action="abort")
        if self.running:
            self._leave(at, EndedBy.ABORTED, "batch-aborted")
        self.row.state = BatchState.ABORTED.value
        self.row.ended_at = at
        self.row.stage_index, self.row.stage_started_at = None, None
        if reason:
            self.row.note = f"{self.row.note}\naborted: {reason}".strip()
        self._refresh()

    def apply(self, transition: Transition) -> None:
        self._leave(transition.at, transition.by, "stage-ended")
        if transition.next is None:
            self.row.state = BatchState.COMPLETED.value
            self.row.ended_at = transition.at
            self.row.stage_index, self.row.stage_started_at = None, None
        else:
            self._enter(transition.next, transition.at)
        self._refresh()

    def catch_up(self, until: datetime) -> None:
        """Auto-advances due by `until`, then a stage overrun alarm if one is due."""
        self._catch_up(until)
        self._refresh()

    def _catch_up(self, until: datetime) -> None:
        if not self.running:
            return
        assert self.row.stage_index is not None and self.row.stage_started_at is not None
        if self.row.auto_advance:
            for transition in due_transitions(
                self.recipe, self.row.stage_index, self.row.stage_started_at, until
            ):
                self.apply(transition)
        if not self.running or DURATION in self.alarms:
            return
        assert self.row.stage_started_at is not None
        high = self.stage.duration.high_min
        if overrun(self.row.stage_started_at, until, high):
            started = self.row.stage_started_at
            due = started + timedelta(minutes=high)
            self._open(
                DURATION,
                AlarmOpened(Direction.OVERRUN, started, due, high, high),
                f"{self._stage_label()}: longer than its planned {high:g} min",
            )

    def _enter(self, index: int, at: datetime) -> None:
        self.row.stage_index, self.row.stage_started_at = index, at
        self.session.add(
            StageRunRow(
                batch_id=self.row.id,
                stage_index=index,
                stage_key=self.recipe.stage(index).key,
                started_at=at,
            )
        )

    def _leave(self, at: datetime, by: EndedBy, resolved_by: str) -> None:
        assert self.row.stage_index is not None
        run = self.session.get(StageRunRow, (self.row.id, self.row.stage_index))
        assert run is not None
        run.ended_at, run.ended_by = at, by.value
        for quantity in list(self.alarms):
            self._resolve(quantity, at, resolved_by)
        for watch in self.watches.values():
            self.session.delete(watch)
        self.watches.clear()
        self.states.clear()
        self.changed.clear()

    # -- telemetry ------------------------------------------------------------------------

    def observe(self, ts: datetime, quantity: str, value: float) -> None:
        """One reading of the batch's device (in time order); `save` stores the result."""
        if self.due is not None and ts >= self.due:
            self.catch_up(ts)
        watched = self.watched.get(quantity)
        if watched is None:
            return  # not running, or not watched in this stage
        if self.started is None or ts < self.started:
            return  # a late reading of an earlier stage
        rng, sustain, clear = watched
        watch, events = observe(
            self.states.get(quantity, EMPTY), ts, value, rng, sustain=sustain, clear=clear
        )
        for event in events:
            self._handle(quantity, event, rng)
        self.states[quantity] = watch
        self.changed.add(quantity)

    def save(self) -> None:
        """Write the watches (and the open alarms' latest extreme) changed by `observe`."""
        for quantity in sorted(self.changed):
            watch = self.states[quantity]
            alarm = self.alarms.get(quantity)
            if alarm is not None and watch.alarmed and watch.last_out is not None:
                alarm.last_at, alarm.extreme = watch.last_out, watch.extreme
            row = self.watches.get(quantity)
            if row is None:
                row = WatchRow(batch_id=self.row.id, quantity=quantity)
                self.session.add(row)
                self.watches[quantity] = row
            row.direction = watch.direction.value if watch.direction else None
            row.since, row.last_out, row.extreme = watch.since, watch.last_out, watch.extreme
            row.alarmed, row.back_since = watch.alarmed, watch.back_since
            row.alarm_id = alarm.id if alarm is not None and watch.alarmed else None
        self.changed.clear()

    def _handle(self, quantity: str, event: Event, rng: Range) -> None:
        if isinstance(event, AlarmResolved):
            self._resolve(quantity, event.at, "back-in-range")
            return
        unit = QUANTITIES[quantity].unit
        word = "below" if event.direction is Direction.LOW else "above"
        lasted = int((event.at - event.since).total_seconds() // 60)
        message = (
            f"{self._stage_label()}: {quantity} {event.value:g} {unit} {word} "
            f"{event.limit:g} (range {rng.describe()}) for {lasted} min"
        )
        self._open(quantity, event, message)

    def _open(self, quantity: str, event: AlarmOpened, message: str) -> None:
        assert self.row.stage_index is not None
        alarm = AlarmRow(
            batch_id=self.row.id,
            stage_index=self.row.stage_index,
            stage_key=self.stage.key,
            quantity=quantity,
            direction=event.direction.value,
            limit=event.limit,
            state=AlarmState.OPEN,
            since=event.since,
            opened_at=event.at,
            last_at=event.at,
            extreme=event.value,
            message=message,
        )
        self.session.add(alarm)
        self.session.flush()
        self.alarms[quantity] = alarm

    def _resolve(self, quantity: str, at: datetime, by: str) -> None:
        alarm = self.alarms.pop(quantity, None)
        if alarm is None:
            return
        watch = self.states.get(quantity)  # the excursion as it stood before it ended
        if watch is not None and watch.alarmed and watch.last_out is not None:
            alarm.last_at, alarm.extreme = watch.last_out, watch.extreme
        alarm.state, alarm.resolved_at, alarm.resolved_by = AlarmState.RESOLVED, at, by

    def _stage_label(self) -> str:
        stage = self.stage
        return f"{self.row.code} {stage.name_en} ({stage.name_zh})"


def _watch(row: WatchRow | None) -> Watch:
    if row is None:
        return Watch()
    return Watch(
        direction=Direction(row.direction) if row.direction else None,
        since=row.since,
        last_out=row.last_out,
        extreme=row.extreme,
        alarmed=row.alarmed,
        back_since=row.back_since,
    )


def live(session: Session, batch_id: int) -> LiveBatch:
    return LiveBatch.load(session, get_batch(session, batch_id))


def start_batch(session: Session, batch_id: int, at: datetime) -> BatchRow:
    batch = live(session, batch_id)
    batch.start(at)
    return batch.row


def advance_batch(session: Session, batch_id: int, at: datetime) -> BatchRow:
    batch = live(session, batch_id)
    batch.catch_up(at)  # owed auto-advances first: "advance" means leave the current stage
    batch.advance(at)
    return batch.row


def abort_batch(session: Session, batch_id: int, at: datetime, reason: str = "") -> BatchRow:
    batch = live(session, batch_id)
    batch.abort(at, reason)
    return batch.row


def bind_device(session: Session, batch_id: int, key: str) -> BatchRow:
    row = get_batch(session, batch_id)
    require(BatchState(row.state), BatchState.PLANNED, BatchState.RUNNING, action="bind")
    _check_device(session, key)
    if row.state == BatchState.RUNNING.value:
        _device_busy(session, key, row.id)
    row.device_key = key
    return row


def tick(session: Session, now: datetime) -> int:
    """Apply what the clock makes due to every running batch: auto-advances and overrun
    alarms. Returns how many batches changed stage or state."""
    changed = 0
    for row in list_batches(session, BatchState.RUNNING):
        before = (row.state, row.stage_index)
        LiveBatch.load(session, row).catch_up(now)
        changed += (row.state, row.stage_index) != before
    return changed


# -- reading back -------------------------------------------------------------------------


def _telemetry(
    session: Session, row: BatchRow, recipe: Recipe, runs: Iterable[StageRun], now: datetime
) -> dict[int, dict[str, Series]]:
    if not row.device_key:
        return {}
    out: dict[int, dict[str, Series]] = {}
    for run in runs:
        stage = recipe.stage(run.index)
        wanted = set(stage.ranges) | set(stage.targets)
        if stage.oxidation and recipe.fermentation is not None:
            wanted.add(LEAF_TEMPERATURE)
        out[run.index] = {
            q: [
                (r.ts, r.value)
                for r in readings_between(
                    session,
                    device=row.device_key,
                    quantity=q,
                    start=run.started_at,
                    end=run.ended_at or now,
                )
            ]
            for q in sorted(wanted)
        }
    return out


def _runs(session: Session, batch_id: int) -> list[StageRun]:
    return [
        StageRun(r.stage_index, r.started_at, r.ended_at, r.ended_by)
        for r in stage_runs(session, batch_id)
    ]


def _estimate(
    recipe: Recipe, runs: list[StageRun], telemetry: dict[int, dict[str, Series]], now: datetime
) -> kinetics.Estimate | None:
    if recipe.fermentation is None:
        return None
    intervals = [
        kinetics.Interval(
            r.started_at, r.ended_at or now, telemetry.get(r.index, {}).get(LEAF_TEMPERATURE, [])
        )
        for r in runs
        if recipe.stage(r.index).oxidation
    ]
    return kinetics.estimate(recipe.fermentation, intervals)


def fermentation_estimate(session: Session, batch_id: int, now: datetime) -> dict[str, Any] | None:
    """The live estimate of a batch, with the hours still needed at its latest leaf temperature."""
    row = get_batch(session, batch_id)
    recipe = _recipe(row.recipe)
    if recipe.fermentation is None:
        return None
    runs = _runs(session, batch_id)
    telemetry = _telemetry(session, row, recipe, runs, now)
    estimate = _estimate(recipe, runs, telemetry, now)
    assert estimate is not None
    out: dict[str, Any] = estimate.to_dict()
    latest = [s[-1] for t in telemetry.values() for s in [t.get(LEAF_TEMPERATURE, [])] if s]
    if latest:
        temp = max(latest)[1]
        out["hours_to_target_at_latest_temperature"] = round(
            kinetics.hours_to_target(recipe.fermentation, estimate, temp), 2
        )
    out["model"] = recipe.fermentation.model_dump()
    return out


def batch_public(row: BatchRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "code": row.code,
        "recipe": row.recipe,
        "tea_type": row.tea_type,
        "state": row.state,
        "device": row.device_key,
        "plot_id": row.plot_id,
        "picked_on": row.picked_on,
        "leaf_kg": row.leaf_kg,
        "auto_advance": row.auto_advance,
        "stage_index": row.stage_index,
        "stage_started_at": row.stage_started_at.isoformat() if row.stage_started_at else None,
        "created_at": row.created_at.isoformat(),
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "ended_at": row.ended_at.isoformat() if row.ended_at else None,
        "note": row.note,
        "traced_at": row.traced_at.isoformat() if row.traced_at else None,
        "trace_event": row.trace_event,
    }


def alarm_public(alarm: AlarmRow) -> dict[str, Any]:
    def iso(ts: datetime | None) -> str | None:
        return ts.isoformat() if ts else None

    return {
        "id": alarm.id,
        "batch_id": alarm.batch_id,
        "stage_index": alarm.stage_index,
        "stage_key": alarm.stage_key,
        "quantity": alarm.quantity,
        "direction": alarm.direction,
        "limit": alarm.limit,
        "state": alarm.state,
        "since": iso(alarm.since),
        "opened_at": iso(alarm.opened_at),
        "last_at": iso(alarm.last_at),
        "extreme": alarm.extreme,
        "message": alarm.message,
        "acknowledged_at": iso(alarm.acknowledged_at),
        "acknowledged_by": alarm.acknowledged_by,
        "resolved_at": iso(alarm.resolved_at),
        "resolved_by": alarm.resolved_by,
    }


def batch_record(session: Session, batch_id: int, now: datetime) -> dict[str, Any]:
    """The batch record (see `record`) as of `now`."""
    row = get_batch(session, batch_id)
    recipe = _recipe(row.recipe)
    runs = _runs(session, batch_id)
    telemetry = _telemetry(session, row, recipe, runs, now)
    return build_record(
        batch=batch_public(row),
        recipe=recipe,
        runs=runs,
        telemetry=telemetry,
        alarms=[alarm_public(a) for a in list_alarms(session, batch_id=batch_id)],
        fermentation=_estimate(recipe, runs, telemetry, now),
        now=now,
    )


def batch_status(session: Session, batch_id: int, now: datetime) -> dict[str, Any]:
    """A batch as shown to an operator: where it stands, its active alarms, its estimate."""
    row = get_batch(session, batch_id)
    recipe = _recipe(row.recipe)
    out: dict[str, Any] = {**batch_public(row), "stage": None}
    if row.stage_index is not None and row.stage_started_at is not None:
        stage = recipe.stage(row.stage_index)
        elapsed = (now - row.stage_started_at).total_seconds() / 60
        out["stage"] = {
            "index": row.stage_index,
            "of": len(recipe.stages),
            "key": stage.key,
            "name_zh": stage.name_zh,
            "name_en": stage.name_en,
            "started_at": row.stage_started_at.isoformat(),
            "elapsed_min": round(elapsed, 1),
            "planned_min": [stage.duration.low_min, stage.duration.high_min],
            "typical_min": stage.duration.typical_min,
            "ends_at_typical": (
                row.stage_started_at + timedelta(minutes=stage.duration.typical_min)
            ).isoformat(),
            "ranges": {q: r.describe() for q, r in stage.ranges.items()},
        }
    out["alarms"] = [alarm_public(a) for a in list_alarms(session, batch_id=row.id, active=True)]
    out["fermentation"] = fermentation_estimate(session, row.id, now)
    return out


def plot_batch(session: Session, batch_id: int, path: Path, now: datetime) -> Path:
    """A PNG of the batch: telemetry against the stage ranges, alarms, fermentation degree."""
    from teaplatform.processing.plot import plot_batch as draw

    row = get_batch(session, batch_id)
    recipe = _recipe(row.recipe)
    runs = _runs(session, batch_id)
    synthetic = " — SYNTHETIC demo data" if "SYNTHETIC" in row.note else ""
    return draw(
        path,
        title=f"{row.code}: {recipe.name_en} ({row.state}){synthetic}",  # no CJK font here
        recipe=recipe,
        runs=runs,
        telemetry=_telemetry(session, row, recipe, runs, now),
        alarms=[alarm_public(a) for a in list_alarms(session, batch_id=batch_id)],
        now=now,
    )


def trace_completed(session: Session, settings: Settings, now: datetime) -> int:
    """Hand every completed batch not yet traced to traceability (a signed EPCIS event from
    its record, `teaplatform.trace.hooks`); returns how many were recorded. Each runs in a
    savepoint: a record the ledger refuses is noted on the batch (``trace_event = "error: …"``)
    and not retried, and never undoes the batch's own change."""
    if importlib.util.find_spec("teaplatform.trace.hooks") is None:
        return 0
    from teaplatform.trace.hooks import record_processing_batch
    from teaplatform.trace.service import TraceError

    pending = select(BatchRow).where(
        BatchRow.state == BatchState.COMPLETED.value, BatchRow.traced_at.is_(None)
    )
    recorded = 0
    for row in list(session.scalars(pending.order_by(BatchRow.id))):
        record = batch_record(session, row.id, now)
        try:
            with session.begin_nested():
                event = record_processing_batch(session, settings, record, now=now).event_id
            recorded += 1
        # a bad record (EventError is a ValueError) or a refusal such as no valid key (TraceError)
        except (ValueError, TraceError) as exc:
            log.warning("batch %s not traced: %s", row.code, exc)
            event = f"error: {exc}"[:200]
        row.traced_at, row.trace_event = now, event
    return recorded
