"""The plugin contract: every hook a Dinghuo plugin may implement.

A plugin is a module (or object) registered under a unique name through the
``dinghuo.plugins`` entry-point group; it implements any subset of the hooks
below with ``@hookimpl`` (``from plugins import hookimpl``), naming only the
arguments it needs. Hook names and arguments are a public API: arguments are
added, never renamed or removed.

Hooks whose docstring says *per tenant* run only for the plugins the current
tenant has enabled (``plugins.manager.hooks_for(tenant)``). The others run
once per process for every installed plugin, and the manager keeps what they
return apart per plugin.

Every docstring has three parts: *Called* (when and by whom), *Arguments*,
and *Returns*. ``tests/plugins/test_contract.py`` fails when one is missing,
and when a hook has no ``test_hook_<name>`` test.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from decimal import Decimal

    from .types import (
        AllocationPick,
        LineError,
        OrderContext,
        OrderLine,
        PriceAdjustment,
        SearchFilter,
        SettingSpec,
        StockCandidate,
    )

PROJECT_NAME = "dinghuo"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)


# --- Installation: called once per process, for every installed plugin -------------


@hookspec
def django_apps() -> list[str]:
    """The Django apps this plugin brings, installed in every tenant schema.

    Called: once, while ``config.settings`` loads (before Django is set up);
    the apps are appended to ``TENANT_APPS``, so their models and migrations
    live in tenant schemas. Neither the plugin module nor this hook may import
    Django models or settings.

    Arguments: none.

    Returns: dotted app paths (``["dinghuo_pharma"]`` or
    ``["dinghuo_pharma.apps.PharmaConfig"]``); an empty list or ``None`` when
    the plugin has no models.
    """


@hookspec
def plugin_settings() -> list[SettingSpec]:
    """Declare the per-tenant settings of this plugin.

    Called: when the tenant console lists a plugin's settings, and by
    ``plugins.services.set_plugin_settings`` / ``plugin_settings`` to validate
    and default values.

    Arguments: none.

    Returns: a list of :class:`plugins.types.SettingSpec` (name, type, default,
    description). Values a tenant sets are stored in the public schema
    (``plugins.TenantPluginConfig``); a tenant that set nothing gets the defaults.
    """


@hookspec
def order_error_codes() -> list[str]:
    """The error codes this plugin's order hooks may return.

    Called: once, when the GraphQL schema is built; the codes join the order
    error enum, so clients see typed codes (``EXPIRED_BATCH``), not ``INVALID``.

    Arguments: none.

    Returns: upper-case codes (``["EXPIRED_BATCH", "LICENCE_REQUIRED"]``).
    """


@hookspec
def stock_error_codes() -> list[str]:
    """The error codes this plugin's ``stock_changed`` hook may refuse a stock change with.

    Called: once, when the GraphQL schema is built; the codes join the stock
    error enum (``StockErrorCode``), so ``stockReceive``, ``stockCount`` and
    ``stockTransfer`` report the plugin's code (``BATCH_REQUIRED``), not
    ``INVALID``. Codes the core already has (``INSUFFICIENT_STOCK``) need not
    be repeated.

    Arguments: none.

    Returns: upper-case codes (``["BATCH_REQUIRED"]``).
    """


@hookspec
def graphql_query() -> Any:
    """GraphQL query fields this plugin adds to the root ``Query``.

    Called: once per process, when ``config.schema`` builds the root schema
    (shared by every tenant). The manager gates every field of the returned
    class and every ``relay.Node`` type reachable from it: for a tenant that
    has not enabled the plugin they answer ``null`` with an error whose
    ``extensions.code`` is ``PLUGIN_DISABLED``, and no resolver runs.

    Arguments: none.

    Returns: a ``graphene.ObjectType`` subclass whose fields are merged into
    ``Query`` (prefix field names with the plugin's domain: ``pharmaBatches``),
    or ``None``.
    """


@hookspec
def graphql_mutation() -> Any:
    """GraphQL mutations this plugin adds to the root ``Mutation``.

    Called: once per process, when ``config.schema`` builds the root schema.
    Fields are gated like those of ``graphql_query``.

    Arguments: none.

    Returns: a ``graphene.ObjectType`` subclass of mutation fields
    (``SetMinimum.Field()``), or ``None``.
    """


@hookspec
def admin_urls() -> list[Any]:
    """Extra pages for the tenant console (the brand's staff).

    Called: once per process, when the tenant URLconf includes
    ``plugins.urls.admin_urlpatterns()``; the patterns are mounted under
    ``<console prefix>/plugins/<plugin name>/`` in the namespace
    ``plugin-admin-<plugin name>``. Each view answers 404 for tenants that have
    not enabled the plugin. Views must check the user's permissions themselves.

    Arguments: none.

    Returns: a list of ``django.urls.path()`` / ``re_path()`` patterns.
    """


@hookspec
def dealer_urls() -> list[Any]:
    """Extra pages for the dealer web app.

    Called: once per process, when the tenant URLconf includes
    ``plugins.urls.dealer_urlpatterns()``; mounted under
    ``<dealer app prefix>/plugins/<plugin name>/`` in the namespace
    ``plugin-dealer-<plugin name>``, 404 for tenants without the plugin.

    Arguments: none.

    Returns: a list of ``django.urls.path()`` / ``re_path()`` patterns.
    """


# --- Tenant lifecycle: per tenant, only the plugin concerned ------------------------


@hookspec
def plugin_enabled(tenant: Any) -> None:
    """The plugin has just been enabled for ``tenant``.

    Called: by ``plugins.services.enable_plugin`` (signup, console), inside its
    transaction, with the connection in the tenant's schema; only this
    plugin's implementation runs. Create default rows here. Raising
    :class:`core.exceptions.DomainError` refuses the enablement.

    Arguments: ``tenant``: the ``tenants.models.Tenant``.

    Returns: nothing.
    """


@hookspec
def plugin_disabled(tenant: Any) -> None:
    """The plugin has just been disabled for ``tenant``.

    Called: by ``plugins.services.disable_plugin``, inside its transaction,
    in the tenant's schema; only this plugin's implementation runs. The
    plugin's tables and data stay (enabling again brings them back).

    Arguments: ``tenant``: the ``tenants.models.Tenant``.

    Returns: nothing.
    """


@hookspec
def load_demo_data(tenant: Any) -> None:
    """Fill the demo tenant with this plugin's sample data.

    Called: per tenant, by the demo loader (``make run``) after the core demo
    data exists, in the tenant's schema, for each plugin the demo tenant has
    enabled. Must be idempotent: it runs on every start.

    Arguments: ``tenant``: the ``tenants.models.Tenant``.

    Returns: nothing.
    """


# --- Ordering: per tenant, on the order service's hot path --------------------------


@hookspec
def expand_order_lines(context: OrderContext, lines: list[OrderLine]) -> None:
    """Convert or expand the lines of an order before anything is checked.

    Called: per tenant, by the order service once per order (every channel),
    after lines are parsed and before units are converted to base units and
    before ``validate_order_lines``. Every enabled plugin is called in turn on
    the same list. Typical uses: case ↔ unit conversion (set ``quantity`` from
    ``unit_quantity``), a mixed case or kit expanded into several SKUs (replace
    the line with new ``OrderLine`` objects keeping its ``index``).

    Arguments: ``context``: :class:`plugins.types.OrderContext`; ``lines``:
    the order's :class:`plugins.types.OrderLine` list, modified in place.

    Returns: nothing (modify ``lines`` in place; ``lines[:] = [...]`` to replace).
    """


@hookspec
def validate_order_lines(context: OrderContext, lines: list[OrderLine]) -> list[LineError]:
    """Refuse order lines that break the plugin's rules.

    Called: per tenant, by the order service once per order, after
    ``expand_order_lines`` and the core's own checks, before prices are
    resolved and before anything is reserved; all enabled plugins are called.
    Any error refuses the whole order (nothing reserved) and is returned to
    the client per line. Also called, after ``expand_order_lines``, before
    anything is submitted, with ``context.preview`` true: by the quick-order
    preview (the error is shown on its line) and by the cart (add, scan, set
    a line: the addition is refused); a plugin may then also report what only
    its allocation would find, reading without locks.

    Arguments: ``context``: :class:`plugins.types.OrderContext`; ``lines``:
    the order's lines, with ``quantity`` in base units.

    Returns: a list of :class:`plugins.types.LineError` (empty when all is well).
    """


@hookspec
def adjust_line_price(
    context: OrderContext, line: OrderLine, price: Decimal
) -> PriceAdjustment | None:
    """Change a line's unit price after the core resolved it.

    Called: per tenant, by the pricing step of the order service, once per
    line after price lists, quantity breaks and promotions. Plugins are called
    in turn, each seeing in ``price`` the previous plugin's result (a chain);
    the manager records each adjustment on ``line.adjustments``.

    Arguments: ``context``; ``line``: the :class:`plugins.types.OrderLine`;
    ``price``: the current unit price per base unit (``Decimal``, in
    ``line.currency``). When none of the dealer's lists prices the line's unit,
    the line comes with ``price`` 0 (and no line promotion): a plugin that can
    price it (food: single units from the case price) returns the price; if no
    plugin does, the order is refused ``NO_PRICE`` and nothing is reserved.

    Returns: a :class:`plugins.types.PriceAdjustment` with the new unit price
    and a reason shown to the dealer, or ``None`` to leave the price.
    """


@hookspec(firstresult=True)
def choose_allocation(
    context: OrderContext, line: OrderLine, candidates: list[StockCandidate]
) -> list[AllocationPick] | None:
    """Choose which stock (warehouse, batch) a line is served from.

    Called: per tenant, by the allocation step of the order service, once per
    line, inside the reservation transaction. The first plugin to answer wins;
    with no answer the core allocates by availability, region and warehouse
    priority. A plugin that tracks batches may lock and reserve its own batch
    rows here (same transaction); raising ``DomainError`` (e.g. code
    ``EXPIRED_BATCH``) refuses the order and nothing is reserved.

    Free goods a promotion adds (buy X get Y) are allocated through this hook
    too, after the submitted lines: they are in ``context.lines`` from the
    first call, with an ``index`` after the submitted lines' (the position of
    the free line on the order) and ``line.data["free"] = True``.

    Arguments: ``context``; ``line``; ``candidates``: the warehouses' stock for
    the line's SKU (:class:`plugins.types.StockCandidate`), best first by the
    core's rules.

    Returns: a list of :class:`plugins.types.AllocationPick` whose quantities
    add up to ``line.quantity``, or ``None`` to let the next plugin (or the
    core) decide.
    """


@hookspec
def order_event(
    tenant: Any,
    event: str,
    order: Any,
    payload: dict[str, Any],
    context: OrderContext | None,
) -> None:
    """React to something that happened to an order.

    Called: per tenant, after the transaction that changed the order commits
    (``order.placed``, ``order.approved``, ``order.allocated``,
    ``order.shipped``, ``order.cancelled``, …), in the tenant's schema. A
    failing plugin is logged and does not stop the others or the order.

    Arguments: ``tenant``; ``event``: the event type; ``order``: the
    ``core.orders`` order; ``payload``: the outbox event's payload;
    ``context``: for ``order.placed``, the placement's
    :class:`plugins.types.OrderContext` (``context.order`` set, and
    ``context.cache`` as the plugin's order hooks left it, so a plugin can
    tell without a query whether the order had anything of its own), else
    ``None``.

    Returns: nothing.
    """


# --- Inventory: per tenant, inside the stock service's transaction ----------------


@hookspec
def stock_changed(
    tenant: Any,
    reason: str,
    sku: Any,
    warehouse: Any,
    quantity: int,
    destination: Any,
    reference: str,
    user: Any,
) -> None:
    """Stock of a SKU was received, counted or moved between warehouses.

    Called: per tenant, by ``core.inventory.services`` (``receive_stock``,
    ``adjust_stock``, ``transfer_stock``: the console, GraphQL and imports all
    end there) inside the service's transaction, right after the core changed
    its ``Stock`` rows (already locked). A plugin that holds stock in finer
    rows (batches, serial numbers) moves them here so they keep adding up to
    the warehouse's stock; raising :class:`core.exceptions.DomainError` (e.g.
    code ``BATCH_REQUIRED``) refuses the change and the whole transaction,
    the core's rows included, rolls back. Order reservations, shipping and
    returns are not reported here (see ``choose_allocation`` and
    ``order_event``).

    Arguments: ``tenant``; ``reason``: ``"receipt"``, ``"adjustment"`` (a
    stock-take) or ``"transfer"``; ``sku``: the ``core.catalog`` SKU;
    ``warehouse``: the ``core.inventory`` warehouse whose stock changed (the
    source of a transfer); ``quantity``: base units, positive in and negative
    out for receipts and adjustments (the counted difference), the units
    moved (positive) for a transfer; ``destination``: the receiving warehouse
    of a transfer, else ``None``; ``reference``: the movement's reference
    (``TR-12`` for transfer 12, a receipt's document number, or ``""``);
    ``user``: who did it, or ``None``.

    Returns: nothing.
    """


# --- Search: per tenant ----------------------------------------------------------


@hookspec
def search_document_fields(tenant: Any, product: Any) -> dict[str, Any]:
    """Extra fields for a product's search document.

    Called: per tenant, by the search indexer for each product it indexes
    (both backends). Keys must start with the plugin's name and an
    underscore (``electronics_resistance_ohm``); the manager refuses others.

    Arguments: ``tenant``; ``product``: a ``core.catalog.models.Product`` with
    its SKUs prefetched.

    Returns: a dict of JSON-serialisable values (numbers for range filters).
    """


@hookspec
def search_filters(tenant: Any) -> list[SearchFilter]:
    """Extra filters (and facets) for product search.

    Called: per tenant, by the search service when it builds the filter and
    facet list for a query, and by the GraphQL search field to describe them.

    Arguments: ``tenant``.

    Returns: a list of :class:`plugins.types.SearchFilter` over fields the
    plugin adds through ``search_document_fields``.
    """
