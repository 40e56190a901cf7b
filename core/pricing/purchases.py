"""What a dealer bought in a period: the input of rebate accrual.

``purchases_by_dealer(period_start, period_end)`` answers from, in order:

1. the function named by the ``PRICING_PURCHASES_SOURCE`` setting (a dotted
   path to ``f(start: datetime, end: datetime) -> dict[int, Decimal]``), if set;
2. ``core.orders.selectors.purchases_by_dealer`` with the same signature, when
   the orders app is installed and defines it;
3. the credit ledger: order charges (orders placed on account) in the period
   whose charge has not been released (an order cancelled later does not
   count), summed per dealer.

Periods are local calendar dates (``TIME_ZONE``), ``period_end`` exclusive.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal

from django.apps import apps
from django.conf import settings
from django.db.models import Exists, OuterRef, Sum
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import CreditEntry, CreditEntryKind

Source = Callable[[datetime, datetime], dict[int, Decimal]]


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


def credit_ledger_purchases(start: datetime, end: datetime) -> dict[int, Decimal]:
    """Order charges on the credit ledger in ``[start, end)``, net of released charges."""
    released = CreditEntry.objects.filter(
        dealer_id=OuterRef("dealer_id"),
        reference=OuterRef("reference"),
        kind=CreditEntryKind.CHARGE_RELEASE,
    )
    rows = (
        CreditEntry.objects.filter(
            kind=CreditEntryKind.ORDER_CHARGE, occurred_at__gte=start, occurred_at__lt=end
        )
        .exclude(Exists(released))
        .values("dealer_id")
        .annotate(total=Sum("amount"))
    )
    return {r["dealer_id"]: r["total"] for r in rows if r["total"]}


def purchases_source() -> Source:
    path = getattr(settings, "PRICING_PURCHASES_SOURCE", "")
    if path:
        return import_string(path)
    if apps.is_installed("core.orders"):
        try:
            from core.orders import selectors as order_selectors  # type: ignore[attr-defined]

            source = getattr(order_selectors, "purchases_by_dealer", None)
        except ImportError:
            source = None
        if source is not None:
            return source
    return credit_ledger_purchases


def purchases_by_dealer(period_start: date, period_end: date) -> dict[int, Decimal]:
    """Each dealer's purchases from ``period_start`` up to (not including) ``period_end``."""
    return purchases_source()(local_midnight(period_start), local_midnight(period_end))
