"""Sales API: import records, list series, forecast with intervals, backtest, analyses."""

import datetime as dt
import json
import math
from dataclasses import asdict
from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, File, Form, HTTPException, Query, UploadFile, status
from pydantic import BaseModel, Field

from teaplatform.api.deps import StoreDep, Writer
from teaplatform.sales import service
from teaplatform.sales.forecasting import MODELS
from teaplatform.sales.importer import UnreadableFile
from teaplatform.sales.records import ColumnError
from teaplatform.sales.repository import series_summary
from teaplatform.sales.series import Freq, SeriesFilter

router = APIRouter(prefix="/sales", tags=["sales"])

Dimension = Literal["product", "channel", "region"]
ModelName = Literal["seasonal-naive", "auto-ets", "auto-arima", "theta", "lightgbm"]
MAX_UPLOAD = 50 * 1024 * 1024


class RowErrorOut(BaseModel):
    line: int
    column: str
    reason: str
    value: str


class ImportOut(BaseModel):
    source: str
    rows: int = Field(description="data rows read")
    records: int = Field(description="records after merging rows with the same key")
    inserted: int
    updated: int
    unchanged: int
    merged: int
    bad_rows: int
    errors: list[RowErrorOut]


class SeriesOut(BaseModel):
    product: str
    channel: str
    region: str
    days: int
    first: dt.date
    last: dt.date
    quantity: float
    revenue: float


class SeriesQuery(BaseModel):
    products: list[str] = []
    channels: list[str] = []
    regions: list[str] = []
    group_by: list[Dimension] = ["product"]
    freq: Freq = Freq.MONTH

    def to_query(self) -> service.Query:
        where = SeriesFilter(tuple(self.products), tuple(self.channels), tuple(self.regions))
        return service.Query(where, tuple(self.group_by), self.freq)


class ForecastIn(SeriesQuery):
    horizon: int = Field(12, ge=1, le=104)
    models: list[ModelName] = ["seasonal-naive", "theta", "lightgbm"]  # = DEFAULT_MODELS
    levels: list[int] = Field([80, 95], max_length=4)


class ForecastPoint(BaseModel):
    unique_id: str
    model: str
    ds: dt.date
    mean: float
    lo: dict[int, float] = Field(description="lower bound per interval level")
    hi: dict[int, float] = Field(description="upper bound per interval level")


class ForecastOut(BaseModel):
    freq: Freq
    horizon: int
    models: list[str]
    levels: list[int]
    series: list[str]
    forecasts: list[ForecastPoint]


class BacktestIn(SeriesQuery):
    horizon: int = Field(6, ge=1, le=104)
    models: list[ModelName] = ["theta", "lightgbm"]
    windows: int = Field(3, ge=1, le=12)
    step: int | None = Field(None, ge=1)


class ScoreOut(BaseModel):
    model: str
    mase: float | None
    smape: float | None
    relative_mase: float | None
    beats_baseline: float | None
    coverage: dict[int, float | None]


class BacktestOut(BaseModel):
    horizon: int
    windows: int
    step: int
    series: int
    baseline: str = "seasonal-naive"
    scores: list[ScoreOut]


class DecompositionOut(BaseModel):
    unique_id: str
    period: int
    trend_strength: float
    seasonal_strength: float


class AbcOut(BaseModel):
    product: str
    revenue: float
    share: float
    cumulative_share: float
    abc_class: str


class ElasticityOut(BaseModel):
    unique_id: str
    elasticity: float | None
    ci_low: float | None
    ci_high: float | None
    confidence: float
    periods: int
    price_cv: float
    warnings: list[str]


class AnalysisOut(BaseModel):
    decomposition: list[DecompositionOut]
    skipped: dict[str, str]
    abc: list[AbcOut]
    elasticity: list[ElasticityOut]


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@router.post("/import", response_model=ImportOut, dependencies=[Writer])
def import_records(
    store: StoreDep,
    file: Annotated[
        UploadFile,
        File(description="CSV or XLSX with product, channel, region, date, quantity, price"),
    ],
    mapping: Annotated[
        str | None, Form(description='JSON object field -> column, e.g. {"product": "商品"}')
    ] = None,
) -> ImportOut:
    """Import a sales table: good rows are stored (idempotently), bad rows reported."""
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise HTTPException(
            status.HTTP_413_CONTENT_TOO_LARGE, f"files up to {MAX_UPLOAD // 2**20} MiB"
        )
    try:
        columns = json.loads(mapping) if mapping else None
        if columns is not None and not isinstance(columns, dict):
            raise ValueError("mapping must be a JSON object")
        report = service.import_table(store, data, file.filename or "upload.csv", columns)
    except (UnreadableFile, ColumnError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return ImportOut(
        **{k: v for k, v in asdict(report).items() if k != "errors"},
        errors=[RowErrorOut(**asdict(e)) for e in report.errors],
    )


@router.get("/series", response_model=list[SeriesOut])
def list_series(store: StoreDep) -> list[SeriesOut]:
    """Every (product, channel, region) with records: span and totals."""
    with store.session() as session:
        return [SeriesOut(**row) for row in series_summary(session)]


@router.get("/models")
def list_models() -> dict[str, str]:
    """The forecasting models by name."""
    return {m.name: m.description for m in MODELS.values()}


@router.post("/forecast", response_model=ForecastOut)
def forecast(store: StoreDep, body: ForecastIn) -> ForecastOut:
    """Forecasts per series with prediction intervals, from each chosen model."""
    try:
        _, table = service.forecast(store, body.to_query(), body.horizon, body.models, body.levels)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    levels = sorted(set(body.levels))
    points = [
        ForecastPoint(
            unique_id=str(row["unique_id"]),
            model=str(row["model"]),
            ds=pd.Timestamp(row["ds"]).date(),
            mean=float(row["mean"]),
            lo={lv: float(row[f"lo_{lv}"]) for lv in levels},
            hi={lv: float(row[f"hi_{lv}"]) for lv in levels},
        )
        for row in table.to_dict("records")
    ]
    return ForecastOut(
        freq=body.freq,
        horizon=body.horizon,
        models=list(dict.fromkeys(body.models)),
        levels=levels,
        series=sorted(table["unique_id"].unique()),
        forecasts=points,
    )


@router.post("/backtest", response_model=BacktestOut)
def backtest(store: StoreDep, body: BacktestIn) -> BacktestOut:
    """Rolling-origin backtest: MASE and sMAPE of each model against seasonal naive."""
    try:
        result = service.run_backtest(
            store, body.to_query(), body.horizon, body.models, windows=body.windows, step=body.step
        )
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    return BacktestOut(
        horizon=result.horizon,
        windows=result.windows,
        step=result.step,
        series=result.series,
        scores=[
            ScoreOut(
                model=s.model,
                mase=_finite(s.mase),
                smape=_finite(s.smape),
                relative_mase=_finite(s.relative_mase),
                beats_baseline=_finite(s.beats_baseline),
                coverage={lv: _finite(c) for lv, c in s.coverage.items()},
            )
            for s in result.scores
        ],
    )


@router.get("/analysis", response_model=AnalysisOut)
def analyse(
    store: StoreDep,
    product: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI reads, never mutates
    channel: Annotated[list[str], Query()] = [],  # noqa: B006
    region: Annotated[list[str], Query()] = [],  # noqa: B006
    group_by: Annotated[list[Dimension], Query()] = ["product"],  # noqa: B006
    freq: Freq = Freq.MONTH,
) -> AnalysisOut:
    """Trend/seasonality strength (STL), ABC classes by revenue, price elasticity."""
    query = SeriesQuery(
        products=product, channels=channel, regions=region, group_by=group_by, freq=freq
    )
    try:
        result = service.analyse(store, query.to_query())
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return AnalysisOut(
        decomposition=[
            DecompositionOut(
                unique_id=d.unique_id,
                period=d.period,
                trend_strength=d.trend_strength,
                seasonal_strength=d.seasonal_strength,
            )
            for d in result.decompositions
        ],
        skipped=result.skipped,
        abc=[AbcOut(**asdict(a)) for a in result.abc],
        elasticity=[
            ElasticityOut(
                unique_id=e.unique_id,
                elasticity=_finite(e.elasticity),
                ci_low=_finite(e.ci_low),
                ci_high=_finite(e.ci_high),
                confidence=e.confidence,
                periods=e.periods,
                price_cv=e.price_cv,
                warnings=e.warnings,
            )
            for e in result.elasticities
        ],
    )
