"""Typed product attributes: the per-category schema and the values checked against it.

A category's ``attribute_schema`` is a list of definitions::

    [{"code": "voltage", "label": "Voltage", "type": "number", "unit": "V", "required": true},
     {"code": "colour", "label": "Colour", "type": "choice", "choices": ["red", "blue"]},
     {"code": "material", "label": "Material", "type": "text", "max_length": 80},
     {"code": "rohs", "label": "RoHS", "type": "boolean"}]

A product's effective schema is its category's plus every ancestor's (a
subcategory refines, it never drops, its parent's attributes). Values are
stored in ``Product.attributes`` as plain JSON: text as a string, a number as
a number in the schema's unit (``"12 V"`` is accepted and stored as ``12``),
a choice as one of the declared choices, a boolean as ``true``/``false``.
Attributes the schema does not declare are refused, so filters stay reliable.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from core.exceptions import DomainError, ValidationFailed

TYPES = ("text", "number", "choice", "boolean")
_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_NUMBER_RE = re.compile(r"^\s*(-?\d+(?:[.,]\d+)?)\s*([^\d\s].*)?$")


def clean_schema(schema: Any, *, field: str = "attribute_schema") -> list[dict[str, Any]]:
    """A validated, normalised attribute schema, or ValidationFailed naming each bad entry."""
    if schema in (None, ""):
        return []
    if not isinstance(schema, list):
        raise DomainError(
            _("The attribute schema is a list of attributes."), field=field, code="INVALID"
        )
    errors: list[DomainError] = []
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(schema):
        where = f"{field}.{i}"
        if not isinstance(raw, Mapping):
            errors.append(
                DomainError(_("Each attribute is an object."), field=where, code="INVALID")
            )
            continue
        code = str(raw.get("code") or "").strip()
        kind = raw.get("type") or "text"
        if not _CODE_RE.match(code):
            errors.append(
                DomainError(
                    _(
                        "An attribute code is lower-case letters, digits and '_', starting with a letter."
                    ),
                    field=f"{where}.code",
                    code="INVALID",
                )
            )
            continue
        if code in seen:
            errors.append(
                DomainError(
                    _("The attribute %(code)s is declared twice.") % {"code": code},
                    field=f"{where}.code",
                    code="DUPLICATE",
                )
            )
            continue
        seen.add(code)
        if kind not in TYPES:
            errors.append(
                DomainError(
                    _("Unknown attribute type %(type)s; use text, number, choice or boolean.")
                    % {"type": kind},
                    field=f"{where}.type",
                    code="INVALID",
                )
            )
            continue
        entry: dict[str, Any] = {
            "code": code,
            "label": str(raw.get("label") or code),
            "type": kind,
            "required": bool(raw.get("required", False)),
        }
        if kind == "number":
            entry["unit"] = str(raw.get("unit") or "")
        if kind == "text" and raw.get("max_length"):
            entry["max_length"] = int(raw["max_length"])
        if kind == "choice":
            choices = raw.get("choices")
            if (
                not isinstance(choices, list)
                or not choices
                or not all(isinstance(c, str) for c in choices)
            ):
                errors.append(
                    DomainError(
                        _("A choice attribute needs a list of choices."),
                        field=f"{where}.choices",
                        code="INVALID",
                    )
                )
                continue
            entry["choices"] = choices
        out.append(entry)
    if errors:
        raise ValidationFailed(errors)
    return out


def merge_schemas(schemas: Iterable[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Ancestors' schemas first; a descendant's definition of the same code wins."""
    merged: dict[str, dict[str, Any]] = {}
    for schema in schemas:
        for entry in schema or []:
            if isinstance(entry, Mapping) and entry.get("code"):
                merged[entry["code"]] = dict(entry)
    return list(merged.values())


def _number(value: Any, unit: str) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    match = _NUMBER_RE.match(str(value))
    if not match:
        return None
    given_unit = (match.group(2) or "").strip()
    if given_unit and unit and given_unit.lower() != unit.lower():
        return None
    try:
        number = Decimal(match.group(1).replace(",", "."))
    except InvalidOperation:
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def clean_attributes(
    schema: list[dict[str, Any]], values: Mapping[str, Any] | None, *, field: str = "attributes"
) -> dict[str, Any]:
    """``values`` checked and converted against ``schema``; ValidationFailed names each bad one
    as ``attributes.<code>``."""
    values = dict(values or {})
    errors: list[DomainError] = []
    out: dict[str, Any] = {}
    by_code = {e["code"]: e for e in schema}
    for code in values:
        if code not in by_code:
            errors.append(
                DomainError(
                    _("The category has no attribute %(code)s.") % {"code": code},
                    field=f"{field}.{code}",
                    code="UNKNOWN_ATTRIBUTE",
                )
            )
    for code, entry in by_code.items():
        where = f"{field}.{code}"
        value = values.get(code)
        if value is None or (isinstance(value, str) and not value.strip()):
            if entry.get("required"):
                errors.append(
                    DomainError(
                        _("%(label)s is required.") % {"label": entry.get("label", code)},
                        field=where,
                        code="REQUIRED",
                    )
                )
            continue
        kind = entry.get("type", "text")
        if kind == "text":
            text = str(value).strip()
            limit = entry.get("max_length")
            if limit and len(text) > limit:
                errors.append(
                    DomainError(
                        _("%(label)s is at most %(n)d characters.")
                        % {"label": entry.get("label", code), "n": limit},
                        field=where,
                        code="INVALID",
                    )
                )
                continue
            out[code] = text
        elif kind == "number":
            number = _number(value, entry.get("unit", ""))
            if number is None:
                unit = entry.get("unit") or ""
                errors.append(
                    DomainError(
                        _("%(label)s must be a number%(unit)s.")
                        % {"label": entry.get("label", code), "unit": f" ({unit})" if unit else ""},
                        field=where,
                        code="INVALID",
                    )
                )
                continue
            out[code] = number
        elif kind == "choice":
            text = str(value).strip()
            if text not in entry.get("choices", []):
                errors.append(
                    DomainError(
                        _("%(value)s is not one of the choices for %(label)s: %(choices)s")
                        % {
                            "value": text,
                            "label": entry.get("label", code),
                            "choices": ", ".join(entry.get("choices", [])),
                        },
                        field=where,
                        code="INVALID_CHOICE",
                    )
                )
                continue
            out[code] = text
        elif kind == "boolean":
            if isinstance(value, bool):
                out[code] = value
            elif str(value).strip().lower() in ("1", "true", "yes", "y", "是"):
                out[code] = True
            elif str(value).strip().lower() in ("0", "false", "no", "n", "否"):
                out[code] = False
            else:
                errors.append(
                    DomainError(
                        _("%(label)s is yes or no.") % {"label": entry.get("label", code)},
                        field=where,
                        code="INVALID",
                    )
                )
    if errors:
        raise ValidationFailed(errors)
    return out
