"""Sales analyses: trend/seasonality decomposition, ABC classes, price elasticity (pure).

* **Decomposition**: STL (Cleveland et al. 1990, statsmodels) with the strength of trend and
  seasonality of Wang, Smith & Hyndman (2006): 1 - Var(remainder) / Var(component +
  remainder), 0 = none, 1 = all.
* **ABC**: products by revenue, most first; A until 80 % of revenue is covered, B to 95 %,
  C the rest (the product that crosses a boundary belongs to the class it completes).
* **Price elasticity**: log(quantity) = a + e·log(price) + month dummies + trend, by ordinary
  least squares on a series' periods; e is the elasticity (-1.5: 1 % dearer, 1.5 % fewer
  sold), with a t-based confidence interval. The season and trend controls keep "tea sells
  more at Spring Festival, when it is also dearer" from passing as a price effect. Little
  price variation or few periods leave e unidentified: that comes back as a warning.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from teaplatform.sales.calendar import period_features

ABC_BOUNDS = (0.80, 0.95)
MIN_PRICE_CV = 0.02  # below 2 % relative price variation, elasticity is not identified
MIN_PERIODS = 12


@dataclass(frozen=True)
class Decomposition:
    unique_id: str
    period: int
    trend_strength: float
    seasonal_strength: float
    frame: pd.DataFrame  # ds, observed, trend, seasonal, remainder


def decompose(series: pd.DataFrame, period: int, unique_id: str = "") -> Decomposition:
    """STL of one series (columns ds, y); needs two full seasons."""
    from statsmodels.tsa.seasonal import STL

    y = series.sort_values("ds")["y"].to_numpy(dtype=float)
    if len(y) < 2 * period + 1:
        raise ValueError(
            f"{unique_id or 'series'}: STL needs {2 * period + 1} periods, has {len(y)}"
        )
    fit = STL(y, period=period, robust=True).fit()
    trend, seasonal, resid = (
        np.asarray(a, dtype=float) for a in (fit.trend, fit.seasonal, fit.resid)
    )
    frame = pd.DataFrame(
        {
            "ds": series.sort_values("ds")["ds"].to_numpy(),
            "observed": y,
            "trend": trend,
            "seasonal": seasonal,
            "remainder": resid,
        }
    )
    return Decomposition(
        unique_id, period, _strength(trend, resid), _strength(seasonal, resid), frame
    )


def _strength(component: np.ndarray, resid: np.ndarray) -> float:
    total = np.var(component + resid)
    return float(max(0.0, 1.0 - np.var(resid) / total)) if total > 0 else 0.0


@dataclass(frozen=True)
class AbcItem:
    product: str
    revenue: float
    share: float
    cumulative_share: float
    abc_class: str


def abc_classes(
    revenue_by_product: pd.Series, bounds: Sequence[float] = ABC_BOUNDS
) -> list[AbcItem]:
    """ABC classes of products (index) by revenue (values)."""
    ordered = revenue_by_product.sort_values(ascending=False, kind="stable")
    total = float(ordered.sum())
    if total <= 0:
        raise ValueError("no revenue to classify (no prices or no sales)")
    items, before = [], 0.0
    for product, revenue in ordered.items():
        share = float(revenue) / total
        klass = "A" if before < bounds[0] else "B" if before < bounds[1] else "C"
        before += share
        items.append(AbcItem(str(product), float(revenue), share, before, klass))
    return items


@dataclass(frozen=True)
class Elasticity:
    unique_id: str
    elasticity: float
    ci_low: float
    ci_high: float
    confidence: float
    std_error: float
    periods: int
    price_cv: float  # coefficient of variation of the price
    r_squared: float
    warnings: list[str] = field(default_factory=list)


def price_elasticity(
    prices: pd.DataFrame,
    unique_id: str = "",
    confidence: float = 0.95,
    *,
    season: bool = True,
    trend: bool = True,
    calendar_freq: str | None = None,
) -> Elasticity:
    """Log-log elasticity from one series' periods (columns ds, quantity, price).

    `calendar_freq` (the pandas offset of the periods, e.g. ``W-MON``) adds the Chinese
    calendar windows as controls too: Double 11 discounts coincide with the Double 11 rush,
    which would otherwise be credited to the discount.
    """
    data = prices[(prices["quantity"] > 0) & (prices["price"] > 0)].sort_values("ds")
    n = len(data)
    log_p = np.log(data["price"].to_numpy(dtype=float))
    price_cv = float(np.std(data["price"]) / np.mean(data["price"])) if n else 0.0
    columns = [np.ones(n), log_p]
    if trend:
        columns.append(np.arange(n, dtype=float) / max(n, 1))
    if season:
        months = pd.DatetimeIndex(data["ds"]).month.to_numpy()
        columns += [(months == m).astype(float) for m in np.unique(months)[1:]]
    if calendar_freq is not None and n:
        cal = period_features(pd.DatetimeIndex(data["ds"]), calendar_freq).to_numpy()
        columns += [cal[:, j] for j in range(cal.shape[1]) if np.ptp(cal[:, j]) > 0]
    x = np.column_stack(columns)
    dof = n - x.shape[1]
    notes = []
    if n < MIN_PERIODS or dof < 3:
        return Elasticity(
            unique_id,
            float("nan"),
            float("nan"),
            float("nan"),
            confidence,
            float("nan"),
            n,
            price_cv,
            float("nan"),
            [f"only {n} priced periods: too few to estimate"],
        )
    if price_cv < MIN_PRICE_CV:
        notes.append(f"price barely varies (CV {price_cv:.1%}): the elasticity is not identified")
    y = np.log(data["quantity"].to_numpy(dtype=float))
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    sigma2 = float(resid @ resid) / dof
    cov = sigma2 * np.linalg.pinv(x.T @ x)
    se = float(np.sqrt(max(cov[1, 1], 0.0)))
    t = float(stats.t.ppf(0.5 + confidence / 2, dof))
    e = float(beta[1])
    r2 = (
        1.0 - float(resid @ resid) / float(((y - y.mean()) ** 2).sum())
        if np.var(y) > 0
        else float("nan")
    )
    if e - t * se <= 0 <= e + t * se:
        notes.append("the interval includes 0: no price effect can be told from noise")
    if e > 0:
        notes.append(
            "positive: demand rose with price — look for a missing driver (promotion, quality)"
        )
    return Elasticity(unique_id, e, e - t * se, e + t * se, confidence, se, n, price_cv, r2, notes)
