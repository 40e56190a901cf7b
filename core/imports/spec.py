"""Column specs, typed cell conversion, row errors and the ImportKind contract."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.exceptions import DomainError, has_nul

# Cell types a column may declare.
TEXT, INTEGER, DECIMAL, BOOLEAN, LIST, JSON, DATE = (
    "text",
    "integer",
    "decimal",
    "boolean",
    "list",
    "json",
    "date",
)


@dataclass(frozen=True)
class Column:
    """One column of a sheet.

    ``key`` is the stable name programs use (and the CSV/xlsx header may use);
    ``label`` is the header the template shows, in the user's language. Either
    is accepted when reading. ``type`` converts the cell; ``LIST`` splits on
    ``|``; ``JSON`` accepts JSON or ``key=value; key=value``.
    """

    key: str
    label: Any
    type: str = TEXT
    required: bool = False
    help: Any = ""
    example: Any = ""
    max_length: int | None = None

    def header(self) -> str:
        return f"{self.label}" + (" *" if self.required else "")


@dataclass(frozen=True)
class RowError:
    row: int  # as the sheet shows it: the header is row 1
    column: str | None  # a column key, or None for the whole row
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.row,
            "column": self.column,
            "code": self.code,
            "message": str(self.message),
        }


@dataclass
class Row:
    number: int
    values: dict[str, Any]


@dataclass
class ApplyResult:
    created: int = 0
    updated: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"created": self.created, "updated": self.updated, **self.extra}


class RowErrors(Exception):
    """Validation found problems; nothing was (or will be) saved."""

    def __init__(self, errors: Sequence[RowError]):
        super().__init__(f"{len(errors)} errors")
        self.errors = sorted(errors, key=lambda e: (e.row, e.column or ""))


Progress = Callable[[int, int], None]


class ImportKind:
    """What one kind of sheet holds and how it is applied. Subclass and register.

    * ``columns``: the :class:`Column` list (template, reading, export order);
    * ``validate(rows, user)``: every problem as :class:`RowError` (raise
      :class:`RowErrors`) or a prepared payload for ``apply``; no writes;
    * ``apply(payload, user, progress)``: write, raising DomainError (or
      RowErrors) to roll the whole import back; runs inside one transaction;
    * ``export_rows(user)``: dicts keyed by column key, scoped to what ``user``
      may see.
    """

    key: str = ""
    label: Any = ""
    columns: Sequence[Column] = ()
    max_rows: int = 100_000

    def validate(self, rows: list[Row], *, user) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(
        self, payload: Any, *, user, progress: Progress | None = None
    ) -> ApplyResult:  # pragma: no cover
        raise NotImplementedError

    def export_rows(self, *, user) -> Iterable[dict[str, Any]]:  # pragma: no cover - abstract
        raise NotImplementedError

    def example_row(self) -> dict[str, Any]:
        return {c.key: c.example for c in self.columns}

    def column(self, key: str) -> Column | None:
        return next((c for c in self.columns if c.key == key), None)


# --- cell conversion -----------------------------------------------------------------------
_TRUE = {"1", "true", "yes", "y", "是", "x", "✓"}
_FALSE = {"0", "false", "no", "n", "否", ""}


WHOLE_NUMBER = re.compile(r"[+-]?\d+(?:\.0*)?")


def whole_number(raw: Any) -> int | None:
    """A cell as an integer: 12, 12.0 or "12" / "12.0" (Excel's number or text, full-width
    digits too); None for anything else, a fraction above all (2.05 is not 2). Every
    sheet (imports, order uploads) reads whole numbers here."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return int(raw) if raw.is_integer() else None
    text = str(raw if raw is not None else "").strip()
    if not WHOLE_NUMBER.fullmatch(text):
        return None
    return int(text.split(".")[0])


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise ValueError(text)
    return value


def convert(column: Column, raw: Any) -> Any:
    """The cell's value for ``column`` (None when empty), or DomainError(code=INVALID)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if column.required:
            raise DomainError(
                _("%(column)s is required.") % {"column": column.label}, code="REQUIRED"
            )
        return None
    kind = column.type
    if kind == TEXT:
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)  # a code typed as a number in Excel
        value = str(raw).strip()
        if column.max_length and len(value) > column.max_length:
            raise DomainError(
                _("At most %(n)d characters.") % {"n": column.max_length}, code="TOO_LONG"
            )
        return value
    if kind == INTEGER:
        value = whole_number(raw)
        if value is None:
            raise DomainError(_("Enter a whole number."), code="INVALID")
        return value
    if kind == DECIMAL:
        try:
            value = (
                Decimal(repr(raw))
                if isinstance(raw, float)
                else Decimal(str(raw).strip().replace(",", ""))
            )
        except InvalidOperation:
            raise DomainError(_("Enter a number."), code="INVALID") from None
        if not value.is_finite():
            raise DomainError(_("Enter a number."), code="INVALID")
        return value
    if kind == BOOLEAN:
        text = str(raw).strip().lower()
        if text in _TRUE or raw is True:
            return True
        if text in _FALSE or raw is False:
            return False
        raise DomainError(_("Enter yes or no."), code="INVALID")
    if kind == LIST:
        return [p.strip() for p in str(raw).split("|") if p.strip()]
    if kind == JSON:
        text = str(raw).strip()
        if text.startswith("{"):
            try:  # PostgreSQL's json has no NaN or Infinity, nor NUL in text
                value = json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)
            except (ValueError, RecursionError):
                raise DomainError(_("Not valid JSON."), code="INVALID") from None
            if not isinstance(value, dict):
                raise DomainError(_("Expected an object."), code="INVALID")
            if has_nul(value):
                raise DomainError(_("Not valid JSON."), code="INVALID")
            return value
        out = {}
        for part in text.replace("；", ";").split(";"):
            if not part.strip():
                continue
            key, sep, val = part.partition("=")
            if not sep or not key.strip():
                raise DomainError(_("Write key=value; key=value."), code="INVALID")
            out[key.strip()] = val.strip()
        return out
    if kind == DATE:
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(str(raw).strip())
        except ValueError:
            raise DomainError(_("Enter a date as YYYY-MM-DD."), code="INVALID") from None
    return raw


def to_cell(column: Column, value: Any) -> Any:
    """A value as a cell for export (the inverse of :func:`convert`)."""
    if value is None:
        return ""
    if column.type == LIST:
        return "|".join(str(v) for v in value)
    if column.type == JSON:
        if not value:
            return ""
        if isinstance(value, str):
            return value
        if all(isinstance(v, (str, int, float, bool)) for v in value.values()):
            return "; ".join(f"{k}={v}" for k, v in value.items())
        return json.dumps(value, ensure_ascii=False)
    if column.type == BOOLEAN:
        return "yes" if value else "no"
    if column.type == DECIMAL:
        return str(value)
    return value


REQUIRED_LABEL = gettext_lazy("required")
