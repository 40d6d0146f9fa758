"""The batch record (pure): what a batch went through, as JSON for people and for traceability.

Schema ``teaplatform.processing.batch-record/1``::

    {schema, batch{…}, recipe{name, tea_type, names, sources[]},
     stages[{index, key, name_zh, name_en, planned{…}, started_at, ended_at, ended_by,
             minutes, telemetry{quantity: {n, min, mean, max, last, range, in_range}},
             targets{quantity: {range, last, met}}}],
     alarms[{…}], fermentation{…} | null, generated_at}

Times are ISO 8601 in UTC; a stage that is still running has ``ended_at: null``.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from teaplatform.processing.fermentation import Estimate
from teaplatform.processing.recipe import Range, Recipe, Stage

SCHEMA = "teaplatform.processing.batch-record/1"

Series = Sequence[tuple[datetime, float]]


@dataclass(frozen=True, slots=True)
class StageRun:
    index: int
    started_at: datetime
    ended_at: datetime | None
    ended_by: str | None


def _iso(ts: datetime | None) -> str | None:
    return ts.isoformat() if ts else None


def summarize(series: Series, rng: Range | None) -> dict[str, Any]:
    """Count, min, mean, max, last of a stage's readings, and the share inside `rng`."""
    values = [v for _, v in series]
    if not values:
        return {"n": 0}
    out: dict[str, Any] = {
        "n": len(values),
        "min": round(min(values), 3),
        "mean": round(sum(values) / len(values), 3),
        "max": round(max(values), 3),
        "last": round(values[-1], 3),
    }
    if rng is not None:
        out["range"] = rng.describe()
        out["in_range"] = round(sum(rng.contains(v) for v in values) / len(values), 4)
    return out


def target_check(series: Series, rng: Range) -> dict[str, Any]:
    """Was the end-of-stage target met (judged on the stage's last reading)?"""
    last = series[-1][1] if series else None
    return {
        "range": rng.describe(),
        "basis": rng.basis.value,
        "last": None if last is None else round(last, 3),
        "met": None if last is None else rng.contains(last),
    }


def planned(stage: Stage) -> dict[str, Any]:
    d = stage.duration
    return {
        "minutes": [d.low_min, d.high_min],
        "typical_minutes": d.typical_min,
        "ranges": {q: r.describe() for q, r in stage.ranges.items()},
        "targets": {q: r.describe() for q, r in stage.targets.items()},
    }


def stage_entry(
    recipe: Recipe, run: StageRun, telemetry: Mapping[str, Series], now: datetime
) -> dict[str, Any]:
    stage = recipe.stage(run.index)
    end = run.ended_at or now
    return {
        "index": run.index,
        "key": stage.key,
        "name_zh": stage.name_zh,
        "name_en": stage.name_en,
        "planned": planned(stage),
        "started_at": _iso(run.started_at),
        "ended_at": _iso(run.ended_at),
        "ended_by": run.ended_by,
        "minutes": round((end - run.started_at).total_seconds() / 60, 2),
        "telemetry": {
            q: summarize(series, stage.ranges.get(q)) for q, series in sorted(telemetry.items())
        },
        "targets": {q: target_check(telemetry.get(q, ()), r) for q, r in stage.targets.items()},
    }


def build_record(
    *,
    batch: Mapping[str, Any],
    recipe: Recipe,
    runs: Sequence[StageRun],
    telemetry: Mapping[int, Mapping[str, Series]],
    alarms: Sequence[Mapping[str, Any]],
    fermentation: Estimate | None,
    now: datetime,
) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "batch": dict(batch),
        "recipe": {
            "name": recipe.name,
            "tea_type": recipe.tea_type,
            "name_zh": recipe.name_zh,
            "name_en": recipe.name_en,
            "origin": recipe.origin,
            "sources": [{"id": s.id, "title": s.title} for s in recipe.sources],
        },
        "stages": [stage_entry(recipe, r, telemetry.get(r.index, {}), now) for r in runs],
        "alarms": list(alarms),
        "fermentation": None if fermentation is None else fermentation.to_dict(),
        "generated_at": now.isoformat(),
    }
