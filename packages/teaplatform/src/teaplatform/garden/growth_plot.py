"""Figures of the growth model: fit vs observed density per camera, and the base-temperature
profile. Matplotlib is imported here only (headless backend)."""

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from teaplatform.garden.growth import FlushModel, cumulative_gdd
from teaplatform.garden.growth_fit import CycleData, Validation


def plot_fit(data: list[CycleData], validation: Validation, path: Path) -> Path:
    """Observed daily density (training / held-out) and the train-only model, per camera."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model: FlushModel = validation.model
    cut = pd.Timestamp(validation.cutoff)
    cameras = sorted({d.cycle.camera for d in data})
    fig, axes = plt.subplots(len(cameras), 1, figsize=(10, 2.6 * len(cameras)), sharex=True)
    axes_list: list[Any] = list(np.atleast_1d(axes))
    for ax, camera in zip(axes_list, cameras, strict=True):
        for d in (d for d in data if d.cycle.camera == camera):
            days = d.cycle.days
            held = days >= cut
            ax.plot(days[~held], d.cycle.tsdi[~held], "o", ms=3, color="tab:blue")
            ax.plot(days[held], d.cycle.tsdi[held], "o", ms=3, color="tab:orange")
            hours = pd.date_range(d.start_hour, periods=d.temps.shape[0], freq="h")
            until = hours <= d.window.peak + pd.Timedelta(days=1)
            gdd = cumulative_gdd(d.temps, model.base_temp_c)
            ax.plot(hours[until], model.tsdi(gdd[until]), "-", color="black", lw=1.2)
            ax.axvspan(d.window.opens, d.window.closes, color="tab:green", alpha=0.15)
            ax.axvline(d.cycle.start, color="grey", lw=0.8, ls=":")
        ax.axvline(cut, color="tab:red", lw=1, ls="--")
        ax.set_ylabel(f"{camera}\nTSDI")
        ax.grid(alpha=0.3)
    axes_list[0].set_title(
        "Tea shoot density vs the flush model (fitted before the red line; "
        "orange = held out; green = observed picking window; dotted = pick)",
        fontsize=9,
    )
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_base_profile(validation: Validation, path: Path) -> Path:
    """Training RMSE and held-out MAE of the density for each fixed base temperature."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = validation.base_profile
    bases = [r["base_temp_c"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(bases, [r["train_rmse"] for r in rows], "o-", label="training RMSE")
    ax.plot(bases, [r["held_out_mae"] for r in rows], "s-", label="held-out MAE")
    ax.axvline(validation.model.base_temp_c, color="grey", ls=":", label="fitted (train only)")
    ax.set_xlabel("base temperature (°C)")
    ax.set_ylabel("TSDI error")
    ax.set_title("The hot training months barely constrain the base temperature", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
