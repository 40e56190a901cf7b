"""Before submitting: the quick-order preview and the cart show the pharma rules
(licences, expired stock, the dealer's shelf life) on the line, reserving nothing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.catalog.models import Sku
from core.exceptions import ValidationFailed
from core.inventory.models import Stock
from core.orders import channels
from core.orders.lines import LineInput
from core.orders.models import Order
from plugins.pharma.models import Batch, DealerLicence, ShelfLifeRule

from .conftest import days
from .test_licences_and_channels import rx  # noqa: F401 - fixture


def _nothing_reserved():
    assert not Order.objects.exists()
    assert set(Batch.objects.values_list("reserved", flat=True)) == {0}
    assert set(Stock.objects.values_list("reserved", flat=True)) == {0}


def test_preview_shows_the_missing_licence_with_its_type(pharmacy, rx):  # noqa: F811
    results = channels.preview_quick_order(
        dealer=pharmacy.dealer, user=pharmacy.buyer, text="AMOX-250 2\nMORPH-10 1"
    )
    assert [(r.error.code, r.error.field) for r in results] == [
        ("LICENCE_REQUIRED", "lines.0.sku"),
        ("LICENCE_REQUIRED", "lines.1.sku"),
    ]
    assert results[1].error.params["licence_type"] == "CONTROLLED"
    assert results[1].error.params["plugin"] == "pharma"
    assert results[1].sku_code == "MORPH-10"
    _nothing_reserved()


def test_preview_shows_expired_and_short_dated_stock(pharmacy, rx):  # noqa: F811
    licence, permit = rx
    for lt, number in ((licence, "RX-P"), (permit, "CS-P")):
        DealerLicence.objects.create(
            dealer=pharmacy.dealer,
            licence_type=lt,
            number=number,
            valid_from=days(-1),
            expires_on=days(100),
        )
    Batch.objects.filter(lot="MO-1").update(expires_on=days(-1))  # 100 expired
    Batch.objects.filter(lot="AM-1").update(expires_on=days(30))  # 100 under 90 days
    pharmacy.receive("AM-2", 5, 300)
    text = "AMOX-250 4\nAMOX-250 3\nMORPH-10 1"
    with CaptureQueriesContext(connection) as queries:
        results = channels.preview_quick_order(
            dealer=pharmacy.dealer, user=pharmacy.buyer, text=text
        )
    # The first line takes 4 of the 5 in date; the second finds 1 left.
    assert [r.error and (r.error.code, r.error.params.get("available")) for r in results] == [
        None,
        ("SHELF_LIFE_TOO_SHORT", 1),
        ("EXPIRED_BATCH", 0),
    ]
    assert results[1].error.params["minimum_days"] == 90
    assert str(results[0].unit_price) == "10.0000"
    assert not [q for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    ShelfLifeRule.objects.create(dealer=pharmacy.dealer, min_remaining_days=20)
    results = channels.preview_quick_order(dealer=pharmacy.dealer, user=pharmacy.buyer, text=text)
    assert [r.error and r.error.code for r in results] == [None, None, "EXPIRED_BATCH"]
    _nothing_reserved()


def test_cart_refuses_what_the_order_would_refuse(pharmacy, rx):  # noqa: F811
    licence, _permit = rx
    with pytest.raises(ValidationFailed) as exc:
        channels.add_to_cart(
            dealer=pharmacy.dealer, user=pharmacy.buyer, lines=[LineInput("AMOX-250", 2)]
        )
    assert [(e.code, e.field) for e in exc.value.errors] == [("LICENCE_REQUIRED", "lines.0.sku")]
    cart = channels._cart(pharmacy.dealer, pharmacy.buyer)
    assert not cart.lines.exists()
    DealerLicence.objects.create(
        dealer=pharmacy.dealer,
        licence_type=licence,
        number="RX-C",
        valid_from=days(-1),
        expires_on=days(100),
    )
    channels.add_to_cart(
        dealer=pharmacy.dealer, user=pharmacy.buyer, lines=[LineInput("AMOX-250", 60)]
    )
    Batch.objects.filter(lot="AM-1").update(expires_on=days(-3))
    pharmacy.receive("AM-2", 70, 300)
    # 60 in the cart + 20 = 80, but only 70 are in date.
    with pytest.raises(ValidationFailed) as exc:
        channels.add_to_cart(
            dealer=pharmacy.dealer, user=pharmacy.buyer, lines=[LineInput("AMOX-250", 20)]
        )
    assert [(e.code, e.params["available"]) for e in exc.value.errors] == [("EXPIRED_BATCH", 70)]
    assert cart.lines.get().quantity == 60
    placed = channels.checkout_cart(
        dealer=pharmacy.dealer, user=pharmacy.buyer, idempotency_key="cart-1"
    )
    assert Batch.objects.get(lot="AM-2").reserved == 60 and placed.order.status == "allocated"


def test_preview_sql_does_not_grow_with_the_lines(pharmacy, rx):  # noqa: F811
    from core.testing.queries import count_queries

    licence, _permit = rx
    DealerLicence.objects.create(
        dealer=pharmacy.dealer,
        licence_type=licence,
        number="RX-N",
        valid_from=days(-1),
        expires_on=days(100),
    )
    codes = [pharmacy.sku_with_price(f"TAB-{i}").code for i in range(8)]
    for code in codes:
        pharmacy.receive(f"L-{code}", 10, 300, sku=Sku.objects.get(code=code))
    channels.preview_quick_order(dealer=pharmacy.dealer, user=pharmacy.buyer, text="AMOX-250 1")
    with count_queries() as few:
        channels.preview_quick_order(
            dealer=pharmacy.dealer, user=pharmacy.buyer, text="\n".join(f"{c} 1" for c in codes[:2])
        )
    with count_queries(max_count=few.count) as many:
        results = channels.preview_quick_order(
            dealer=pharmacy.dealer, user=pharmacy.buyer, text="\n".join(f"{c} 1" for c in codes)
        )
    assert [r.error for r in results] == [None] * 8
    assert many.count == few.count
