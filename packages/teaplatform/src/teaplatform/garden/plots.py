"""A device's readings with its alerts shaded, as a PNG (`teaplatform garden plot`)."""

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from teaplatform.garden.readings import QUANTITIES, Reading

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # matplotlib's date epoch


def _days(ts: datetime) -> float:
    """Matplotlib's date number (days since its epoch) of an aware datetime."""
    return (ts - EPOCH).total_seconds() / 86400.0


def plot_series(
    readings: Sequence[Reading],
    alerts: Sequence[tuple[str, datetime, datetime | None]],
    out: Path,
    *,
    limits: Sequence[tuple[str, float]] = (),
    title: str = "",
) -> Path:
    """Draw `readings` (one device, one quantity), each alert (rule, opened, resolved or None)
    as a shaded span, and each (label, value) of `limits` as a dashed line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    if not readings:
        raise ValueError("no readings to plot")
    quantity = readings[0].quantity
    unit = QUANTITIES[quantity].unit if quantity in QUANTITIES else ""
    fig, ax = plt.subplots(figsize=(10, 3.6), dpi=110)
    x = [_days(r.ts) for r in readings]
    ax.plot(x, [r.value for r in readings], lw=0.9, color="#2b6f3e")
    locator = AutoDateLocator()  # type: ignore[no-untyped-call]  # untyped in matplotlib
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]
    colours = {"frost_risk": "#3b7dd8", "heat_stress": "#d8553b", "drought": "#c99a2e"}
    end = x[-1]
    seen: set[str] = set()
    for rule, opened, resolved in alerts:
        label = rule if rule not in seen else None
        seen.add(rule)
        ax.axvspan(
            _days(opened),
            _days(resolved) if resolved else end,
            color=colours.get(rule, "#888888"),
            alpha=0.3,
            label=label,
        )
    for label, value in limits:
        ax.axhline(value, ls="--", lw=0.8, color="#555555")
        ax.annotate(label, (x[0], value), fontsize=8, va="bottom")
    ax.set_ylabel(f"{quantity} ({unit})")
    ax.set_title(title, fontsize=10)
    if seen:
        ax.legend(loc="upper right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
