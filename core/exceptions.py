"""Domain errors raised by services.

Every channel turns a :class:`DomainError` into the same typed error: GraphQL
mutations put it in their payload's ``errors`` list (``field``, ``message``,
``code``), imports report it on the row, pages show it beside the field.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code: str = "INVALID"

    def __init__(
        self, message: str, *, code: str | None = None, field: str | None = None, **params: Any
    ):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field
        self.params = params

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, "code": self.code, **self.params}


class ValidationFailed(DomainError):
    """Several problems at once (for example every bad row of an import)."""

    def __init__(self, errors: list[DomainError], message: str = "Validation failed"):
        super().__init__(message, code="INVALID")
        self.errors = errors


def has_nul(value: Any) -> bool:
    """Whether a string anywhere in ``value`` (decoded JSON: dicts, lists, strings)
    holds NUL, which PostgreSQL can neither store nor compare in text."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nul(v) for v in value)
    return False


class PermissionDenied(DomainError):
    code = "PERMISSION_DENIED"


class NotFound(DomainError):
    code = "NOT_FOUND"


def check_lengths(
    model_class: Any, /, *, report_as: dict[str, str] | None = None, **values: Any
) -> None:
    """Raise :class:`ValidationFailed` with a ``TOO_LONG`` error per text value longer
    than its column on ``model_class`` (keyword = field name; the error names the field, or
    what ``report_as`` maps it to), instead of letting the database refuse the row."""
    from django.utils.translation import gettext as _

    errors = []
    for name, value in values.items():
        limit = model_class._meta.get_field(name).max_length
        if isinstance(value, str) and limit and len(value) > limit:
            field = (report_as or {}).get(name, name)
            errors.append(
                DomainError(
                    _("At most %(n)d characters.") % {"n": limit}, field=field, code="TOO_LONG"
                )
            )
    if errors:
        raise ValidationFailed(errors)
