"""The shipped growth parameters: what `teaplatform growth fit` produces, with its provenance.

Two small files next to this module, both derived from the real garden series (see
`growth_data`), regenerated with ``teaplatform growth fit --out DIR``:

* ``growth_params.json`` — the flush model fitted on every cycle, the time-split validation of
  the same procedure (held-out errors), and the input files' SHA-256;
* ``growth_climatology.csv`` — mean air temperature per (day of year, hour) of the plantation,
  used for the days ahead of a forecast.
"""

import csv
import hashlib
import json
import math
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Final

import numpy as np

from teaplatform.garden.growth import CLIMATE_DAYS, HOURS_PER_DAY, Climatology, FlushModel
from teaplatform.garden.growth_data import (
    climatology,
    fill_series,
    garden_dir,
    garden_series,
    load_cycles,
)
from teaplatform.garden.growth_fit import (
    BASE_TEMP_PRIOR,
    DEFAULT_CUTOFF,
    PICKING_FRACTION,
    CycleData,
    Validation,
    fit_flush,
    prepare,
    validate,
)

HERE: Final = Path(__file__).resolve().parent
PARAMS_FILE: Final = HERE / "growth_params.json"
CLIMATOLOGY_FILE: Final = HERE / "growth_climatology.csv"
SOURCE: Final = {
    "dataset": "github.com/csc926/tea_shoot_dataset (TSDI/ folder), MIT License",
    "paper": "H.-C. Chen, S.-F. Chen, S.-R. Lin, T.-T. Lin: IoT-based automated monitoring and "
    "assessment of tea shoot density using canopy imaging, Computers and Electronics in "
    "Agriculture, doi:10.1016/j.compag.2025.111251",
    "paper_figures": "4PL growth model on GDD: RMSE 0.698, harvest timing MAE 2.7 days",
}
RELATIVE_TOLERANCE: Final = 1e-4  # a refit on another machine may differ in the last digits


@dataclass(frozen=True, slots=True)
class GrowthParams:
    model: FlushModel
    climatology: Climatology
    document: dict[str, Any]  # the whole JSON: model, validation, provenance

    @property
    def held_out_open_mae_days(self) -> float:
        """Held-out mean absolute error of the window's opening date (days): three autumn
        cycles of one plantation, so a rough guide, untested in other seasons and places."""
        mae: dict[str, float] = self.document["validation"]["held_out_timing_mae_days"]
        return float(mae["open_error_days"])


@dataclass(frozen=True, slots=True)
class FitOutcome:
    document: dict[str, Any]
    climatology: Climatology
    validation: Validation
    data: list[CycleData]  # the cycles as fitted (for the figures)


def _round(value: Any) -> Any:
    """Floats to 6 decimals, recursively (stable, readable files)."""
    if isinstance(value, float):
        return value if not math.isfinite(value) else round(value, 6)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_round(v) for v in value]
    return value


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(shared_data: Path, cutoff: datetime = DEFAULT_CUTOFF) -> FitOutcome:
    """Fit and validate on the real series under `shared_data` (deterministic)."""
    temps = fill_series(garden_series(shared_data))
    data = prepare(load_cycles(shared_data), temps)
    validation = validate(data, temps, cutoff)
    model, fit = fit_flush(data)
    files = sorted(garden_dir(shared_data).glob("*.csv"))
    document = {
        "model": model.to_dict(),
        "fit": {
            "rmse_tsdi": fit.rmse,
            "n_days": fit.n,
            "cycles": [d.cycle.label for d in data],
            "base_temp_prior_c": list(BASE_TEMP_PRIOR),
            "picking_fraction": PICKING_FRACTION,
            "procedure": "teaplatform.garden.growth_fit (rising phase, least squares, "
            "base-temperature prior); temperatures: hourly median of WS01-WS04, gaps filled",
        },
        "validation": validation.to_dict(),
        "provenance": {
            **SOURCE,
            "files": {p.name: _sha256(p) for p in files},
            "command": "teaplatform growth fit --out packages/teaplatform/src/teaplatform/garden",
        },
    }
    return FitOutcome(_round(document), climatology(temps), validation, data)


def write(outcome: FitOutcome, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    params = out_dir / PARAMS_FILE.name
    params.write_text(json.dumps(outcome.document, indent=2, ensure_ascii=False) + "\n")
    clim = out_dir / CLIMATOLOGY_FILE.name
    with clim.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["doy", *(f"h{h:02d}" for h in range(HOURS_PER_DAY))])
        for doy, row in enumerate(outcome.climatology.temps_c, start=1):
            writer.writerow([doy, *(f"{v:.2f}" for v in row)])
    return params, clim


def read_climatology(path: Path) -> Climatology:
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if len(rows) != CLIMATE_DAYS + 1 or len(rows[0]) != HOURS_PER_DAY + 1:
        raise ValueError(f"{path}: expected a header and 366 rows of doy + 24 hours")
    return Climatology(np.array([[float(v) for v in row[1:]] for row in rows[1:]]))


def read(params: Path = PARAMS_FILE, clim: Path = CLIMATOLOGY_FILE) -> GrowthParams:
    document = json.loads(params.read_text())
    return GrowthParams(FlushModel.from_dict(document["model"]), read_climatology(clim), document)


@cache
def shipped() -> GrowthParams:
    """The parameters that come with the package (read once)."""
    return read()


def differences(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Where two parameter documents differ beyond rounding (floats: relative 1e-4)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        out: list[str] = []
        for key in sorted(set(ours) | set(theirs)):
            if key not in ours or key not in theirs:
                out.append(f"{path}{key}: only in one")
            else:
                out.extend(differences(ours[key], theirs[key], f"{path}{key}."))
        return out
    if isinstance(ours, list) and isinstance(theirs, list):
        if len(ours) != len(theirs):
            return [f"{path.rstrip('.')}: {len(ours)} vs {len(theirs)} items"]
        return [
            d
            for i, (a, b) in enumerate(zip(ours, theirs, strict=True))
            for d in differences(a, b, f"{path}{i}.")
        ]
    if isinstance(ours, float | int) and isinstance(theirs, float | int):
        same = math.isclose(ours, theirs, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-6)
        return [] if same else [f"{path.rstrip('.')}: {ours} vs {theirs}"]
    return [] if ours == theirs else [f"{path.rstrip('.')}: {ours!r} vs {theirs!r}"]
