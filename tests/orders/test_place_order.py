"""Placing orders: prices, taxes, reservation, splitting, idempotency, bad input."""

from decimal import Decimal

import pytest

from core.events.models import Event
from core.exceptions import DomainError, ValidationFailed
from core.inventory.models import Stock
from core.orders import services
from core.orders.lines import LineInput
from core.orders.models import Channel, Order, OrderStatus, Shipment
from core.testing.factories import SkuUnitFactory


def place(shop, lines, key="k1", user=None, **kw):
    return services.place_order(
        dealer=shop.dealer,
        user=user or shop.buyer,
        lines=lines,
        channel=Channel.WEB,
        idempotency_key=key,
        **kw,
    )


def test_order_is_priced_taxed_reserved_and_recorded(shop):
    for sku, rate in ((shop.skus[0], "0.13"), (shop.skus[1], "0.06")):
        sku.product.tax_rate = Decimal(rate)
        sku.product.save()
    placed = place(shop, [LineInput("SKU0", 3), LineInput("SKU1", 2)])
    order = placed.order
    assert not placed.replayed
    assert order.status == OrderStatus.ALLOCATED and order.channel == Channel.WEB
    assert order.subtotal == Decimal("52.00")  # 3 × 10 + 2 × 11
    assert order.tax_total == Decimal("5.22")  # 13% of 30 + 6% of 22
    assert order.total == Decimal("57.22")
    # All from the east warehouse: the dealer's region, one shipment.
    assert list(Shipment.objects.filter(order=order).values_list("warehouse__code", flat=True)) == [
        "EAST"
    ]
    assert Stock.objects.get(sku=shop.skus[0], warehouse=shop.east).reserved == 3
    assert [t.to_status for t in order.transitions.all()] == ["submitted", "approved", "allocated"]
    assert Event.objects.filter(type="order.placed", aggregate_id=str(order.pk)).count() == 1
    assert Event.objects.filter(type="stock.changed").count() == 2
    from core.pricing.selectors import credit_summary

    assert credit_summary(shop.dealer).balance == Decimal("57.22")


def test_units_convert_to_base_quantities(shop):
    SkuUnitFactory(sku=shop.skus[0], code="case", factor=12, gtin="")
    placed = place(shop, [LineInput("SKU0", 2, "case")])
    line = placed.order.lines.get()
    assert (line.quantity, line.unit_code, line.base_quantity) == (2, "case", 24)
    assert Stock.objects.get(sku=shop.skus[0], warehouse=shop.east).reserved == 24


def test_split_across_warehouses_when_one_cannot_serve(shop):
    placed = place(shop, [LineInput("SKU0", 70)])
    assert sorted(
        Shipment.objects.filter(order=placed.order).values_list("warehouse__code", flat=True)
    ) == ["EAST", "WEST"]
    assert Stock.objects.get(sku=shop.skus[0], warehouse=shop.east).reserved == 50
    assert Stock.objects.get(sku=shop.skus[0], warehouse=shop.west).reserved == 20


def test_closed_warehouse_is_routed_around(shop):
    shop.east.is_active = False
    shop.east.save()
    placed = place(shop, [LineInput("SKU0", 5)])
    assert list(
        Shipment.objects.filter(order=placed.order).values_list("warehouse__code", flat=True)
    ) == ["WEST"]


def test_same_key_returns_the_first_order(shop):
    first = place(shop, [LineInput("SKU0", 1)])
    again = place(shop, [LineInput("SKU0", 1)])
    assert again.replayed and again.order.pk == first.order.pk
    assert Order.objects.count() == 1
    assert Stock.objects.get(sku=shop.skus[0], warehouse=shop.east).reserved == 1
    with pytest.raises(DomainError) as err:
        place(shop, [LineInput("SKU0", 2)])
    assert err.value.code == "IDEMPOTENCY_KEY_REUSED"


@pytest.mark.parametrize(
    ("line", "code", "field"),
    [
        (LineInput("NOPE", 1), "UNKNOWN_SKU", "lines.0.sku"),
        (LineInput("SKU0", 0), "INVALID_QUANTITY", "lines.0.quantity"),
        (LineInput("SKU0", -3), "INVALID_QUANTITY", "lines.0.quantity"),
        (LineInput("SKU0", 1, "pallet"), "UNKNOWN_UNIT", "lines.0.unit"),
        (LineInput("", 1), "REQUIRED", "lines.0.sku"),
        (LineInput("SKU0", 101), "INSUFFICIENT_STOCK", "lines.0.quantity"),
    ],
)
def test_bad_lines_are_typed_errors_and_change_nothing(shop, line, code, field):
    with pytest.raises(ValidationFailed) as err:
        place(shop, [LineInput("SKU1", 1), line])
    errors = err.value.errors
    assert [(e.code, e.field) for e in errors] == [(code, field.replace("0", "1", 1))]
    assert not Order.objects.exists()
    assert not Stock.objects.filter(reserved__gt=0).exists()
    assert not Event.objects.filter(type="order.placed").exists()


def test_unknown_sku_suggests_the_closest(shop):
    with pytest.raises(ValidationFailed) as err:
        place(shop, [LineInput("SKU01", 1)])
    assert err.value.errors[0].params["suggestion"] in {"SKU0", "SKU1"}


def test_insufficient_stock_reports_available(shop):
    with pytest.raises(ValidationFailed) as err:
        place(shop, [LineInput("SKU0", 150)])
    assert err.value.errors[0].params["available"] == 100


def test_unsellable_unit_and_pack_multiples(shop):
    SkuUnitFactory(sku=shop.skus[0], code="pallet", factor=480, is_sellable=False, gtin="")
    with pytest.raises(ValidationFailed) as err:
        place(shop, [LineInput("SKU0", 1, "pallet")])
    assert err.value.errors[0].code == "UNIT_NOT_SELLABLE"
    sku = shop.skus[1]
    sku.order_multiple = 6
    sku.min_order_qty = 12
    sku.save()
    with pytest.raises(ValidationFailed) as err:
        place(shop, [LineInput("SKU1", 6)], key="k2")
    assert err.value.errors[0].code == "BELOW_MINIMUM"
    with pytest.raises(ValidationFailed) as err:
        place(shop, [LineInput("SKU1", 13)], key="k3")
    assert err.value.errors[0].code == "NOT_MULTIPLE_OF_PACK"
    assert place(shop, [LineInput("SKU1", 18)], key="k4").order.lines.get().base_quantity == 18


def test_dealer_on_hold_cannot_order(shop):
    shop.dealer.status = "on_hold"
    shop.dealer.save()
    with pytest.raises(DomainError) as err:
        place(shop, [LineInput("SKU0", 1)])
    assert err.value.code == "DEALER_ON_HOLD"
    assert not Order.objects.exists()


def test_expected_total_mismatch_is_price_changed(shop):
    with pytest.raises(DomainError) as err:
        place(shop, [LineInput("SKU0", 1)], expected_total=Decimal("9.00"))
    assert (
        err.value.code == "PRICE_CHANGED" and err.value.params["total"] == "11.30"
    )  # 10.00 + 13% tax
    assert place(shop, [LineInput("SKU0", 1)], expected_total=Decimal("11.30")).order


def test_a_dealer_cannot_order_for_another(shop):
    with pytest.raises(DomainError) as err:
        services.place_order(
            dealer=shop.other_dealer,
            user=shop.buyer,
            lines=[LineInput("SKU0", 1)],
            channel=Channel.WEB,
            idempotency_key="x",
        )
    assert err.value.code == "PERMISSION_DENIED"


def test_barcodes_resolve_to_their_unit(shop):
    SkuUnitFactory(sku=shop.skus[0], code="case", factor=12, gtin="6912345678906")
    placed = place(shop, [LineInput("6912345678906", 1)])
    assert placed.order.lines.get().base_quantity == 12


def test_plan_order_limit(shop, tenant):
    from tenants.models import Plan, Subscription

    plan = Plan.objects.create(code="tiny", name="Tiny", max_orders_per_month=2)
    Subscription.objects.update_or_create(tenant_id=tenant.pk, defaults={"plan": plan})
    place(shop, [LineInput("SKU0", 1)], key="a")
    cancelled = place(shop, [LineInput("SKU0", 1)], key="b").order
    services.cancel_order(order=cancelled, user=shop.staff)  # cancelled orders do not count
    place(shop, [LineInput("SKU0", 1)], key="c")
    with pytest.raises(DomainError) as err:
        place(shop, [LineInput("SKU0", 1)], key="d")
    assert err.value.code == "PLAN_LIMIT_EXCEEDED" and err.value.params["limit"] == 2
    from tenants.limits import usage

    assert usage("orders_per_month", tenant) == 2


def test_an_authorised_catalogue_limits_what_a_dealer_and_its_subdealers_order(shop):
    """A dealer (and a dealer below it) with a catalogue orders only what it grants; a dealer
    without one on its path orders every active product."""
    from core.testing.factories import CatalogueFactory, DealerFactory, DealerUserFactory

    CatalogueFactory(grants={"products": [shop.skus[0].product], "dealers": [shop.dealer]})
    child = DealerFactory(parent=shop.dealer, region="east")
    child_buyer = DealerUserFactory(dealer=child)
    for dealer, user in ((shop.dealer, shop.buyer), (child, child_buyer)):
        with pytest.raises(ValidationFailed) as exc:
            services.place_order(
                dealer=dealer,
                user=user,
                lines=[LineInput("SKU0", 1), LineInput("SKU1", 1)],
                channel=Channel.WEB,
                idempotency_key=f"refused-{dealer.pk}",
            )
        assert [(e.code, e.field) for e in exc.value.errors] == [
            ("NOT_IN_CATALOGUE", "lines.1.sku")
        ]
    assert not Order.objects.exists() and not Stock.objects.filter(reserved__gt=0).exists()
    assert place(shop, [LineInput("SKU0", 1)], key="granted").order.lines.count() == 1
    other = services.place_order(
        dealer=shop.other_dealer,
        user=shop.other_buyer,
        lines=[LineInput("SKU1", 1)],
        channel=Channel.WEB,
        idempotency_key="unrestricted",
    )
    assert other.order.lines.get().sku_id == shop.skus[1].pk


def test_a_reservation_the_stock_cannot_cover_writes_nothing(shop, monkeypatch):
    """The reservation runs inside the order's write statement; were a planned row not
    reservable (here a plan that asks for more than is on hand), the order, its lines and
    events are rolled back with it."""
    from core.inventory import services as inventory

    real_plan = inventory.plan_allocation

    def overplan(demands, stocks, *, region=""):
        return [
            inventory.Allocation(a.key, a.stock_id, a.warehouse_id, a.sku_id, a.quantity + 1000)
            for a in real_plan(demands, stocks, region=region)
        ]

    monkeypatch.setattr(inventory, "plan_allocation", overplan)
    with pytest.raises(DomainError) as exc:
        place(shop, [LineInput("SKU0", 1)])
    assert exc.value.code == "INSUFFICIENT_STOCK"
    assert not Order.objects.exists() and not Event.objects.exists()
    assert not Stock.objects.filter(reserved__gt=0).exists()
