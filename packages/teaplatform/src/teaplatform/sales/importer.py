"""Reading sales tables: CSV (UTF-8, or GB18030 as Chinese Excel saves it) and XLSX."""

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import PurePath

EXTENSIONS = (".csv", ".txt", ".xlsx", ".xlsm")


class UnreadableFile(ValueError):
    """Not a table we can read (unknown extension, bad encoding, broken workbook, empty)."""


Rows = Iterator[tuple[int, Sequence[object]]]


def read_table(data: bytes, filename: str) -> tuple[list[object], Rows]:
    """(header, rows with their 1-based line numbers) of the first sheet or the CSV."""
    suffix = PurePath(filename).suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(data)
    if suffix in (".csv", ".txt"):
        return _read_csv(data)
    raise UnreadableFile(
        f"{filename}: unsupported file type {suffix or '(none)'}; use {', '.join(EXTENSIONS)}"
    )


def _read_csv(data: bytes) -> tuple[list[object], Rows]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableFile("the CSV is neither UTF-8 nor GB18030 text")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(
            text[:4096], delimiters=",;\t"
        )
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = next(reader, None)
    if not header:
        raise UnreadableFile("the file is empty")
    return list(header), ((i, row) for i, row in enumerate(reader, start=2))


def _read_xlsx(data: bytes) -> tuple[list[object], Rows]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise UnreadableFile(f"not a readable Excel workbook: {exc}") from exc
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if not header:
        book.close()
        raise UnreadableFile("the first sheet is empty")

    def body() -> Rows:
        try:
            yield from ((i, list(row)) for i, row in enumerate(rows, start=2))
        finally:
            book.close()

    return list(header), body()
