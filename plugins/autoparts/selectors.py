"""Look-ups: the parts that fit a vehicle, that carry a part number, or that fit the
vehicle a VIN describes, as the dealer may order them.

A part is *orderable* for a dealer when its SKU and product are active, the
product is in the dealer's authorised catalogue
(:func:`core.catalog.selectors.catalogue_q`) and the dealer has a price for it
(unless the tenant's ``include_unpriced`` setting lists unpriced parts too).
Without a dealer (staff browsing) every active part is listed, without prices.

Each look-up runs a fixed number of SQL statements whatever the number of
results: the vehicles or numbers (1 to 3), the SKUs with their availability
and fitment notes (2), and the dealer's prices in one batch
(:func:`core.pricing.selectors.price_products_for_dealer`, 3).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from core.catalog.models import ProductStatus, Sku
from core.catalog.selectors import catalogue_q, skus_with_availability
from core.exceptions import DomainError

from . import vin as vins
from .models import CrossReference, Fitment, PartNumber, Vehicle
from .numbers import normalise_name, normalise_number

UNKNOWN_VEHICLE = "UNKNOWN_VEHICLE"
UNKNOWN_OE_NUMBER = "UNKNOWN_OE_NUMBER"
INVALID_VIN = "INVALID_VIN"
MAX_RESULTS = 200
CROSS_REFERENCE_DEPTH = 2  # A ⇄ OE ⇄ B: an aftermarket number finds the other brands' parts


class LookupFailed(DomainError):
    """A look-up that cannot answer (``code`` is one of the constants above)."""


@dataclass
class FitNote:
    vehicle: Vehicle
    position: str
    note: str


@dataclass
class Part:
    """One orderable SKU in a look-up's answer."""

    sku: Sku
    available: int
    price: Any | None  # core.pricing.selectors.ProductPrice
    fitments: list[FitNote] = field(default_factory=list)
    numbers: list[PartNumber] = field(default_factory=list)


@dataclass
class LookupResult:
    parts: list[Part]
    vehicles: list[Vehicle] = field(default_factory=list)
    numbers: list[PartNumber] = field(default_factory=list)
    decoded_vin: vins.DecodedVin | None = None
    truncated: bool = False


# --- vehicles -------------------------------------------------------------------------------
def vehicles_matching(
    *,
    make: str | None = None,
    makes: Iterable[str] = (),
    model: str | None = None,
    year: int | None = None,
    engine_code: str | None = None,
    fuel: str | None = None,
) -> QuerySet[Vehicle]:
    """Vehicles of a make (any of ``makes``, case-insensitive), model, model year and engine."""
    qs = Vehicle.objects.all()
    names = [normalise_name(m) for m in ([make] if make else [])]
    names += [normalise_name(m) for m in makes]
    names = [n for n in names if n]
    if names:
        condition = Q()
        for name in names:
            condition |= Q(make__iexact=name)
        qs = qs.filter(condition)
    if model and normalise_name(model):
        qs = qs.filter(model__iexact=normalise_name(model))
    if year is not None:
        qs = qs.filter(year_from__lte=year).filter(Q(year_to__isnull=True) | Q(year_to__gte=year))
    if engine_code and engine_code.strip():
        qs = qs.filter(engine_code__iexact=engine_code.strip())
    if fuel:
        qs = qs.filter(fuel=fuel)
    return qs.order_by("make", "model", "year_from", "engine_code", "id")


def makes() -> list[str]:
    """The makes of the tenant's vehicles, for a picker."""
    return list(Vehicle.objects.order_by("make").values_list("make", flat=True).distinct())


# --- parts ----------------------------------------------------------------------------------
def orderable_skus(dealer, *, product_ids: Iterable[int] = (), sku_ids: Iterable[int] = ()):
    """Active SKUs of active products (in the dealer's catalogue when there is a dealer)
    among those products or SKUs, with ``on_hand_total``/``reserved_total``: one statement."""
    products, skus = sorted(set(product_ids)), sorted(set(sku_ids))
    if not products and not skus:
        return Sku.objects.none()
    qs = (
        skus_with_availability()
        .select_related("product", "product__brand")
        .filter(is_active=True, product__status=ProductStatus.ACTIVE)
        .filter(Q(product_id__in=products) | Q(pk__in=skus))
    )
    if dealer is not None:
        qs = qs.filter(catalogue_q(dealer, prefix="product__"))
    return qs.order_by("product__name", "code")


def _parts(
    dealer, skus: list[Sku], *, include_unpriced: bool, limit: int
) -> tuple[list[Part], bool]:
    """Price the SKUs in one batch; drop unpriced ones for a dealer unless asked not to."""
    from core.pricing.selectors import price_products_for_dealer

    prices = price_products_for_dealer(dealer, [s.pk for s in skus]) if dealer and skus else {}
    parts = []
    for sku in skus:
        price = prices.get(sku.pk)
        if dealer is not None and price is None and not include_unpriced:
            continue
        available = (sku.on_hand_total or 0) - (sku.reserved_total or 0)
        parts.append(Part(sku=sku, available=max(available, 0), price=price))
    return parts[:limit], len(parts) > limit


def parts_for_vehicles(
    dealer, vehicles: list[Vehicle], *, include_unpriced: bool = False, limit: int = MAX_RESULTS
) -> tuple[list[Part], bool]:
    """Orderable parts fitting any of ``vehicles``, each with its fitment notes."""
    if not vehicles:
        return [], False
    by_id = {v.pk: v for v in vehicles}
    fitments = list(
        Fitment.objects.filter(vehicle_id__in=by_id).values_list(
            "vehicle_id", "product_id", "sku_id", "position", "note"
        )
    )
    whole_products = {p for _v, p, s, _pos, _n in fitments if s is None}
    single_skus = {s for _v, _p, s, _pos, _n in fitments if s is not None}
    skus = list(orderable_skus(dealer, product_ids=whole_products, sku_ids=single_skus))
    parts, truncated = _parts(dealer, skus, include_unpriced=include_unpriced, limit=limit)
    for part in parts:
        seen = set()
        for vehicle_id, product_id, sku_id, position, note in fitments:
            fits = sku_id == part.sku.pk or (sku_id is None and product_id == part.sku.product_id)
            if fits and (vehicle_id, position, note) not in seen:
                seen.add((vehicle_id, position, note))
                part.fitments.append(FitNote(by_id[vehicle_id], position, note))
    return parts, truncated


def lookup_by_vehicle(
    dealer,
    *,
    vehicle_id: int | None = None,
    make: str | None = None,
    model: str | None = None,
    year: int | None = None,
    engine_code: str | None = None,
    include_unpriced: bool = False,
    limit: int = MAX_RESULTS,
) -> LookupResult:
    """Parts fitting one vehicle (``vehicle_id``) or every vehicle matching make, model,
    model year and engine."""
    if vehicle_id is not None:
        vehicles = list(Vehicle.objects.filter(pk=vehicle_id))
    elif make and make.strip():
        vehicles = list(
            vehicles_matching(make=make, model=model, year=year, engine_code=engine_code)
        )
    else:
        raise LookupFailed(
            _("Choose a vehicle, or give at least its make."), code="REQUIRED", field="make"
        )
    if not vehicles:
        raise LookupFailed(
            _("No vehicle matches: check the make, model, year and engine."),
            code=UNKNOWN_VEHICLE,
            field="vehicleId" if vehicle_id is not None else "make",
        )
    parts, truncated = parts_for_vehicles(
        dealer, vehicles, include_unpriced=include_unpriced, limit=limit
    )
    return LookupResult(parts=parts, vehicles=vehicles, truncated=truncated)


def numbers_matching(number: str, *, brand: str | None = None) -> list[PartNumber]:
    """Part numbers equal to ``number`` once normalised (optionally of one brand)."""
    key = normalise_number(number)
    if not key:
        return []
    qs = PartNumber.objects.filter(normalised=key)
    if brand and normalise_name(brand):
        qs = qs.filter(brand__iexact=normalise_name(brand))
    return list(qs.order_by("kind", "brand", "id"))


def cross_referenced(
    numbers: list[PartNumber], depth: int = CROSS_REFERENCE_DEPTH
) -> list[PartNumber]:
    """``numbers`` and the numbers cross-referenced with them, both ways, ``depth`` hops
    deep (one statement per hop, then one for the new numbers)."""
    known = {n.pk for n in numbers}
    frontier = set(known)
    for _hop in range(depth):
        if not frontier:
            break
        pairs = CrossReference.objects.filter(
            Q(source_id__in=frontier) | Q(target_id__in=frontier)
        ).values_list("source_id", "target_id")
        found = {i for pair in pairs for i in pair} - known
        known |= found
        frontier = found
    extra = known - {n.pk for n in numbers}
    if not extra:
        return list(numbers)
    return list(numbers) + list(PartNumber.objects.filter(pk__in=extra).order_by("brand", "id"))


def lookup_by_number(
    dealer,
    number: str,
    *,
    brand: str | None = None,
    include_unpriced: bool = False,
    limit: int = MAX_RESULTS,
) -> LookupResult:
    """Parts carrying an OE or aftermarket number, or one cross-referenced with it."""
    if not normalise_number(number):
        raise LookupFailed(_("Enter a part number."), code="REQUIRED", field="number")
    matched = numbers_matching(number, brand=brand)
    if not matched:
        raise LookupFailed(
            _("No OE or cross-reference number %(number)s is known.") % {"number": number},
            code=UNKNOWN_OE_NUMBER,
            field="number",
        )
    numbers = cross_referenced(matched)
    by_id = {n.pk: n for n in numbers}
    links = list(
        PartNumber.products.through.objects.filter(partnumber_id__in=by_id).values_list(
            "partnumber_id", "product_id"
        )
    )
    per_product: dict[int, list[PartNumber]] = defaultdict(list)
    for number_id, product_id in links:
        per_product[product_id].append(by_id[number_id])
    skus = list(orderable_skus(dealer, product_ids=per_product))
    parts, truncated = _parts(dealer, skus, include_unpriced=include_unpriced, limit=limit)
    for part in parts:
        part.numbers = sorted(
            per_product[part.sku.product_id], key=lambda n: (n.kind != "oe", n.brand, n.number)
        )
    return LookupResult(parts=parts, numbers=numbers, truncated=truncated)


def lookup_by_vin(
    dealer,
    vin: str,
    *,
    policy: str = vins.AUTO,
    include_unpriced: bool = False,
    limit: int = MAX_RESULTS,
) -> LookupResult:
    """Decode the VIN, then list parts fitting vehicles of its make(s) and model year."""
    try:
        decoded = vins.decode_vin(vin, policy=policy)
    except vins.InvalidVin as exc:
        raise LookupFailed(
            exc.message, code=INVALID_VIN, field="vin", reason=exc.reason, position=exc.position
        ) from None
    if decoded.manufacturer is None:
        raise LookupFailed(
            _("The VIN's manufacturer code %(wmi)s is not known.") % {"wmi": decoded.wmi},
            code=UNKNOWN_VEHICLE,
            field="vin",
            decoded=decoded,
        )
    vehicles = list(
        vehicles_matching(makes=vins.make_names(decoded.makes), year=decoded.model_year)
    )
    if not vehicles:
        raise LookupFailed(
            _("No %(makes)s vehicle of model year %(year)s is in the catalogue.")
            % {"makes": "/".join(decoded.makes), "year": decoded.model_year or "?"},
            code=UNKNOWN_VEHICLE,
            field="vin",
            decoded=decoded,
        )
    parts, truncated = parts_for_vehicles(
        dealer, vehicles, include_unpriced=include_unpriced, limit=limit
    )
    return LookupResult(parts=parts, vehicles=vehicles, decoded_vin=decoded, truncated=truncated)
