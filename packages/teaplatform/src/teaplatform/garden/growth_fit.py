"""Fitting and validating the flush model on the real camera and station series.

Procedure (`fit_and_validate`):

1. Each harvest cycle's daily density, and the garden's hourly temperature with gaps filled.
2. The rising phase of a cycle — from the pick to its observed peak (3-day centred mean) — is
   what the logistic describes; the decline after the peak is left out of the fit.
3. Time-based split at `cutoff`: days before it train, days from it on are held out.
4. Least squares (scipy) of (base temperature, lower, amplitude, midpoint, scale) on the
   training days. The training months (June–September) are uniformly hot, so they barely
   constrain the base temperature; a Gaussian prior of 10 ± 3 °C (the threshold of the ≥10 °C
   "active accumulated temperature" of Chinese tea agro-climatology) keeps it from drifting,
   and data that do constrain it (cooler autumn cycles) outweigh the prior when included.
5. Window offsets (peak and close, in days after opening) are medians of the training cycles.
6. Held-out errors: density on held-out rising days against baselines (training mean,
   persistence of each camera's last training value, the same curve in calendar days), and the
   opening/peak/closing dates of held-out cycles — from observed temperatures, and as a real
   forecast issued at the cutoff with a climatology built from data before it.
7. The shipped parameters are the same procedure on all days (`fit_flush`).
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

from teaplatform.garden.growth import (
    Climatology,
    FloatArray,
    FlushModel,
    hourly_gdd,
    picking_window,
)
from teaplatform.garden.growth_data import Cycle, climatology

PICKING_FRACTION = 0.8  # the window opens at 80 % of the rise
BASE_TEMP_PRIOR = (10.0, 3.0)  # mean, sd (°C)
BASE_TEMP_BOUNDS = (0.0, 20.0)
ROLLING = "3D"  # smoothing of the observed series when locating peaks and windows
DEFAULT_CUTOFF = datetime(2024, 10, 1)


@dataclass(frozen=True, slots=True)
class ObservedWindow:
    opens: pd.Timestamp
    peak: pd.Timestamp
    closes: pd.Timestamp


def observed_window(cycle: Cycle, fraction: float = PICKING_FRACTION) -> ObservedWindow:
    """Where a cycle's smoothed density first reaches `fraction` of its rise, peaks, and last
    stays above that level (contiguously after the peak)."""
    smooth = pd.Series(cycle.tsdi, index=cycle.days).rolling(ROLLING, center=True).mean()
    peak_at = pd.Timestamp(smooth.idxmax())
    base = float(smooth[:peak_at].min())
    level = base + fraction * (float(smooth[peak_at]) - base)
    rising = smooth[:peak_at]
    opens = rising[rising >= level].index[0]
    after = smooth[peak_at:]
    below = after[after < level]
    closes = after.index[-1] if below.empty else after[: below.index[0]].index[-2]
    return ObservedWindow(pd.Timestamp(opens), peak_at, pd.Timestamp(closes))


@dataclass(frozen=True, slots=True)
class CycleData:
    """A cycle with what the fit needs: hourly temperatures from its pick, rising-day mask."""

    cycle: Cycle
    start_hour: pd.Timestamp
    temps: FloatArray  # hourly, from start_hour to the last observed day + 60 days
    obs_hours: np.ndarray[Any, np.dtype[np.int64]]  # hour index of each observed day
    rising: np.ndarray[Any, np.dtype[np.bool_]]
    window: ObservedWindow

    def gdd(self, base_temp_c: float) -> FloatArray:
        cum = np.concatenate([[0.0], np.cumsum(hourly_gdd(self.temps, base_temp_c))])
        return np.asarray(cum[np.clip(self.obs_hours, 0, cum.shape[0] - 1)], dtype=np.float64)

    def days_since(self) -> FloatArray:
        return np.asarray((self.cycle.days - self.cycle.start) / pd.Timedelta(days=1), float)


def prepare(cycles: list[Cycle], temps: "pd.Series[float]") -> list[CycleData]:
    """Attach each cycle's hourly temperatures (a gap-free series) and its observed window."""
    out: list[CycleData] = []
    for cycle in cycles:
        start_hour = cycle.start.floor("h")
        end = cycle.days[-1] + pd.Timedelta(days=60)
        hourly = np.asarray(temps[start_hour:end].to_numpy(), dtype=np.float64)
        obs_hours = ((cycle.days - start_hour) / pd.Timedelta(hours=1)).to_numpy().astype(np.int64)
        window = observed_window(cycle)
        rising = np.asarray(cycle.days <= window.peak, dtype=np.bool_)
        out.append(CycleData(cycle, start_hour, hourly, obs_hours, rising, window))
    return out


def _logistic(params: FloatArray, x: FloatArray) -> FloatArray:
    lower, amplitude, midpoint, scale = params
    z = np.clip((x - midpoint) / scale, -60.0, 60.0)
    return np.asarray(lower + amplitude / (1.0 + np.exp(-z)), dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which observed days of which cycles a fit or an evaluation uses."""

    masks: list[np.ndarray[Any, np.dtype[np.bool_]]]

    @classmethod
    def rising(cls, data: list[CycleData], keep: Callable[[pd.Timestamp], bool]) -> "Selection":
        return cls([d.rising & np.array([keep(t) for t in d.cycle.days], dtype=bool) for d in data])

    def count(self) -> int:
        return int(sum(int(m.sum()) for m in self.masks))


def _stack(
    data: list[CycleData], sel: Selection, x: Callable[[CycleData], FloatArray]
) -> FloatArray:
    return np.concatenate([x(d)[m] for d, m in zip(data, sel.masks, strict=True)])


def _gdd_stack(data: list[CycleData], sel: Selection, base_temp_c: float) -> FloatArray:
    return _stack(data, sel, lambda d: d.gdd(base_temp_c))


def _observed(data: list[CycleData], sel: Selection) -> FloatArray:
    return _stack(data, sel, lambda d: d.cycle.tsdi)


def _fit_curve(x: FloatArray, y: FloatArray) -> FloatArray:
    """Least-squares logistic (lower, amplitude, midpoint, scale) of y on x, multi-start."""
    span = float(x.max())
    best: Any = None
    for frac in (0.5, 0.7, 0.9):
        start = np.array([max(float(y.min()), 0.0), float(np.ptp(y)), frac * span, 0.05 * span])
        fit = least_squares(
            lambda p: _logistic(p, x) - y,
            start,
            bounds=([0.0, 0.0, 0.0, 1e-3 * span], [np.inf, np.inf, 3 * span, span]),
        )
        if best is None or fit.cost < best.cost:
            best = fit
    return np.asarray(best.x, dtype=np.float64)


def fit_curve_in_days(data: list[CycleData], sel: Selection) -> FloatArray:
    """The calendar-days baseline: the same logistic in days since the pick."""
    return _fit_curve(_stack(data, sel, CycleData.days_since), _observed(data, sel))


def fit_curve_at_base(data: list[CycleData], sel: Selection, base_temp_c: float) -> FloatArray:
    return _fit_curve(_gdd_stack(data, sel, base_temp_c), _observed(data, sel))


@dataclass(frozen=True, slots=True)
class CurveFit:
    base_temp_c: float
    curve: FloatArray  # lower, amplitude, midpoint, scale
    rmse: float
    n: int


def fit_thermal(data: list[CycleData], sel: Selection) -> CurveFit:
    """Base temperature and curve jointly, the base under its prior (see the module docstring)."""
    y = _observed(data, sel)
    prior_mean, prior_sd = BASE_TEMP_PRIOR
    at_prior = fit_curve_at_base(data, sel, prior_mean)
    sigma = float(
        np.sqrt(np.mean((_logistic(at_prior, _gdd_stack(data, sel, prior_mean)) - y) ** 2))
    )

    def residuals(p: FloatArray) -> FloatArray:
        x = _gdd_stack(data, sel, float(p[0]))
        prior = sigma * (p[0] - prior_mean) / prior_sd
        return np.concatenate([_logistic(p[1:], x) - y, [prior]])

    best: Any = None
    for base in (prior_mean - prior_sd, prior_mean, prior_mean + prior_sd):
        curve = fit_curve_at_base(data, sel, base)
        span = float(curve[2]) * 3
        fit = least_squares(
            residuals,
            np.concatenate([[base], curve]),
            bounds=(
                [BASE_TEMP_BOUNDS[0], 0.0, 0.0, 0.0, 1e-3],
                [BASE_TEMP_BOUNDS[1], np.inf, np.inf, max(span, 1.0), max(span, 1.0)],
            ),
            x_scale="jac",
        )
        if best is None or fit.cost < best.cost:
            best = fit
    base_temp, curve = float(best.x[0]), np.asarray(best.x[1:], dtype=np.float64)
    pred = _logistic(curve, _gdd_stack(data, sel, base_temp))
    return CurveFit(base_temp, curve, float(np.sqrt(np.mean((pred - y) ** 2))), int(y.shape[0]))


def window_offsets(data: list[CycleData], keep: Callable[[CycleData], bool]) -> tuple[float, float]:
    """Median days from the window's opening to the peak and to its closing."""
    chosen = [d.window for d in data if keep(d)]
    if not chosen:
        raise ValueError("no complete cycle to take the window offsets from")
    peak = float(np.median([(w.peak - w.opens) / pd.Timedelta(days=1) for w in chosen]))
    closes = float(np.median([(w.closes - w.opens) / pd.Timedelta(days=1) for w in chosen]))
    return peak, closes


def flush_model(fit: CurveFit, offsets: tuple[float, float]) -> FlushModel:
    lower, amplitude, midpoint, scale = (float(v) for v in fit.curve)
    return FlushModel(
        base_temp_c=fit.base_temp_c,
        lower=lower,
        amplitude=amplitude,
        midpoint_gdd=midpoint,
        scale_gdd=scale,
        picking_fraction=PICKING_FRACTION,
        peak_offset_days=offsets[0],
        window_days=offsets[1],
    )


def errors(pred: FloatArray, obs: FloatArray) -> dict[str, float]:
    diff = np.asarray(pred, dtype=np.float64) - np.asarray(obs, dtype=np.float64)
    return {
        "mae": float(np.mean(np.abs(diff))),
        "rmse": float(np.sqrt(np.mean(diff**2))),
        "n": int(diff.shape[0]),
    }


def _opening_in_days(curve: FloatArray, start: pd.Timestamp) -> pd.Timestamp:
    _, _, midpoint, scale = curve
    days = midpoint + scale * math.log(PICKING_FRACTION / (1 - PICKING_FRACTION))
    return start + pd.Timedelta(days=float(days))


def _opening_with_temps(model: FlushModel, d: CycleData) -> pd.Timestamp:
    cum = np.cumsum(hourly_gdd(d.temps, model.base_temp_c))
    return d.start_hour + pd.Timedelta(hours=int(np.searchsorted(cum, model.picking_gdd)) + 1)


def _day_error(predicted: pd.Timestamp, observed: pd.Timestamp) -> int:
    return (predicted.normalize() - observed.normalize()).days


@dataclass(frozen=True, slots=True)
class Validation:
    cutoff: datetime
    model: FlushModel  # fitted on the training days only
    train: dict[str, Any]
    held_out: dict[str, Any]  # density errors of the model and the baselines
    cycles: list[dict[str, Any]]  # window dates of each held-out cycle
    timing_mae: dict[str, float]
    base_profile: list[dict[str, float]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cutoff": self.cutoff.isoformat(),
            "model_train_only": self.model.to_dict(),
            "train": self.train,
            "held_out_tsdi": self.held_out,
            "held_out_cycles": self.cycles,
            "held_out_timing_mae_days": self.timing_mae,
            "base_temp_profile": self.base_profile,
        }


TIMING_KEYS = (
    "open_error_days",
    "peak_error_days",
    "close_error_days",
    "forecast_open_error_days",
    "days_model_open_error_days",
)


def validate(
    data: list[CycleData],
    temps: "pd.Series[float]",
    cutoff: datetime = DEFAULT_CUTOFF,
    profile: tuple[float, ...] = (0.0, 4.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0),
) -> Validation:
    """Fit on the days before `cutoff`; errors on the days from it on (module docstring)."""
    cut = pd.Timestamp(cutoff)
    train = Selection.rising(data, lambda t: t < cut)
    test = Selection.rising(data, lambda t: t >= cut)
    if train.count() == 0 or test.count() == 0:
        raise ValueError(f"cutoff {cutoff} leaves no training or no held-out days")
    fit = fit_thermal(data, train)
    model = flush_model(fit, window_offsets(data, lambda d: d.window.closes < cut))
    days_curve = fit_curve_in_days(data, train)
    y_train, y_test = _observed(data, train), _observed(data, test)

    gdd_test = _gdd_stack(data, test, fit.base_temp_c)
    held_out = {
        "flush_model_gdd": errors(model.tsdi(gdd_test), y_test),
        "same_curve_in_days": errors(
            _logistic(days_curve, _stack(data, test, CycleData.days_since)), y_test
        ),
        "training_mean": errors(np.full_like(y_test, y_train.mean()), y_test),
        "persistence": errors(_persistence(data, test, cut, float(y_train.mean())), y_test),
        "n_days": test.count(),
    }
    # a real forecast issued at the cutoff may only use a climatology of the days before it
    clim = climatology(temps[: cut - pd.Timedelta(hours=1)])
    cycles = [_cycle_timing(d, model, days_curve, clim, cut) for d in data if d.window.opens >= cut]
    timing_mae = {k: float(np.mean([abs(c[k]) for c in cycles])) for k in TIMING_KEYS}

    base_profile = []
    for base in profile:
        curve = fit_curve_at_base(data, train, base)
        tr = errors(_logistic(curve, _gdd_stack(data, train, base)), y_train)
        te = errors(_logistic(curve, _gdd_stack(data, test, base)), y_test)
        base_profile.append(
            {"base_temp_c": base, "train_rmse": tr["rmse"], "held_out_mae": te["mae"]}
        )
    labels = [d.cycle.label for d, m in zip(data, train.masks, strict=True) if m.any()]
    return Validation(
        cutoff=cutoff,
        model=model,
        train={"rmse": fit.rmse, "n_days": fit.n, "cycles": labels},
        held_out=held_out,
        cycles=cycles,
        timing_mae=timing_mae,
        base_profile=base_profile,
    )


def _persistence(
    data: list[CycleData], test: Selection, cut: pd.Timestamp, fallback: float
) -> FloatArray:
    """Each camera's last density before the cutoff, carried over its held-out days."""
    last: dict[str, float] = {}
    for d in data:
        for t, value in zip(d.cycle.days, d.cycle.tsdi, strict=True):
            if t < cut:
                last[d.cycle.camera] = float(value)
    out = [
        [last.get(d.cycle.camera, fallback)] * int(m.sum())
        for d, m in zip(data, test.masks, strict=True)
    ]
    return np.array([v for chunk in out for v in chunk], dtype=np.float64)


def _cycle_timing(
    d: CycleData, model: FlushModel, days_curve: FloatArray, clim: Climatology, cut: pd.Timestamp
) -> dict[str, Any]:
    opens = _opening_with_temps(model, d)
    peak = opens + pd.Timedelta(days=round(model.peak_offset_days))
    closes = opens + pd.Timedelta(days=round(model.window_days))
    past_hours = int((cut - d.start_hour) / pd.Timedelta(hours=1))
    forecast = picking_window(
        model,
        clim,
        since=d.cycle.start.to_pydatetime(),
        as_of=cut.to_pydatetime(),
        observed=d.temps[:past_hours],
    )
    w = d.window
    return {
        "cycle": d.cycle.label,
        "picked": d.cycle.start.isoformat(),
        "observed": {
            "opens": w.opens.date().isoformat(),
            "peak": w.peak.date().isoformat(),
            "closes": w.closes.date().isoformat(),
        },
        "predicted": {
            "opens": opens.date().isoformat(),
            "peak": peak.date().isoformat(),
            "closes": closes.date().isoformat(),
        },
        "forecast_at_cutoff_opens": forecast.opens.isoformat() if forecast.opens else None,
        "open_error_days": _day_error(opens, w.opens),
        "peak_error_days": _day_error(peak, w.peak),
        "close_error_days": _day_error(closes, w.closes),
        "forecast_open_error_days": (
            (forecast.opens - w.opens.date()).days if forecast.opens else math.inf
        ),
        "days_model_open_error_days": _day_error(
            _opening_in_days(days_curve, d.cycle.start), w.opens
        ),
    }


def fit_flush(data: list[CycleData]) -> tuple[FlushModel, CurveFit]:
    """The shipped model: the same procedure on every rising day and every cycle."""
    everything = Selection.rising(data, lambda _: True)
    fit = fit_thermal(data, everything)
    return flush_model(fit, window_offsets(data, lambda _: True)), fit
