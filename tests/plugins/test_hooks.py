"""Each per-tenant hook: it runs for a tenant that enabled the plugin, never for one that did not,
and the manager applies its result rules."""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from plugins import hookimpl
from plugins.manager import PluginContractError
from plugins.types import (
    AllocationPick,
    LineError,
    OrderContext,
    OrderLine,
    PriceAdjustment,
    StockCandidate,
)

from .sample_plugins import Recorder

SKU = SimpleNamespace(pk=1, code="SKU-1")


def _setup(manager, two_tenants, *, enabled=("alpha_a", "alpha_b")):
    plugins = {name: Recorder(name) for name in ("alpha_a", "alpha_b", "beta_only")}
    for name, plugin in plugins.items():
        manager.register(plugin, name)
    first, second = two_tenants(enabled, ["beta_only"])
    return plugins, first, second


def _context(tenant, *quantities):
    lines = [OrderLine(index=i, sku=SKU, quantity=q) for i, q in enumerate(quantities)]
    return OrderContext(tenant=tenant, dealer=None, lines=lines)


def test_hook_expand_order_lines(manager, two_tenants):
    plugins, first, second = _setup(manager, two_tenants)

    class CaseToUnits:
        @hookimpl
        def expand_order_lines(self, lines):
            for line in lines:
                if line.unit == "case":
                    line.quantity = line.unit_quantity * 12
            lines.append(OrderLine(index=lines[0].index, sku=SKU, quantity=1, data={"gift": True}))

    manager.register(CaseToUnits(), "alpha_cases")
    first.modules.append("alpha_cases")
    context = _context(first, 0)
    context.lines[0].unit, context.lines[0].unit_quantity = "case", 2
    lines = manager.hooks_for(first).expand_order_lines(context, context.lines)
    assert [(ln.index, ln.quantity) for ln in lines] == [(0, 24), (0, 1)]
    assert plugins["alpha_a"].calls == ["expand_order_lines"]
    context = _context(second, 3)
    assert [
        ln.quantity for ln in manager.hooks_for(second).expand_order_lines(context, context.lines)
    ] == [3]
    assert plugins["alpha_a"].calls == ["expand_order_lines"]  # not called for the other tenant
    assert plugins["beta_only"].calls == ["expand_order_lines"]


def test_hook_validate_order_lines(manager, two_tenants):
    plugins, first, second = _setup(manager, two_tenants)
    context = _context(first, 1, 2)
    errors = manager.hooks_for(first).validate_order_lines(context, context.lines)
    # Every enabled plugin answers; errors carry the plugin's name, sorted by line.
    assert [(e.index, e.plugin) for e in errors] == [
        (0, "alpha_a"),
        (0, "alpha_b"),
        (1, "alpha_a"),
        (1, "alpha_b"),
    ]
    assert plugins["beta_only"].calls == []
    errors = manager.hooks_for(second).validate_order_lines(_context(second, 1), [])
    assert errors == [] and plugins["beta_only"].calls == ["validate_order_lines"]
    # The plain pluggy call on the tenant's subset runs the same plugins.
    answers = manager.hooks_for(first).hook.validate_order_lines(
        context=context, lines=context.lines
    )
    assert (
        sorted(e.message for group in answers for e in group) == ["alpha_a"] * 2 + ["alpha_b"] * 2
    )


def test_hook_validate_order_lines__bad_answer_is_a_contract_error(manager, two_tenants):
    class Sloppy:
        @hookimpl
        def validate_order_lines(self, lines):
            return ["too many"]

    manager.register(Sloppy(), "alpha_sloppy")
    first, _second = two_tenants(["alpha_sloppy"])
    with pytest.raises(PluginContractError, match="alpha_sloppy"):
        manager.hooks_for(first).validate_order_lines(_context(first, 1), _context(first, 1).lines)


def test_hook_adjust_line_price(manager, two_tenants):
    plugins, first, second = _setup(manager, two_tenants)
    context = _context(first, 1)
    line = context.lines[0]
    # A chain: each plugin takes 1.00 off the previous plugin's price, in name order.
    assert manager.hooks_for(first).adjust_line_price(context, line, Decimal("10.00")) == Decimal(
        "8.00"
    )
    assert line.unit_price == Decimal("8.00")
    assert [(a.plugin, a.unit_price) for a in line.adjustments] == [
        ("alpha_a", Decimal("9.00")),
        ("alpha_b", Decimal("8.00")),
    ]
    line = _context(second, 1).lines[0]
    first.modules = []
    assert manager.hooks_for(first).adjust_line_price(context, line, Decimal("10.00")) == Decimal(
        "10.00"
    )
    assert line.adjustments == [] and plugins["beta_only"].calls == []

    class Negative:
        @hookimpl
        def adjust_line_price(self, price):
            return PriceAdjustment(unit_price=-price, reason="oops")

    manager.register(Negative(), "alpha_negative")
    with pytest.raises(PluginContractError, match="negative"):
        manager.hooks_for(["alpha_negative"]).adjust_line_price(context, line, Decimal("1"))


def test_hook_choose_allocation(manager, two_tenants):
    class Fefo:
        @hookimpl
        def choose_allocation(self, line, candidates):
            if line.sku.code != "DRUG":
                return None
            return [
                AllocationPick(
                    warehouse_id=candidates[0].warehouse_id, quantity=line.quantity, batch="B1"
                )
            ]

    manager.register(Fefo(), "alpha_fefo")
    recorder = Recorder("alpha_z")
    manager.register(recorder, "alpha_z")
    first, second = two_tenants(["alpha_fefo", "alpha_z"])
    candidates = [
        StockCandidate(warehouse_id=7, available=10),
        StockCandidate(warehouse_id=9, available=5),
    ]
    drug = OrderLine(index=0, sku=SimpleNamespace(pk=2, code="DRUG"), quantity=4)
    hooks = manager.hooks_for(first)
    # firstresult: the first plugin (by name) that answers wins; the next is not asked.
    assert hooks.choose_allocation(_context(first), drug, candidates) == [
        AllocationPick(warehouse_id=7, quantity=4, batch="B1")
    ]
    assert recorder.calls == []
    other = OrderLine(index=1, sku=SKU, quantity=3)
    assert hooks.choose_allocation(_context(first), other, candidates) == [
        AllocationPick(warehouse_id=9, quantity=3)
    ]
    assert manager.hooks_for(second).choose_allocation(_context(second), drug, candidates) is None

    class Short:
        @hookimpl(tryfirst=True)
        def choose_allocation(self, line, candidates):
            return [AllocationPick(warehouse_id=7, quantity=line.quantity - 1)]

    manager.register(Short(), "alpha_short")
    with pytest.raises(PluginContractError, match="add up"):
        manager.hooks_for(["alpha_short"]).choose_allocation(_context(first), drug, candidates)


def test_hook_order_event(manager, two_tenants, caplog):
    plugins, first, second = _setup(manager, two_tenants)

    class Broken:
        @hookimpl
        def order_event(self, event):
            raise RuntimeError("webhook down")

    manager.register(Broken(), "alpha_0broken")
    first.modules.insert(0, "alpha_0broken")
    manager.hooks_for(first).order_event(first, "order.submitted", object(), {"id": 1})
    # The failing plugin is logged; the others still hear about the event.
    assert plugins["alpha_a"].calls == ["order_event:order.submitted"]
    assert plugins["alpha_b"].calls == ["order_event:order.submitted"]
    assert plugins["beta_only"].calls == []
    assert "alpha_0broken" in caplog.text and "webhook down" in caplog.text


def test_hook_search_document_fields(manager, two_tenants):
    plugins, first, second = _setup(manager, two_tenants)
    product = SimpleNamespace(pk=5)
    assert manager.hooks_for(first).search_document_fields(first, product) == {
        "alpha_a_seen": True,
        "alpha_b_seen": True,
    }
    assert manager.hooks_for(second).search_document_fields(second, product) == {
        "beta_only_seen": True
    }

    class Squatter:
        @hookimpl
        def search_document_fields(self, product):
            return {"price": 1}

    manager.register(Squatter(), "alpha_squat")
    with pytest.raises(PluginContractError, match="must start with 'alpha_squat_'"):
        manager.hooks_for(["alpha_squat"]).search_document_fields(first, product)


def test_hook_search_filters(manager, two_tenants):
    _plugins, first, second = _setup(manager, two_tenants)
    assert [f.name for f in manager.hooks_for(first).search_filters(first)] == [
        "alpha_a",
        "alpha_b",
    ]
    assert [f.name for f in manager.hooks_for(second).search_filters(second)] == ["beta_only"]
    assert manager.hooks_for([]).search_filters(first) == []


def test_hook_load_demo_data(manager, two_tenants):
    plugins, first, second = _setup(manager, two_tenants)
    manager.hooks_for(first).load_demo_data(first)
    assert plugins["alpha_a"].calls == [f"load_demo_data:{first.schema_name}"]
    assert plugins["beta_only"].calls == []


def test_hooks_for_is_cached_per_module_set(manager, two_tenants):
    _setup(manager, two_tenants)
    first, second = two_tenants(["alpha_a", "unknown"], ["alpha_a"])
    # Unknown names (a plugin uninstalled since) are ignored; equal sets share one object.
    assert manager.hooks_for(first) is manager.hooks_for(second)
    assert manager.hooks_for(first).enabled == frozenset({"alpha_a"})
    assert manager.hooks_for(first) is manager.hooks_for(first)
    before = manager.hooks_for(first)
    manager.register(Recorder("alpha_new"), "alpha_new")
    assert manager.hooks_for(first) is not before  # registering clears the cache


def test_line_error_and_contexts_are_plain_values():
    error = LineError(index=0, code="X", message="m")
    assert error.plugin == "" and error.params == {}


def test_hook_stock_changed(register_plugin, two_tenants, in_tenant):
    """Receipts, stock-takes and transfers reach the enabled plugins inside the
    inventory transaction; a refusal rolls the core's change back; the tenant
    without the plugin is not told."""
    from core.exceptions import DomainError
    from core.inventory import services as inventory
    from core.inventory.models import Stock, StockMovement
    from core.testing.factories import SkuFactory, WarehouseFactory

    seen = []

    class Follower:
        @hookimpl
        def stock_changed(self, reason, sku, warehouse, quantity, destination, reference):
            seen.append(
                (
                    reason,
                    sku.code,
                    warehouse.code,
                    quantity,
                    destination.code if destination else None,
                    reference,
                )
            )
            if quantity == 13:
                raise DomainError("No thirteens.", code="BATCH_REQUIRED", field="quantity")

    register_plugin(Follower(), "alpha_stock")
    first, second = two_tenants(["alpha_stock"], [])
    with in_tenant(first):
        sku = SkuFactory(code="ST-1")
        a, b = WarehouseFactory(code="WA"), WarehouseFactory(code="WB")
        inventory.receive_stock(sku=sku, warehouse=a, quantity=10, reference="GRN-1")
        inventory.adjust_stock(sku=sku, warehouse=a, counted=8)
        transfer = inventory.transfer_stock(sku=sku, source=a, destination=b, quantity=3)
        assert seen == [
            ("receipt", "ST-1", "WA", 10, None, "GRN-1"),
            ("adjustment", "ST-1", "WA", -2, None, ""),
            ("transfer", "ST-1", "WA", 3, "WB", f"TR-{transfer.pk}"),
        ]
        movements = StockMovement.objects.count()
        with pytest.raises(DomainError, match="thirteens"):
            inventory.receive_stock(sku=sku, warehouse=a, quantity=13)
        # Refused: the core's row and history are as before.
        assert Stock.objects.get(sku=sku, warehouse=a).on_hand == 5
        assert StockMovement.objects.count() == movements
    seen.clear()
    with in_tenant(second):
        sku = SkuFactory(code="ST-2")
        inventory.receive_stock(sku=sku, warehouse=WarehouseFactory(code="WC"), quantity=13)
    assert seen == []


def test_hook_choose_allocation__free_goods_are_offered_after_the_bought_lines(
    register_plugin, two_tenants, in_tenant
):
    """Through the order service: a promotion's free goods reach ``choose_allocation``
    flagged ``data["free"]``, in ``context.lines`` from the first call, and the plugin's
    picks are what the order's free line is allocated from."""
    from decimal import Decimal

    from core.orders import services as orders
    from core.orders.lines import LineInput
    from core.orders.models import Allocation
    from core.pricing.services import save_promotion
    from core.testing.factories import (
        DealerFactory,
        DealerUserFactory,
        PriceListItemFactory,
        SkuFactory,
        StockFactory,
        WarehouseFactory,
    )

    seen = []

    class LastWarehouse:
        @hookimpl
        def choose_allocation(self, context, line, candidates):
            seen.append(
                (
                    line.index,
                    line.sku.code,
                    line.quantity,
                    dict(line.data),
                    [(ln.sku.code, ln.data.get("free", False)) for ln in context.lines],
                )
            )
            return [
                AllocationPick(warehouse_id=candidates[-1].warehouse_id, quantity=line.quantity)
            ]

    register_plugin(LastWarehouse(), "alpha_last")
    first, _second = two_tenants(["alpha_last"])
    with in_tenant(first):
        near, far = (
            WarehouseFactory(code="NEAR", priority=1),
            WarehouseFactory(code="FAR", priority=9),
        )
        bought, gift = SkuFactory(code="BUY-1"), SkuFactory(code="GIFT-1")
        item = PriceListItemFactory(sku=bought, unit_price=Decimal("5.00"))
        PriceListItemFactory(price_list=item.price_list, sku=gift, unit_price=Decimal("1.00"))
        for sku in (bought, gift):
            StockFactory(sku=sku, warehouse=near, on_hand=50)
            StockFactory(sku=sku, warehouse=far, on_hand=50)
        save_promotion(
            code="G1",
            name="G1",
            kind="buy_x_get_y",
            sku_ids=[bought.pk],
            rule={"buy_quantity": 3, "get_quantity": 1, "get_sku_id": gift.pk},
        )
        dealer = DealerFactory(credit_limit=Decimal("100000"))
        order = orders.place_order(
            dealer=dealer,
            user=DealerUserFactory(dealer=dealer),
            lines=[LineInput("BUY-1", 6)],
            channel="web",
            idempotency_key="free-1",
        ).order
        lines = [("BUY-1", False), ("GIFT-1", True)]
        assert seen == [(0, "BUY-1", 6, {}, lines), (1, "GIFT-1", 2, {"free": True}, lines)]
        free = order.lines.get(is_free=True)
        assert [(a.warehouse.code, a.quantity) for a in Allocation.objects.filter(line=free)] == [
            ("FAR", 2)
        ]
