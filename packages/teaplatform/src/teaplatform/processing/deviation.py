"""Deviation alarms from telemetry (pure: state in, state and events out; no clock).

One `Watch` per (batch, quantity) follows the readings of the current stage:

* a reading out of range starts an *excursion*; it becomes an alarm only once it has lasted
  `sustain` (the first and the latest out-of-range reading at least that far apart), so one
  noisy reading is never an alarm;
* while the alarm is open, further out-of-range readings only update its extreme value (one
  alarm per excursion: de-duplicated);
* the alarm resolves once readings have stayed back in range for `clear`; a reading in range
  before an excursion has become an alarm simply ends it (it was noise);
* an excursion that flips side (too low → too high) resolves the old alarm and starts anew.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from teaplatform.processing.recipe import Range


class Direction(StrEnum):
    LOW = "low"
    HIGH = "high"
    OVERRUN = "overrun"  # a stage lasting longer than its planned maximum


@dataclass(frozen=True, slots=True)
class Watch:
    """Where one quantity of one batch stands (empty: in range)."""

    direction: Direction | None = None  # side of the current excursion
    since: datetime | None = None  # first out-of-range reading of the excursion
    last_out: datetime | None = None  # latest out-of-range reading
    extreme: float | None = None  # most extreme value of the excursion
    alarmed: bool = False
    back_since: datetime | None = None  # first in-range reading after an alarm


@dataclass(frozen=True, slots=True)
class AlarmOpened:
    direction: Direction
    since: datetime  # when the excursion began
    at: datetime  # when it had lasted long enough
    value: float  # the reading that made it an alarm
    limit: float  # the bound crossed


@dataclass(frozen=True, slots=True)
class AlarmResolved:
    at: datetime


Event = AlarmOpened | AlarmResolved
EMPTY = Watch()


def side(rng: Range, value: float) -> Direction | None:
    if rng.low is not None and value < rng.low:
        return Direction.LOW
    if rng.high is not None and value > rng.high:
        return Direction.HIGH
    return None


def _limit(rng: Range, direction: Direction) -> float:
    bound = rng.low if direction is Direction.LOW else rng.high
    assert bound is not None
    return bound


def _worse(direction: Direction, a: float, b: float) -> float:
    return min(a, b) if direction is Direction.LOW else max(a, b)


def observe(
    watch: Watch,
    ts: datetime,
    value: float,
    rng: Range,
    *,
    sustain: timedelta,
    clear: timedelta,
) -> tuple[Watch, list[Event]]:
    """Feed one reading (in time order) to a watch; the new watch and what happened."""
    direction = side(rng, value)
    if direction is None:
        if not watch.alarmed:
            return (watch if watch.direction is None else EMPTY), []
        back = watch.back_since or ts
        if ts - back >= clear:
            return EMPTY, [AlarmResolved(ts)]
        return replace(watch, back_since=back), []

    events: list[Event] = []
    if watch.direction is not direction:
        if watch.alarmed:
            events.append(AlarmResolved(ts))
        watch = Watch(direction=direction, since=ts, last_out=ts, extreme=value)
    else:
        assert watch.extreme is not None
        watch = replace(
            watch, last_out=ts, extreme=_worse(direction, watch.extreme, value), back_since=None
        )
    since = watch.since
    assert since is not None
    if not watch.alarmed and ts - since >= sustain:
        watch = replace(watch, alarmed=True)
        events.append(AlarmOpened(direction, since, ts, value, _limit(rng, direction)))
    return watch, events


def overrun(started_at: datetime, now: datetime, high_min: float) -> bool:
    """Has a stage begun at `started_at` outlasted its planned maximum at `now`?"""
    return now - started_at > timedelta(minutes=high_min)
