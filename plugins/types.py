"""The values passed to and returned from plugin hooks.

Plain dataclasses, importable before Django is set up (no model imports), so
the contract in :mod:`plugins.hookspecs` does not move when a core model does.
Objects typed ``Any`` below are core model instances, named in each field's
comment; plugins may read them but change state only through core services.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field
from decimal import Decimal
from typing import Any, Literal

SettingType = Literal["bool", "int", "decimal", "str", "choice"]
FilterKind = Literal["term", "terms", "range"]


@dataclass(frozen=True)
class SettingSpec:
    """One per-tenant setting a plugin declares (hook ``plugin_settings``).

    ``type`` decides how values are validated and stored: ``bool``, ``int``,
    ``decimal`` (stored as a string, returned as :class:`~decimal.Decimal`),
    ``str``, or ``choice`` (one of ``choices``). ``minimum``/``maximum`` bound
    ``int`` and ``decimal`` values. ``description`` is shown in the tenant
    console; pass a lazy translation (``gettext_lazy``).
    """

    name: str
    type: SettingType
    default: Any
    description: Any = ""
    choices: tuple[str, ...] = ()
    minimum: int | Decimal | None = None
    maximum: int | Decimal | None = None


@dataclass
class PriceAdjustment:
    """A plugin's change to a line's unit price (hook ``adjust_line_price``)."""

    unit_price: Decimal
    reason: str
    plugin: str = ""  # filled in by the manager


@dataclass
class OrderLine:
    """One line of an order being placed, as the order service sees it.

    ``quantity`` is always in the SKU's base unit. ``unit`` and
    ``unit_quantity`` say what the dealer typed (``2 case``); after
    ``expand_order_lines`` the core converts ``unit_quantity`` × the unit's
    factor into ``quantity`` unless a plugin already did. ``index`` is the
    position of the line as submitted; lines a plugin adds keep the index of
    the line they came from, so errors point at what the dealer typed.
    ``data`` carries plugin-owned values to the stored order line, keyed by
    plugin name (``{"pharma": {"batch": "B123"}}``).
    """

    index: int
    sku: Any  # core.catalog.models.Sku
    quantity: int
    unit: str = ""
    unit_quantity: int | None = None
    unit_price: Decimal | None = None
    currency: str = "CNY"
    adjustments: list[PriceAdjustment] = _field(default_factory=list)
    data: dict[str, Any] = _field(default_factory=dict)


@dataclass
class OrderContext:
    """Who is ordering, through what, for which tenant: the first argument of order hooks.

    ``lines`` is the whole order, so a hook called for one line can load what
    it needs for every line in one query on its first call and keep it in
    ``cache[<plugin name>]`` for the calls that follow (the order service's
    SQL budget per order does not grow with the number of lines).

    ``preview`` is true when nothing will be placed: the quick-order preview and
    the cart check lines through ``expand_order_lines`` and
    ``validate_order_lines`` so the dealer sees errors before submitting; a
    plugin may then also report what only allocation would find (no stock in
    date), without locking or reserving anything.

    ``locked_stock`` is set by the order service before its first
    ``choose_allocation`` call: the stock rows of every SKU of the order in
    active warehouses (``core.inventory`` ``Stock``), locked, as read under
    the lock. Plugins read it (a plugin that looked at the order's stock
    before the lock can tell whether it changed since); they never change it.
    ``None`` outside allocation.
    """

    tenant: Any  # tenants.models.Tenant
    dealer: Any | None  # core.accounts.models.Dealer
    user: Any | None = None  # core.accounts.models.User; None for API keys and imports
    channel: str = "web"
    currency: str = "CNY"
    order: Any | None = None  # the order, once it exists
    lines: list[OrderLine] = _field(default_factory=list)
    cache: dict[str, Any] = _field(default_factory=dict)
    preview: bool = False
    locked_stock: list[Any] | None = None


@dataclass(frozen=True)
class LineError:
    """Why an order line cannot be accepted (hook ``validate_order_lines``).

    ``code`` is a stable upper-case code the plugin declared through
    ``order_error_codes`` (``EXPIRED_BATCH``); ``index`` is the line's
    ``OrderLine.index``; ``field`` names the input (``quantity``, ``unit``);
    ``params`` holds numbers a client may show (``{"minimum": 6}``).
    """

    index: int
    code: str
    message: str
    field: str | None = None
    params: dict[str, Any] = _field(default_factory=dict)
    plugin: str = ""  # filled in by the manager


@dataclass(frozen=True)
class StockCandidate:
    """Stock the core could take for a line: one warehouse's row for the SKU."""

    warehouse_id: int
    available: int
    stock: Any = None  # core.inventory.models.Stock
    warehouse: Any = None  # core.inventory.models.Warehouse


@dataclass(frozen=True)
class AllocationPick:
    """Take ``quantity`` base units of a line from a warehouse (hook ``choose_allocation``).

    ``batch`` names the lot or batch when the plugin tracks them; ``data`` is
    stored on the allocation for the plugin (``{"expiry": "2027-01-31"}``).
    """

    warehouse_id: int
    quantity: int
    batch: str | None = None
    data: dict[str, Any] = _field(default_factory=dict)


@dataclass(frozen=True)
class SearchFilter:
    """A filter a plugin adds to product search (hook ``search_filters``).

    ``field`` is a key the plugin puts in search documents through
    ``search_document_fields``; ``kind`` is ``term`` (one value), ``terms``
    (any of several) or ``range`` (``min``/``max``, numbers); ``facet`` asks
    the backend for counts per value (per bucket for ranges).
    """

    name: str
    field: str
    kind: FilterKind
    label: Any = ""
    facet: bool = False
    value_type: Literal["str", "number", "bool"] = "str"
