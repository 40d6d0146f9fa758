"""A batch at a glance (PNG): each watched quantity against its stage ranges, alarms shaded,
and the fermentation-degree estimate growing over the oxidation stages. Matplotlib is
imported here only (headless backend)."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from teaplatform.processing import fermentation as kinetics
from teaplatform.processing.recipe import Range, Recipe
from teaplatform.processing.record import Series, StageRun


def _band(rng: Range) -> tuple[float, float]:
    """The interval to shade; an open side is drawn 10 units beyond the other bound."""
    bounds = [b for b in (rng.low, rng.high) if b is not None]
    low = rng.low if rng.low is not None else min(bounds) - 10
    high = rng.high if rng.high is not None else max(bounds) + 10
    return low, high


def plot_batch(
    path: Path,
    *,
    title: str,
    recipe: Recipe,
    runs: Sequence[StageRun],
    telemetry: Mapping[int, Mapping[str, Series]],
    alarms: Sequence[Mapping[str, Any]],
    now: datetime,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    quantities = sorted({q for per_stage in telemetry.values() for q in per_stage})
    show_degree = recipe.fermentation is not None and any(
        recipe.stage(r.index).oxidation for r in runs
    )
    panels = len(quantities) + int(show_degree)
    fig, axes = plt.subplots(
        max(panels, 1), 1, figsize=(10, 2.0 * max(panels, 1) + 0.6), sharex=True
    )
    axes_list: list[Any] = list(axes) if panels > 1 else [axes]
    for ax, quantity in zip(axes_list, quantities, strict=False):
        for run in runs:
            stage = recipe.stage(run.index)
            end = run.ended_at or now
            ax.axvline(run.started_at, color="grey", lw=0.6, ls=":")
            rng = stage.ranges.get(quantity)
            if rng is not None:
                low, high = _band(rng)
                ax.fill_between([run.started_at, end], low, high, color="tab:green", alpha=0.12)
            target = stage.targets.get(quantity)
            if target is not None:  # the end-of-stage target: the stage's last tenth
                low, high = _band(target)
                ax.fill_between(
                    [end - (end - run.started_at) / 10, end],
                    low,
                    high,
                    color="tab:purple",
                    alpha=0.2,
                )
            series = telemetry.get(run.index, {}).get(quantity, [])
            if series:
                ax.plot([t for t, _ in series], [v for _, v in series], ".-", ms=2, lw=0.7)
        for alarm in alarms:
            if alarm["quantity"] == quantity:
                start = datetime.fromisoformat(alarm["since"])
                stop = datetime.fromisoformat(alarm["resolved_at"] or now.isoformat())
                ax.axvspan(start, stop, color="tab:red", alpha=0.25)
        ax.set_ylabel(quantity.replace("_", " "), fontsize=8)
        ax.grid(alpha=0.3)
    if show_degree:
        assert recipe.fermentation is not None
        ax = axes_list[-1]
        times: list[datetime] = []
        degrees: list[float] = []
        done: list[kinetics.Interval] = []
        for run in runs:
            if not recipe.stage(run.index).oxidation:
                continue
            series = list(telemetry.get(run.index, {}).get("leaf_temperature", []))
            for i, (ts, _) in enumerate(series):
                partial = kinetics.Interval(run.started_at, ts, series[:i])
                est = kinetics.estimate(recipe.fermentation, [*done, partial])
                times.append(ts)
                degrees.append(est.degree)
            done.append(kinetics.Interval(run.started_at, run.ended_at or now, series))
        ax.plot(times, degrees, "-", color="tab:brown")
        ax.axhspan(
            recipe.fermentation.target_low,
            recipe.fermentation.target_high,
            color="tab:green",
            alpha=0.15,
        )
        ax.set_ylabel("fermentation\ndegree (est.)", fontsize=8)
        ax.set_ylim(0, 1)
        ax.grid(alpha=0.3)
    axes_list[0].set_title(title, fontsize=9)
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
