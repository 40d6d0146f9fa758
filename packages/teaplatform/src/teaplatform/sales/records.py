"""Sales records and row-level validation (pure: rows in, records and errors out).

A table (CSV or Excel) has a header row; columns are found by name (English or Chinese
aliases, case-insensitive) or through an explicit mapping ``field -> header``. Every data row
either becomes a `SaleRecord` or yields `RowError`s naming its line, column and reason, so a
sales team can fix the file and import it again. Rows with the same key (product, channel,
region, date) are merged — quantities add up, the price becomes the quantity-weighted mean —
so one file always yields one record per key and importing it twice changes nothing.
"""

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

FIELDS = ("product", "channel", "region", "date", "quantity", "price")
REQUIRED = ("product", "date", "quantity")
DEFAULT_DIMENSION = "all"  # channel/region of files that lack those columns
MAX_NAME = 120

ALIASES: Mapping[str, tuple[str, ...]] = {
    "product": ("product", "sku", "item", "tea", "产品", "商品", "品名"),
    "channel": ("channel", "渠道", "销售渠道"),
    "region": ("region", "area", "market", "地区", "区域", "市场"),
    "date": ("date", "day", "sale_date", "日期", "销售日期"),
    "quantity": ("quantity", "qty", "units", "volume", "数量", "销量"),
    "price": ("price", "unit_price", "avg_price", "单价", "价格"),
}

_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%d/%m/%Y")
_CJK_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$")


class ColumnError(ValueError):
    """The header lacks a required column (or a mapping names a header that is not there)."""


@dataclass(frozen=True, slots=True)
class SaleRecord:
    product: str
    channel: str
    region: str
    date: dt.date
    quantity: float
    price: float | None  # unit price; None when the file has no price column or cell

    @property
    def key(self) -> tuple[str, str, str, dt.date]:
        return (self.product, self.channel, self.region, self.date)


@dataclass(frozen=True, slots=True)
class RowError:
    line: int  # 1-based line (row) number in the file, header = line 1
    column: str
    reason: str
    value: str = ""


@dataclass
class Validation:
    records: list[SaleRecord] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0  # data rows read
    bad_rows: int = 0  # rows with at least one error (rejected whole)
    merged: int = 0  # good rows folded into an earlier row with the same key


def resolve_columns(
    header: Sequence[object], mapping: Mapping[str, str] | None = None
) -> dict[str, int]:
    """Field -> column index. `mapping` (field -> header text) overrides the aliases."""
    names = [_norm(h) for h in header]
    mapping = dict(mapping or {})
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise ColumnError(f"unknown field(s) {unknown} in the mapping; fields are {list(FIELDS)}")
    found: dict[str, int] = {}
    for name in FIELDS:
        wanted = (mapping[name],) if name in mapping else ALIASES[name]
        for alias in wanted:
            if _norm(alias) in names:
                found[name] = names.index(_norm(alias))
                break
        else:
            if name in mapping:
                raise ColumnError(f"column {mapping[name]!r} (for {name}) is not in the header")
    missing = [name for name in REQUIRED if name not in found]
    if missing:
        raise ColumnError(
            f"missing column(s) {missing}: header is {[str(h) for h in header]}; "
            f"name them {', '.join(f'{m} ({ALIASES[m][0]})' for m in missing)} or pass a mapping"
        )
    return found


def validate(
    rows: Iterable[tuple[int, Sequence[object]]], columns: Mapping[str, int]
) -> Validation:
    """Check each (line, cells) row; keep the good ones merged by key, report the bad ones."""
    result = Validation()
    merged: dict[tuple[str, str, str, dt.date], SaleRecord] = {}
    for line, cells in rows:
        if all(_blank(c) for c in cells):
            continue  # spreadsheets end with empty rows
        result.rows += 1
        record, errors = _parse_row(line, cells, columns)
        if errors:
            result.errors.extend(errors)
            result.bad_rows += 1
            continue
        assert record is not None
        earlier = merged.get(record.key)
        if earlier is not None:
            result.merged += 1
            record = _merge(earlier, record)
        merged[record.key] = record
    result.records = list(merged.values())
    return result


def _parse_row(
    line: int, cells: Sequence[object], columns: Mapping[str, int]
) -> tuple[SaleRecord | None, list[RowError]]:
    errors: list[RowError] = []

    def cell(name: str) -> object:
        index = columns.get(name)
        return cells[index] if index is not None and index < len(cells) else None

    def text(name: str, default: str | None) -> str:
        value = cell(name)
        if _blank(value):
            if default is None:
                errors.append(RowError(line, name, "empty"))
            return default or ""
        out = str(value).strip()
        if len(out) > MAX_NAME:
            errors.append(RowError(line, name, f"longer than {MAX_NAME} characters", out[:40]))
        return out

    product = text("product", None)
    channel = text("channel", DEFAULT_DIMENSION)
    region = text("region", DEFAULT_DIMENSION)
    date = parse_date(cell("date"))
    if date is None:
        errors.append(RowError(line, "date", "not a date (use YYYY-MM-DD)", _show(cell("date"))))
    quantity = _number(cell("quantity"))
    if quantity is None:
        errors.append(RowError(line, "quantity", "not a number", _show(cell("quantity"))))
    elif quantity < 0:
        errors.append(
            RowError(line, "quantity", "negative (record returns separately)", _show(quantity))
        )
    price: float | None = None
    if not _blank(cell("price")):
        price = _number(cell("price"))
        if price is None:
            errors.append(RowError(line, "price", "not a number", _show(cell("price"))))
        elif price <= 0:
            errors.append(RowError(line, "price", "must be positive", _show(price)))
    if errors or date is None or quantity is None:
        return None, errors
    return SaleRecord(product, channel, region, date, quantity, price), []


def _merge(a: SaleRecord, b: SaleRecord) -> SaleRecord:
    quantity = a.quantity + b.quantity
    prices = [(r.price, r.quantity) for r in (a, b) if r.price is not None]
    price: float | None = None
    if prices:
        weight = sum(q for _, q in prices)
        price = (
            sum(p * q for p, q in prices) / weight
            if weight > 0
            else sum(p for p, _ in prices) / len(prices)
        )
    return SaleRecord(a.product, a.channel, a.region, a.date, quantity, price)


def parse_date(value: object) -> dt.date | None:
    """A date from a cell: a date/datetime (Excel), or text in a few common layouts."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if _blank(value):
        return None
    text = str(value).strip()
    if match := _CJK_DATE.match(text):
        year, month, day = (int(g) for g in match.groups())
        try:
            return dt.date(year, month, day)
        except ValueError:
            return None
    text = text.split("T")[0].split(" ")[0]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool) or _blank(value):
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip().replace(",", "").replace("¥", "").replace("￥", "")
        try:
            number = float(text)
        except ValueError:
            return None
    return number if math.isfinite(number) else None


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _norm(value: object) -> str:
    return str(value or "").strip().lower().replace(" ", "_")


def _show(value: object) -> str:
    return "" if value is None else str(value)[:40]
