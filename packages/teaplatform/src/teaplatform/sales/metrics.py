"""Forecast accuracy: MASE and sMAPE (Hyndman & Koehler 2006; the M4 competition's forms)."""

import numpy as np
from numpy.typing import ArrayLike


def seasonal_naive_scale(train: ArrayLike, season_length: int) -> float:
    """Mean absolute error of the in-sample seasonal naive forecast on `train`.

    Falls back to the naive (lag 1) scale when `train` is shorter than two seasons' worth;
    NaN when even that is undefined (fewer than two points) and 0 for a constant series.
    """
    y = np.asarray(train, dtype=float)
    m = season_length if len(y) > season_length else 1
    if len(y) <= m:
        return float("nan")
    return float(np.mean(np.abs(y[m:] - y[:-m])))


def mase(actual: ArrayLike, forecast: ArrayLike, scale: float) -> float:
    """Mean absolute error over `scale`; NaN when the scale is 0 or undefined."""
    if not scale > 0:
        return float("nan")
    errors = np.abs(np.asarray(actual, dtype=float) - np.asarray(forecast, dtype=float))
    return float(np.mean(errors) / scale)


def smape(actual: ArrayLike, forecast: ArrayLike) -> float:
    """Symmetric MAPE in percent (0..200); a period where both are 0 counts as exact."""
    a = np.asarray(actual, dtype=float)
    f = np.asarray(forecast, dtype=float)
    denom = np.abs(a) + np.abs(f)
    terms = np.divide(2.0 * np.abs(a - f), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100.0 * np.mean(terms))


def coverage(actual: ArrayLike, lo: ArrayLike, hi: ArrayLike) -> float:
    """Share of actual values inside [lo, hi]."""
    a = np.asarray(actual, dtype=float)
    return float(np.mean((a >= np.asarray(lo, dtype=float)) & (a <= np.asarray(hi, dtype=float))))
