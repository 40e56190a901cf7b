"""Reading and writing sheets: ``.xlsx`` through openpyxl, CSV through the csv module."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import IO, Any

from django.utils.translation import gettext as _

from core.exceptions import DomainError

from .spec import Column, ImportKind, Row, RowError, RowErrors, convert, to_cell

FORMATS = ("xlsx", "csv")
MAX_BYTES = 20 * 1024 * 1024
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


def format_of(filename: str) -> str:
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext not in FORMATS:
        raise DomainError(
            _("Upload an Excel (.xlsx) or CSV (.csv) file."), field="file", code="INVALID_FORMAT"
        )
    return ext


def csv_text(data: bytes) -> str | None:
    """A CSV file's text: UTF-8 (with or without BOM) or GBK/GB18030, as Excel in China
    saves it; ``None`` when it is neither, or holds NUL (UTF-16 or binary: never text
    PostgreSQL can store). Every CSV upload (imports, order sheets, plugins) reads here."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    return None


def _decode(data: bytes) -> str:
    text = csv_text(data)
    if text is None:
        raise DomainError(
            _("The CSV file is not UTF-8 or GBK text."), field="file", code="INVALID_FORMAT"
        )
    return text


def csv_rows(text: str, dialect: Any = csv.excel) -> list[list[str]]:
    """Every row of a CSV text; a cell longer than the csv module's field limit (or
    anything else it cannot split) is ``INVALID_FORMAT`` on the file, not csv.Error."""
    try:
        return list(csv.reader(io.StringIO(text), dialect))
    except csv.Error:
        raise DomainError(
            _("The CSV file cannot be read: a cell is longer than %(n)d characters.")
            % {"n": csv.field_size_limit()},
            field="file",
            code="INVALID_FORMAT",
        ) from None


def read_cells(fileobj: IO[bytes], fmt: str) -> list[list[Any]]:
    """All non-empty rows of the first sheet, header first."""
    data = fileobj.read()
    if len(data) > MAX_BYTES:
        raise DomainError(_("The file is larger than 20 MB."), field="file", code="TOO_LARGE")
    if fmt == "csv":
        text = _decode(data)
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        rows = csv_rows(text, dialect)
    else:
        from openpyxl import load_workbook

        try:
            # read_only parses the sheet's XML while iterating: a broken sheet fails here too
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheet = workbook.worksheets[0]
                rows = [list(r) for r in sheet.iter_rows(values_only=True)]
            finally:
                workbook.close()
        except Exception as exc:  # noqa: BLE001 - not a zip, not a workbook, broken XML, no worksheet: the user's file
            raise DomainError(
                _("The file is not a readable .xlsx workbook."), field="file", code="INVALID_FORMAT"
            ) from exc
    # what an export quoted so that a spreadsheet keeps it text (csv_row), as it was
    return [[unquote_formula(c) if isinstance(c, str) else c for c in row] for row in rows]


def _normal(text: Any) -> str:
    return str(text or "").strip().rstrip("*").strip().lower()


def parse(kind: ImportKind, cells: list[list[Any]]) -> list[Row]:
    """Rows keyed by column key, converted by type; RowErrors with every bad cell.

    Headers may be the column keys or their labels (any language the template
    was downloaded in). Blank rows are skipped; unknown columns are refused so
    a typo in a header is not silently ignored.
    """
    if not cells or not any(c not in (None, "") for c in cells[0]):
        raise RowErrors(
            [
                RowError(
                    1, None, "EMPTY", _("The sheet is empty: the first row must name the columns.")
                )
            ]
        )
    by_name: dict[str, Column] = {}
    for column in kind.columns:
        by_name[_normal(column.key)] = column
        by_name[_normal(column.label)] = column
        by_name[_normal(column.header())] = column
    header: list[Column | None] = []
    errors: list[RowError] = []
    for text in cells[0]:
        if text in (None, ""):
            header.append(None)
            continue
        column = by_name.get(_normal(text))
        if column is None:
            errors.append(
                RowError(
                    1, str(text), "UNKNOWN_COLUMN", _("Unknown column %(name)s.") % {"name": text}
                )
            )
        header.append(column)
    present = {c.key for c in header if c is not None}
    for column in kind.columns:
        if column.required and column.key not in present:
            errors.append(
                RowError(
                    1,
                    column.key,
                    "MISSING_COLUMN",
                    _("The column %(name)s is missing.") % {"name": column.header()},
                )
            )
    if errors:
        raise RowErrors(errors)
    data_rows = [
        (i + 1, r) for i, r in enumerate(cells) if i > 0 and any(c not in (None, "") for c in r)
    ]
    if len(data_rows) > kind.max_rows:
        raise RowErrors(
            [
                RowError(
                    1,
                    None,
                    "TOO_MANY_ROWS",
                    _("At most %(n)d rows per file.") % {"n": kind.max_rows},
                )
            ]
        )
    rows: list[Row] = []
    for number, raw in data_rows:
        values: dict[str, Any] = {}
        refused: set[str] = set()
        for column, cell in zip(header, raw, strict=False):
            if column is None:
                continue
            try:
                values[column.key] = convert(column, cell)
            except DomainError as exc:
                errors.append(RowError(number, column.key, exc.code, exc.message))
                refused.add(column.key)
        for column in kind.columns:
            if (
                column.required
                and column.key in present
                and column.key not in values
                and column.key not in refused
            ):
                errors.append(
                    RowError(
                        number,
                        column.key,
                        "REQUIRED",
                        _("%(column)s is required.") % {"column": column.label},
                    )
                )
        rows.append(Row(number=number, values=values))
    if errors:
        raise RowErrors(errors)
    return rows


def write(
    kind: ImportKind, rows: Iterable[dict[str, Any]], fmt: str, *, with_help: bool = False
) -> bytes:
    """A sheet of ``rows`` in ``kind``'s columns (the template when rows is the example)."""
    headers = [c.header() for c in kind.columns]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(csv_row(headers))
        for row in rows:
            writer.writerow(csv_row(to_cell(c, row.get(c.key)) for c in kind.columns))
        return ("\ufeff" + out.getvalue()).encode("utf-8")  # BOM: Excel opens it as UTF-8
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook(write_only=not with_help)
    sheet = (
        workbook.create_sheet(str(kind.label)[:31] or kind.key)
        if not with_help
        else workbook.active
    )
    if with_help:
        sheet.title = str(kind.label)[:31] or kind.key
    sheet.append(headers)
    if with_help:
        for cell in sheet[1]:
            cell.font = Font(bold=True)
    for row in rows:
        sheet.append(sheet_row(sheet, [to_cell(c, row.get(c.key)) for c in kind.columns]))
    if with_help:
        notes = workbook.create_sheet(_("Help")[:31])
        notes.append([_("Column"), _("Key"), _("Type"), _("Required"), _("What to enter")])
        for c in kind.columns:
            notes.append([str(c.label), c.key, c.type, _("yes") if c.required else "", str(c.help)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# What a spreadsheet reads as the start of a formula in a CSV cell (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def csv_row(values: Iterable[Any]) -> list[Any]:
    """A row for ``csv.writer``: text a spreadsheet would run as a formula (a name like
    ``=HYPERLINK(...)``, ``@SUM(...)``, ``-2+3``) is written after an apostrophe, which
    makes Excel and LibreOffice keep it as text; a number (``-5``, ``+1.5``) is left as
    it is. The imports read such a cell back without the apostrophe
    (:func:`unquote_formula`), so an export imports back unchanged."""
    return [
        "'" + value
        if isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not _NUMBER.fullmatch(value)
        else value
        for value in values
    ]


def unquote_formula(text: str) -> str:
    """A cell :func:`csv_row` wrote after an apostrophe, as it was."""
    if text.startswith("'") and text[1:2] and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def sheet_row(sheet: Any, values: Iterable[Any]) -> list[Any]:
    """A row for ``sheet.append``: text stays text. openpyxl makes any string that starts
    with "=" a formula, so an exported name like ``=HYPERLINK(...)`` would run in Excel."""
    from openpyxl.cell import WriteOnlyCell

    row = []
    for value in values:
        if isinstance(value, str) and value.startswith("="):
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            row.append(cell)
        else:
            row.append(value)
    return row


def template(kind: ImportKind, fmt: str) -> bytes:
    """The downloadable template: the header, one example row and (xlsx) a help sheet."""
    return write(kind, [kind.example_row()], fmt, with_help=(fmt == "xlsx"))
