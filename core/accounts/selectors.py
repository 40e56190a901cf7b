"""Read queries for users and dealers, scoped to what the caller may see.

The scoping rules, used by GraphQL, the tenant console, exports and every
other app (orders, pricing, reports) through these functions:

* staff (tenant admin, staff) and API keys: every dealer (an API key's
  ``dealers:read`` scope is checked by the channel, not here);
* a dealer buyer: its own dealer only;
* a dealer admin: its own dealer and the whole subtree below it;
* a sales rep: the dealers it covers (``Dealer.sales_reps``) and the subtrees
  below them (a rep covering a regional distributor covers its shops);
* anyone else, an inactive user or nobody: no dealer.
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.lookups import StartsWith

from .models import STAFF_ROLES, Dealer, Role, User


def _active(user: User | None) -> bool:
    return user is not None and user.is_authenticated and user.is_active


def _covered_by_rep(user: User, prefix: str = "") -> Exists:
    """``EXISTS`` a dealer covered by ``user`` whose subtree holds the outer dealer."""
    through = Dealer.sales_reps.through
    return Exists(
        through.objects.filter(user_id=user.pk).filter(
            StartsWith(OuterRef(f"{prefix}path"), F("dealer__path"))
        )
    )


def dealer_scope_q(user: User | None, *, api_key=None, prefix: str = "") -> Q | None:
    """The condition on a dealer (``prefix`` leads to it, e.g. ``"dealer__"``) that
    the caller may see; ``None`` means no restriction. Adds no query of its own."""
    if api_key is not None:
        return None
    if not _active(user):
        return Q(pk__in=[])
    if user.role in STAFF_ROLES:
        return None
    if user.role == Role.DEALER_BUYER and user.dealer_id:
        return Q(**{f"{prefix}pk": user.dealer_id})
    if user.role == Role.DEALER_ADMIN and user.dealer_id:
        return Q(**{f"{prefix}path__startswith": user.dealer.path})
    if user.role == Role.SALES_REP:
        return Q(_covered_by_rep(user, prefix))
    return Q(pk__in=[])


def dealers_visible_to(user: User | None, *, api_key=None) -> QuerySet[Dealer]:
    """The dealers the caller may see (see the module docstring for the rules)."""
    condition = dealer_scope_q(user, api_key=api_key)
    qs = Dealer.objects.all()
    return qs if condition is None else qs.filter(condition)


def visible_dealer_ids(user: User | None, api_key=None) -> QuerySet:
    """Ids of the dealers the caller may see, as a subquery: ``dealer_id__in=...``."""
    return dealers_visible_to(user, api_key=api_key).values("pk")


def filter_by_visible_dealers(
    queryset: QuerySet, user: User | None, *, api_key=None, field: str = "dealer"
) -> QuerySet:
    """``queryset`` (orders, price lists, ledgers …) narrowed to rows whose ``field``
    is a dealer the caller may see. Staff get the queryset unchanged; the others
    get a condition inside the same SQL statement (no extra query)."""
    condition = dealer_scope_q(user, api_key=api_key, prefix=f"{field}__" if field else "")
    return queryset if condition is None else queryset.filter(condition)


def can_see_dealer(user: User | None, dealer: Dealer, *, api_key=None) -> bool:
    return can_act_for_dealer(user, dealer, api_key=api_key)


def can_act_for_dealer(user: User | None, dealer: Dealer, *, api_key=None) -> bool:
    """May ``user`` act for ``dealer`` (order for it, manage its users)?

    The same rules as seeing it: staff for any dealer, a buyer for its own, a
    dealer admin for its subtree (a child shop), a sales rep for the dealers it
    covers and their subtrees (ordering on their behalf). Costs at most one
    query (for a sales rep), none otherwise.
    """
    if api_key is not None:
        return True
    if not _active(user) or dealer is None or dealer.pk is None:
        return False
    if user.role in STAFF_ROLES:
        return True
    if user.role == Role.DEALER_BUYER:
        return user.dealer_id == dealer.pk
    if user.role == Role.DEALER_ADMIN and user.dealer_id:
        return dealer.pk == user.dealer_id or dealer.is_in_subtree_of(user.dealer)
    if user.role == Role.SALES_REP:
        return Dealer.sales_reps.through.objects.filter(
            user_id=user.pk, dealer_id__in=dealer.lineage_ids
        ).exists()
    return False


def dealer_subtree(dealer: Dealer, *, include_self: bool = True) -> QuerySet[Dealer]:
    """The dealers below ``dealer`` (and itself), one indexed prefix scan."""
    qs = Dealer.objects.filter(path__startswith=dealer.path)
    return qs if include_self else qs.exclude(pk=dealer.pk)


def dealer_ancestors(dealer: Dealer) -> QuerySet[Dealer]:
    """The dealers above ``dealer``, root first."""
    return Dealer.objects.filter(pk__in=dealer.ancestor_ids).order_by("depth")


def dealers_for_listing(
    user: User | None,
    *,
    api_key=None,
    search: str | None = None,
    status: str | None = None,
    tier: str | None = None,
    region: str | None = None,
    under: Dealer | None = None,
) -> QuerySet[Dealer]:
    """Visible dealers filtered for a list (GraphQL ``dealers``, console, export)."""
    qs = dealers_visible_to(user, api_key=api_key).select_related("parent")
    if search:
        term = search.strip()
        qs = qs.filter(Q(code__icontains=term) | Q(name__icontains=term))
    if status:
        qs = qs.filter(status=status)
    if tier:
        qs = qs.filter(tier=tier)
    if region:
        qs = qs.filter(region=region)
    if under is not None:
        qs = qs.filter(path__startswith=under.path)
    return qs.order_by("path")


def users_visible_to(user: User | None, *, api_key=None) -> QuerySet[User]:
    """Staff see every user; a dealer admin sees the users of its subtree; others themselves."""
    if not _active(user):
        return User.objects.none()
    if user.role in STAFF_ROLES:
        return User.objects.all()
    if user.role == Role.DEALER_ADMIN and user.dealer_id:
        return User.objects.filter(Q(pk=user.pk) | Q(dealer__path__startswith=user.dealer.path))
    return User.objects.filter(pk=user.pk)
