"""The order state machine: which transitions are allowed."""

from __future__ import annotations

from .models import OrderStatus as S

ALLOWED: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.SUBMITTED, S.CANCELLED}),
    S.SUBMITTED: frozenset({S.PENDING_APPROVAL, S.APPROVED, S.CANCELLED}),
    S.PENDING_APPROVAL: frozenset({S.APPROVED, S.CANCELLED}),
    S.APPROVED: frozenset({S.ALLOCATED, S.CANCELLED}),
    S.ALLOCATED: frozenset({S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED}),
    S.PARTIALLY_SHIPPED: frozenset({S.SHIPPED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.RETURNED}),
    S.DELIVERED: frozenset({S.COMPLETED, S.RETURNED}),
    S.COMPLETED: frozenset({S.RETURNED}),
    S.CANCELLED: frozenset(),
    S.RETURNED: frozenset(),
}

CANCELLABLE = frozenset({S.DRAFT, S.SUBMITTED, S.PENDING_APPROVAL, S.APPROVED, S.ALLOCATED})
SHIPPABLE = frozenset({S.ALLOCATED, S.PARTIALLY_SHIPPED})
RETURNABLE = frozenset({S.SHIPPED, S.DELIVERED, S.COMPLETED})


def can_transition(current: str, target: str) -> bool:
    return target in ALLOWED.get(current, frozenset())
