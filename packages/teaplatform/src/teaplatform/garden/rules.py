"""Alert rules and their evaluation over a batch of readings (pure: no I/O, no clock).

Kinds:

* ``threshold``      — a reading at or above (``op="above"``) or at or below (``"below"``) `limit`;
* ``sustained``      — the same condition held by every reading for at least `duration_s`;
* ``rate_of_change`` — the change from the previous reading, per hour, of at least `limit`
  (``op="rise"``, ``"fall"`` or ``"either"``);
* ``missing_data``   — a device silent (nothing received) for `duration_s`: see `silent_since`.

A rule may be limited to some months (``months``, in the garden's time zone); outside them its
condition is false. One *episode* runs from the reading where the condition starts to hold (for
``sustained``: where it has held for `duration_s`) to the first reading where it does not: an
alert opens and resolves exactly there. The evaluation of a rule for one device carries a
`RuleState` from batch to batch; readings at or before the state's last timestamp (late or
repeated) are skipped, since the live edge has moved past them.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Final, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from teaplatform.garden.readings import QUANTITIES


class RuleKind(StrEnum):
    THRESHOLD = "threshold"
    SUSTAINED = "sustained"
    RATE_OF_CHANGE = "rate_of_change"
    MISSING_DATA = "missing_data"


class Op(StrEnum):
    ABOVE = "above"
    BELOW = "below"
    RISE = "rise"
    FALL = "fall"
    EITHER = "either"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


_LEVEL_OPS = (Op.ABOVE, Op.BELOW)
_RATE_OPS = (Op.RISE, Op.FALL, Op.EITHER)


class RuleSpec(BaseModel):
    """What a rule watches and when it fires; stored as JSON, validated per kind."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$")
    kind: RuleKind
    quantity: str | None = None  # missing_data: None = any quantity
    op: Op | None = None
    limit: float | None = None  # a level (threshold, sustained) or a change per hour (rate)
    duration_s: float = Field(default=0.0, ge=0.0)
    months: tuple[int, ...] = ()  # active months, 1–12; empty: all year
    severity: Severity = Severity.WARNING
    description: str = ""

    @model_validator(mode="after")
    def _fits_kind(self) -> Self:
        if self.kind is RuleKind.MISSING_DATA:
            if self.duration_s <= 0:
                raise ValueError("missing_data needs duration_s > 0 (the silence allowed)")
        else:
            if self.quantity is None:
                raise ValueError(f"{self.kind} needs a quantity")
            if self.limit is None:
                raise ValueError(f"{self.kind} needs a limit")
            allowed = _RATE_OPS if self.kind is RuleKind.RATE_OF_CHANGE else _LEVEL_OPS
            if self.op not in allowed:
                raise ValueError(f"{self.kind} needs op in {[o.value for o in allowed]}")
            if self.kind is RuleKind.RATE_OF_CHANGE and self.limit <= 0:
                raise ValueError("rate_of_change needs limit > 0 (a change per hour)")
            if self.kind is RuleKind.SUSTAINED and self.duration_s <= 0:
                raise ValueError("sustained needs duration_s > 0")
            if self.kind is RuleKind.THRESHOLD and self.duration_s != 0:
                raise ValueError("threshold fires at once: use kind sustained for a duration")
        if self.quantity is not None and self.quantity not in QUANTITIES:
            raise ValueError(f"unknown quantity {self.quantity!r}; known: {sorted(QUANTITIES)}")
        if any(not 1 <= m <= 12 for m in self.months):
            raise ValueError("months are 1–12")
        return self

    def holds(self, measure: float) -> bool:
        limit = self.limit if self.limit is not None else 0.0
        match self.op:
            case Op.ABOVE | Op.RISE:
                return measure >= limit
            case Op.BELOW:
                return measure <= limit
            case Op.FALL:
                return measure <= -limit
            case Op.EITHER:
                return abs(measure) >= limit
        return False

    def worse(self, a: float, b: float) -> float:
        """The more extreme of two measures, in the direction the rule watches."""
        match self.op:
            case Op.BELOW | Op.FALL:
                return min(a, b)
            case Op.EITHER:
                return a if abs(a) >= abs(b) else b
        return max(a, b)

    def describe(self) -> str:
        unit = QUANTITIES[self.quantity].unit if self.quantity in QUANTITIES else ""
        season = f" in months {','.join(map(str, self.months))}" if self.months else ""
        match self.kind:
            case RuleKind.MISSING_DATA:
                return f"nothing received for {_hours(self.duration_s)}"
            case RuleKind.RATE_OF_CHANGE:
                return f"{self.quantity} {self.op} of ≥ {self.limit:g} {unit}/h{season}"
        sign = "≥" if self.op is Op.ABOVE else "≤"
        held = f" for {_hours(self.duration_s)}" if self.kind is RuleKind.SUSTAINED else ""
        return f"{self.quantity} {sign} {self.limit:g} {unit}{held}{season}"


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:g} h" if seconds >= 3600 else f"{seconds / 60:g} min"


# Built-in agronomic rules, on for every plot unless a plot overrides one by name.
BUILTIN_RULES: Final[dict[str, RuleSpec]] = {
    r.name: r
    for r in (
        RuleSpec(
            name="frost_risk",
            kind=RuleKind.THRESHOLD,
            quantity="air_temperature",
            op=Op.BELOW,
            limit=3.0,
            months=(2, 3, 4),
            severity=Severity.CRITICAL,
            description="Spring frost risk for tender buds (Feb–Apr, bud break to the end of "
            "the spring flush): on clear nights buds cool 2–3 °C below the air at screen height, "
            "so air at 3 °C means buds near 0 °C; frost-protection fans in tea gardens start there.",
        ),
        RuleSpec(
            name="heat_stress",
            kind=RuleKind.SUSTAINED,
            quantity="air_temperature",
            op=Op.ABOVE,
            limit=35.0,
            duration_s=3 * 3600,
            severity=Severity.WARNING,
            description="Heat stress: tea shoots stop growing above about 35 °C; three hours "
            "or more calls for shade or irrigation.",
        ),
        RuleSpec(
            name="drought",
            kind=RuleKind.SUSTAINED,
            quantity="soil_moisture",
            op=Op.BELOW,
            limit=20.0,
            duration_s=12 * 3600,
            severity=Severity.WARNING,
            description="Drought: volumetric soil water below 20 % (about 60 % of field "
            "capacity in a loam, where tea starts to suffer) for 12 hours.",
        ),
        RuleSpec(
            name="sensor_silent",
            kind=RuleKind.MISSING_DATA,
            duration_s=2 * 3600,
            severity=Severity.INFO,
            description="A device sent nothing for two hours: power, radio or sensor fault.",
        ),
    )
}


@dataclass(frozen=True, slots=True)
class RuleState:
    last_ts: datetime
    last_value: float
    since: datetime | None  # the condition holds since this reading
    firing: bool


@dataclass(slots=True)
class Episode:
    """A stretch where the rule fired, as seen in one batch."""

    opened: tuple[datetime, float] | None  # None: it was already firing before this batch
    resolved: tuple[datetime, float] | None  # None: still firing after this batch
    peak: float  # the most extreme measure in this batch (a value, or a rate per hour)
    last_at: datetime  # the latest reading that still met the condition


@dataclass(frozen=True, slots=True)
class Evaluation:
    state: RuleState | None
    episodes: list[Episode]
    skipped: int  # readings at or before the state's last timestamp


def evaluate(
    rule: RuleSpec,
    state: RuleState | None,
    points: Sequence[tuple[datetime, float]],
    tz: tzinfo,
) -> Evaluation:
    """Run `rule` over one device's `points` (ts, value), sorted by time, from `state`."""
    if rule.kind is RuleKind.MISSING_DATA:
        raise ValueError("missing_data rules are checked against the clock: use silent_since")
    need = timedelta(seconds=rule.duration_s)
    months = frozenset(rule.months)
    rate = rule.kind is RuleKind.RATE_OF_CHANGE
    episodes: list[Episode] = []
    current: Episode | None = None
    firing = state.firing if state else False
    since = state.since if state else None
    last = (state.last_ts, state.last_value) if state else None
    skipped = 0
    for ts, value in points:
        if last is not None and ts <= last[0]:
            skipped += 1
            continue
        if rate:
            if last is None:
                last = (ts, value)
                continue
            measure = (value - last[1]) / ((ts - last[0]).total_seconds() / 3600.0)
        else:
            measure = value
        in_season = not months or ts.astimezone(tz).month in months
        if in_season and rule.holds(measure):
            since = since or ts
            if firing:
                if current is None:
                    current = Episode(None, None, measure, ts)
                current.peak = rule.worse(current.peak, measure)
                current.last_at = ts
            elif ts - since >= need:
                firing = True
                current = Episode((ts, value), None, measure, ts)
        else:
            since = None
            if firing:
                if current is None:
                    current = Episode(None, None, measure, last[0] if last else ts)
                current.resolved = (ts, value)
                episodes.append(current)
                current = None
                firing = False
        last = (ts, value)
    if current is not None:
        episodes.append(current)
    new_state = RuleState(last[0], last[1], since, firing) if last is not None else None
    if state is not None and new_state == state:
        new_state = state
    return Evaluation(new_state, episodes, skipped)


def silent_since(
    last_seen: Mapping[int, datetime | None], now: datetime, rule: RuleSpec
) -> dict[int, datetime]:
    """Devices (id → the moment they became missing) that `rule` finds silent at `now`.

    A device that never reported is not missing: it has not been installed yet."""
    allowed = timedelta(seconds=rule.duration_s)
    return {
        device: seen + allowed
        for device, seen in last_seen.items()
        if seen is not None and now - seen >= allowed
    }


def effective_rules(overrides: Sequence[tuple[RuleSpec, bool]]) -> dict[str, RuleSpec]:
    """A plot's rules: the built-ins, replaced or disabled by the plot's rules of the same name,
    plus its own rules (`overrides`: each rule with its enabled flag)."""
    rules = dict(BUILTIN_RULES)
    for spec, enabled in overrides:
        if enabled:
            rules[spec.name] = spec
        else:
            rules.pop(spec.name, None)
    return rules
