"""Quotes: request, answer, decline, expire, accept into an order at the quoted prices."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core.accounts.models import Role
from core.exceptions import DomainError, PermissionDenied
from core.pricing import services
from core.pricing.models import Quote, QuoteStatus
from core.pricing.services import QuoteLineInput
from core.testing.factories import StockFactory, UserFactory

from .conftest import add_list

D = Decimal


@pytest.fixture
def quoting(world):
    add_list("BASE", prices=[(world.sku, "each", 1, "100"), (world.sku2, "each", 1, "50")])
    StockFactory(sku=world.sku, on_hand=500)
    StockFactory(sku=world.sku2, on_hand=500)
    world.buyer = UserFactory(role=Role.DEALER_BUYER, dealer=world.dealer)
    world.other_buyer = UserFactory(role=Role.DEALER_BUYER, dealer=world.sibling)
    world.parent_admin = UserFactory(role=Role.DEALER_ADMIN, dealer=world.parent)
    world.staff = UserFactory(role=Role.STAFF)
    return world


def _request(w, user=None):
    return services.request_quote(
        dealer=w.dealer,
        user=user or w.buyer,
        note="big job",
        lines=[
            QuoteLineInput(sku_code="DRILL-1", unit_code="case", quantity=3),
            QuoteLineInput(sku_id=w.sku2.pk, quantity=7),
        ],
    )


def _answer(w, quote, days=7):
    lines = list(quote.lines.order_by("id"))
    return services.answer_quote(
        quote=quote,
        user=w.staff,
        prices={lines[0].pk: D("1000"), lines[1].pk: D("42.5")},
        expires_at=timezone.now() + timedelta(days=days),
        note="valid a week",
    )


def test_request_records_list_prices_and_base_quantities(quoting):
    quote = _request(quoting)
    lines = list(quote.lines.order_by("id"))
    assert quote.status == QuoteStatus.REQUESTED and quote.currency == "CNY"
    assert [(ln.unit_code, ln.quantity, ln.base_quantity, ln.list_unit_price) for ln in lines] == [
        ("case", 3, 36, D("1200")),
        ("each", 7, 7, D("50")),
    ]


def test_accepting_makes_an_order_at_the_quoted_prices(quoting):
    from core.orders.models import Order

    quote = _answer(quoting, _request(quoting))
    assert quote.total == D("3297.50")
    accepted = services.accept_quote(quote=quote, user=quoting.buyer)
    assert accepted.status == QuoteStatus.ACCEPTED and accepted.order_reference
    order = Order.objects.get(number=accepted.order_reference)
    assert order.dealer_id == quoting.dealer.pk and order.channel == "quote"
    assert sorted((li.unit_price, li.quantity) for li in order.lines.all()) == [
        (D("42.5"), 7),
        (D("1000"), 3),
    ]
    with pytest.raises(DomainError) as exc:
        services.accept_quote(quote=quote, user=quoting.buyer)
    assert exc.value.code == "INVALID_STATE"


def test_an_expired_quote_cannot_be_accepted(quoting):
    quote = _answer(quoting, _request(quoting), days=1)
    with pytest.raises(DomainError) as exc:
        services.accept_quote(
            quote=quote, user=quoting.buyer, now=timezone.now() + timedelta(days=2)
        )
    assert exc.value.code == "QUOTE_EXPIRED"
    assert services.expire_quotes(now=timezone.now() + timedelta(days=2)) == 1
    with pytest.raises(DomainError) as exc:
        services.accept_quote(quote=quote, user=quoting.buyer)
    assert exc.value.code == "QUOTE_EXPIRED"
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.EXPIRED


def test_who_may_request_and_accept(quoting):
    quote = _request(quoting, user=quoting.parent_admin)  # a parent's admin acts for its shop
    _answer(quoting, quote)
    with pytest.raises(PermissionDenied):
        services.accept_quote(quote=quote, user=quoting.other_buyer)
    with pytest.raises(PermissionDenied):
        _request(quoting, user=quoting.other_buyer)
    services.decline_quote(quote=quote, user=quoting.buyer, reason="too dear")
    assert Quote.objects.get(pk=quote.pk).status == QuoteStatus.DECLINED


def test_bad_answers_and_requests_save_nothing(quoting):
    quote = _request(quoting)
    first = quote.lines.order_by("id").first()
    with pytest.raises(DomainError) as exc:
        services.answer_quote(
            quote=quote,
            user=quoting.staff,
            prices={first.pk: D("-1")},
            expires_at=timezone.now() + timedelta(days=1),
        )
    assert {e.field for e in exc.value.errors} == {"lines.0.unit_price", "lines.1.unit_price"}
    with pytest.raises(DomainError) as exc:  # not an InvalidOperation from rounding 1e400
        services.answer_quote(
            quote=quote,
            user=quoting.staff,
            prices={line.pk: "1e400" for line in quote.lines.all()},
            expires_at=timezone.now() + timedelta(days=1),
        )
    assert [(e.field, e.code) for e in exc.value.errors] == [
        ("lines.0.unit_price", "INVALID"),
        ("lines.1.unit_price", "INVALID"),
    ]
    with pytest.raises(DomainError) as exc:
        services.answer_quote(quote=quote, user=quoting.staff, prices={}, expires_at=timezone.now())
    assert exc.value.code == "INVALID_EXPIRY"
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.REQUESTED and first.quoted_unit_price is None
    with pytest.raises(DomainError) as exc:
        services.request_quote(
            dealer=quoting.dealer,
            user=quoting.buyer,
            lines=[
                QuoteLineInput(sku_code="NOPE", quantity=1),
                QuoteLineInput(sku_code="DRILL-1", unit_code="pallet", quantity=1),
                QuoteLineInput(sku_code="DRILL-1", quantity=0),
            ],
        )
    assert [(e.field, e.code) for e in exc.value.errors] == [
        ("lines.0.sku", "UNKNOWN_SKU"),
        ("lines.1.unit_code", "UNKNOWN_UNIT"),
        ("lines.2.quantity", "INVALID_QUANTITY"),
    ]
    assert Quote.objects.count() == 1
