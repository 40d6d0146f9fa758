"""Row-level validation of sales tables, and reading CSV/XLSX."""

import datetime as dt
import io

import openpyxl
import pytest

from teaplatform.sales.importer import UnreadableFile, read_table
from teaplatform.sales.records import ColumnError, parse_date, resolve_columns, validate

pytestmark = pytest.mark.unit

HEADER = ["product", "channel", "region", "date", "quantity", "price"]


def check(rows: list[list[object]], header: list[object] = HEADER):  # type: ignore[no-untyped-def]
    return validate(enumerate(rows, start=2), resolve_columns(header))


def test_good_rows_become_records_and_bad_rows_are_reported_by_line_and_column() -> None:
    result = check(
        [
            ["Anhua dark", "online", "Hunan", "2025-03-01", "12", "98.5"],
            ["Anhua dark", "online", "Hunan", "2025-13-01", "12", "98.5"],  # no 13th month
            ["", "online", "Hunan", "2025-03-02", "x", "-1"],  # three faults, one row
            ["Hunan black", "tea shop", "Hunan", "2025/03/02", "-3", ""],
        ]
    )
    assert [(r.product, r.date, r.quantity, r.price) for r in result.records] == [
        ("Anhua dark", dt.date(2025, 3, 1), 12.0, 98.5)
    ]
    assert result.rows == 4 and result.bad_rows == 3
    assert [(e.line, e.column) for e in result.errors] == [
        (3, "date"),
        (4, "product"),
        (4, "quantity"),
        (4, "price"),
        (5, "quantity"),
    ]
    assert result.errors[0].value == "2025-13-01"


def test_rows_with_the_same_key_merge_into_one_record_with_a_weighted_price() -> None:
    result = check(
        [
            ["green", "online", "Hunan", "2025-03-01", 10, 100],
            ["green", "online", "Hunan", "2025-03-01", 30, 80],
            ["green", "online", "Hunan", "2025-03-02", 5, None],
        ]
    )
    first, second = result.records
    assert first.quantity == 40 and first.price == pytest.approx(85.0)
    assert second.price is None
    assert result.merged == 1


def test_chinese_headers_and_a_missing_channel_column_default_to_all() -> None:
    result = check(
        [["白茶", "2025年3月1日", "7", "￥238"]], header=["商品", "日期", "销量", "单价"]
    )
    (record,) = result.records
    assert (record.product, record.channel, record.region) == ("白茶", "all", "all")
    assert record.date == dt.date(2025, 3, 1) and record.price == 238.0


def test_missing_required_columns_and_bad_mappings_are_errors_for_the_whole_file() -> None:
    with pytest.raises(ColumnError, match="quantity"):
        resolve_columns(["product", "date"])
    with pytest.raises(ColumnError, match="not in the header"):
        resolve_columns(HEADER, {"product": "sku_name"})
    with pytest.raises(ColumnError, match="unknown field"):
        resolve_columns(HEADER, {"colour": "product"})
    assert resolve_columns(["名称", "date", "qty"], {"product": "名称"}) == {
        "product": 0,
        "date": 1,
        "quantity": 2,
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-02-28", dt.date(2025, 2, 28)),
        ("2025/2/28", dt.date(2025, 2, 28)),
        ("20250228", dt.date(2025, 2, 28)),
        ("2025-02-28T10:00:00", dt.date(2025, 2, 28)),
        (dt.datetime(2025, 2, 28, 9, 30), dt.date(2025, 2, 28)),
        ("2025-02-30", None),
        ("soon", None),
    ],
)
def test_dates(text: object, expected: dt.date | None) -> None:
    assert parse_date(text) == expected


def test_csv_in_gb18030_with_semicolons_is_read() -> None:
    data = "商品;日期;销量\n黑茶;2025-01-05;3\n".encode("gb18030")
    header, rows = read_table(data, "sales.csv")
    assert header == ["商品", "日期", "销量"]
    assert list(rows) == [(2, ["黑茶", "2025-01-05", "3"])]


def test_xlsx_rows_keep_their_sheet_line_numbers_and_cell_types() -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    sheet.append(["Sangzhi white", "online", "Hunan", dt.datetime(2025, 4, 1), 4, 238.0])
    buffer = io.BytesIO()
    book.save(buffer)
    header, rows = read_table(buffer.getvalue(), "sales.xlsx")
    result = validate(rows, resolve_columns(header))
    assert result.records[0].date == dt.date(2025, 4, 1)
    assert result.records[0].quantity == 4.0


def test_unreadable_files_are_refused() -> None:
    with pytest.raises(UnreadableFile, match="unsupported"):
        read_table(b"x", "sales.pdf")
    with pytest.raises(UnreadableFile, match="Excel"):
        read_table(b"not a zip", "sales.xlsx")
    with pytest.raises(UnreadableFile, match="empty"):
        read_table(b"", "sales.csv")
