"""Read queries for users and dealers, scoped to what the caller may see."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import Dealer, User


def dealers_visible_to(user: User | None, *, api_key=None) -> QuerySet[Dealer]:
    """Staff and integrations see every dealer; a dealer's user sees its own dealer."""
    qs = Dealer.objects.all()
    if api_key is not None:
        return qs
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_staff_role:
        return qs
    if user.is_dealer_user and user.dealer_id:
        return qs.filter(pk=user.dealer_id)
    return qs.none()
