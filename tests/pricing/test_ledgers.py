"""Credit and rebate ledgers: balances, refusals, concurrency, accrual across periods."""

from __future__ import annotations

import threading
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from core.accounts.models import Dealer
from core.exceptions import DomainError
from core.pricing import services, tasks
from core.pricing.models import CreditEntry, RebateAccount, RebateEntry
from core.pricing.purchases import purchases_by_dealer
from core.pricing.selectors import available_credit, credit_summary, rebate_balance
from core.testing.factories import DealerFactory


@pytest.fixture(autouse=True)
def _ledger_purchases(settings):
    """These tests feed accrual from the credit ledger, not from orders."""
    settings.PRICING_PURCHASES_SOURCE = "core.pricing.purchases.credit_ledger_purchases"


D = Decimal


def local(*args):
    return timezone.make_aware(datetime(*args), timezone.get_default_timezone())


# --- credit ----------------------------------------------------------------------------------
def test_credit_ledger_moves_the_open_balance(tenant_db):
    dealer = DealerFactory(credit_limit=D("1000.00"))
    services.charge_order(dealer=dealer, amount=D("600.00"), currency="CNY", reference="SO-1")
    assert services.charge_order(
        dealer=dealer, amount=D("600.00"), currency="CNY", reference="SO-1"
    )  # replay
    assert available_credit(dealer) == D("400.00")
    with pytest.raises(DomainError) as exc:
        services.charge_order(dealer=dealer, amount=D("400.01"), currency="CNY", reference="SO-2")
    assert exc.value.code == "CREDIT_LIMIT_EXCEEDED" and exc.value.params["available"] == "400.00"
    services.record_payment(dealer=dealer, amount=D("250.00"), currency="CNY", reference="BANK-9")
    services.issue_credit_note(dealer=dealer, amount=D("50.00"), currency="CNY", reference="CN-1")
    services.release_charge(dealer=dealer, reference="SO-1")
    services.release_charge(dealer=dealer, reference="SO-1")  # idempotent
    summary = credit_summary(dealer)
    assert (summary.limit, summary.balance, summary.available) == (
        D("1000.00"),
        D("-300.00"),
        D("1300.00"),
    )
    assert [e.kind for e in CreditEntry.objects.filter(dealer=dealer).order_by("id")] == [
        "order_charge",
        "payment",
        "credit_note",
        "charge_release",
    ]


@pytest.mark.parametrize(
    ("call", "kwargs", "code", "field"),
    [
        (
            "charge_order",
            {"amount": D("-1"), "currency": "CNY", "reference": "X"},
            "INVALID_AMOUNT",
            "amount",
        ),
        (
            "charge_order",
            {"amount": D("1.001"), "currency": "CNY", "reference": "X"},
            "INVALID_AMOUNT",
            "amount",
        ),
        (
            "charge_order",
            {"amount": D("1"), "currency": "USD", "reference": "X"},
            "CURRENCY_MISMATCH",
            "currency",
        ),
        (
            "charge_order",
            {"amount": D("1"), "currency": "CNY", "reference": " "},
            "REQUIRED",
            "reference",
        ),
        (
            "record_payment",
            {"amount": D("0"), "currency": "CNY", "reference": "P"},
            "INVALID_AMOUNT",
            "amount",
        ),
        ("release_charge", {"reference": "NOPE"}, "NOT_FOUND", "reference"),
        # Beyond what the ledger's numeric column or a Decimal quantize can hold.
        (
            "record_payment",
            {"amount": "1e400", "currency": "CNY", "reference": "P"},
            "INVALID_AMOUNT",
            "amount",
        ),
        (
            "issue_credit_note",
            {"amount": D("1e20"), "currency": "CNY", "reference": "C"},
            "INVALID_AMOUNT",
            "amount",
        ),
        (
            "adjust_credit",
            {"amount": D("-1e400"), "currency": "CNY", "note": "n"},
            "INVALID_AMOUNT",
            "amount",
        ),
    ],
)
def test_bad_credit_input(tenant_db, call, kwargs, code, field):
    dealer = DealerFactory()
    with pytest.raises(DomainError) as exc:
        getattr(services, call)(dealer=dealer, **kwargs)
    assert (exc.value.code, exc.value.field) == (code, field)
    assert not CreditEntry.objects.exists()


def test_concurrent_charges_over_the_limit_exactly_one_succeeds(committed_db, tenant):
    connection.set_tenant(tenant)
    dealer = DealerFactory(credit_limit=D("1000.00"))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def charge(ref):
        connection.set_tenant(tenant)
        try:
            barrier.wait(timeout=10)
            services.charge_order(
                dealer=Dealer.objects.get(pk=dealer.pk),
                amount=D("600.00"),
                currency="CNY",
                reference=ref,
            )
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=charge, args=(f"SO-{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["CREDIT_LIMIT_EXCEEDED", "ok"]
    assert credit_summary(dealer).balance == D("600.00")
    assert CreditEntry.objects.filter(dealer=dealer).count() == 1


# --- rebates -----------------------------------------------------------------------------------
@pytest.fixture
def programme(tenant_db):
    return services.save_rebate_programme(
        code="VOL",
        name="Volume",
        period="month",
        currency="CNY",
        starts_on=date(2025, 1, 1),
        tiers=[{"threshold": "1000000", "percent": "2"}, {"threshold": "500000", "percent": "1"}],
    )


def test_rebates_accrue_per_period_across_the_boundary_once(programme):
    dealer = DealerFactory(credit_limit=D("9000000"))
    small = DealerFactory(credit_limit=D("9000000"))
    usd = DealerFactory(credit_limit=D("9000000"), currency="USD")
    charge = services.charge_order
    charge(
        dealer=dealer,
        amount=D("600000"),
        currency="CNY",
        reference="J1",
        occurred_at=local(2025, 1, 31, 23, 59, 59),
    )
    charge(
        dealer=dealer,
        amount=D("1200000"),
        currency="CNY",
        reference="F1",
        occurred_at=local(2025, 2, 1, 0, 0),
    )
    charge(
        dealer=dealer,
        amount=D("900000"),
        currency="CNY",
        reference="F2",
        occurred_at=local(2025, 2, 10),
    )
    services.release_charge(dealer=dealer, reference="F2")  # a cancelled order is not a purchase
    charge(
        dealer=small,
        amount=D("500000"),
        currency="CNY",
        reference="S1",
        occurred_at=local(2025, 1, 5),
    )
    charge(
        dealer=usd,
        amount=D("900000"),
        currency="USD",
        reference="U1",
        occurred_at=local(2025, 1, 5),
    )
    charge(
        dealer=dealer,
        amount=D("2000000"),
        currency="CNY",
        reference="M1",
        occurred_at=local(2025, 3, 2),
    )

    assert purchases_by_dealer(date(2025, 1, 1), date(2025, 2, 1)) == {
        dealer.pk: D("600000"),
        small.pk: D("500000"),
        usd.pk: D("900000"),
    }
    assert (
        services.accrue_rebates(as_of=date(2025, 3, 5)) == 2
    )  # January and February; March is open
    assert services.accrue_rebates(as_of=date(2025, 3, 5)) == 0  # safe to re-run
    entries = {
        (e.period_start, e.percent, e.amount) for e in RebateEntry.objects.filter(dealer=dealer)
    }
    assert entries == {
        (date(2025, 1, 1), D("1"), D("6000.00")),
        (date(2025, 2, 1), D("2"), D("24000.00")),
    }
    assert rebate_balance(dealer) == D("30000.00")
    assert rebate_balance(small) == D("0")  # 500,000 is not *over* the threshold
    assert rebate_balance(usd) == D("0")  # another currency than the programme's
    assert services.accrue_rebates(as_of=date(2025, 4, 1)) == 1  # March closes
    assert rebate_balance(dealer) == D("70000.00")


def test_the_tenant_task_accrues_in_its_schema(programme):
    dealer = DealerFactory(credit_limit=D("9000000"))
    last_month = (timezone.localdate().replace(day=1) - timezone.timedelta(days=1)).replace(day=15)
    services.save_rebate_programme(programme=programme, starts_on=last_month.replace(day=1))
    services.charge_order(
        dealer=dealer,
        amount=D("700000"),
        currency="CNY",
        reference="A",
        occurred_at=local(last_month.year, last_month.month, 15),
    )
    assert tasks.accrue_rebates() == 1
    assert tasks.accrue_rebates() == 0
    assert rebate_balance(dealer) == D("7000.00")


def test_spending_rebate_never_goes_below_zero(programme):
    dealer = DealerFactory()
    with pytest.raises(DomainError) as exc:
        services.spend_rebate(dealer=dealer, amount=D("1"), reference="SO-1")
    assert exc.value.code == "REBATE_INSUFFICIENT"
    RebateAccount.objects.create(dealer=dealer, currency="CNY", balance=D("100"))
    services.spend_rebate(dealer=dealer, amount=D("60"), reference="SO-1")
    services.spend_rebate(dealer=dealer, amount=D("60"), reference="SO-1")  # same order: once
    with pytest.raises(DomainError) as exc:
        services.spend_rebate(dealer=dealer, amount=D("40.01"), reference="SO-2")
    assert exc.value.params["available"] == "40.00"
    services.reverse_rebate_spend(dealer=dealer, reference="SO-1")
    services.reverse_rebate_spend(dealer=dealer, reference="SO-1")
    assert rebate_balance(dealer) == D("100.00")


@pytest.mark.parametrize(
    ("tiers", "field", "code"),
    [
        ([], "tiers", "REQUIRED"),
        (
            [{"threshold": "100", "percent": "1"}, {"threshold": "100", "percent": "2"}],
            "tiers.1.threshold",
            "OVERLAPPING_TIERS",
        ),
        ([{"threshold": "-1", "percent": "1"}], "tiers.0.threshold", "INVALID"),
        ([{"threshold": "1e400", "percent": "1"}], "tiers.0.threshold", "INVALID"),
        ([{"threshold": "100", "percent": "0"}], "tiers.0.percent", "INVALID"),
    ],
)
def test_bad_rebate_programmes(tenant_db, tiers, field, code):
    with pytest.raises(DomainError) as exc:
        services.save_rebate_programme(
            code="X",
            name="X",
            period="month",
            currency="CNY",
            starts_on=date(2025, 1, 1),
            tiers=tiers,
        )
    assert (exc.value.field, exc.value.code) == (field, code)
