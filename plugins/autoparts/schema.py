"""GraphQL of the auto parts plugin: look-ups for dealers, management for staff.

Every field here is gated by the platform: a tenant without the plugin gets
``PLUGIN_DISABLED`` and no data. Look-ups answer a payload with
``errors: [AutopartsLookupError!]!`` (``INVALID_VIN`` with its ``reason``,
``UNKNOWN_OE_NUMBER``, ``UNKNOWN_VEHICLE`` …), never a server error.
"""

from __future__ import annotations

from typing import Any

import graphene
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from graphene import relay
from graphene_django import DjangoObjectType
from graphql import GraphQLError

from core.accounts.schema import CamelErrorsMutation, camel_field, decode_id, visible_dealer
from core.api.types import error_type, require_scope
from core.catalog.dataloaders import PriceView
from core.catalog.models import Product
from core.catalog.schema import remember_chosen_dealer, require_catalog_reader, viewing_dealer
from core.exceptions import DomainError, NotFound
from core.pricing.schema import SkuPriceType
from plugins.schema import current_tenant

from . import selectors, services
from . import vin as vins
from .models import CrossReference, Fitment, PartNumber, Vehicle

NAME = "autoparts"
LOOKUP_CODES = [
    selectors.INVALID_VIN,
    selectors.UNKNOWN_OE_NUMBER,
    selectors.UNKNOWN_VEHICLE,
    "REQUIRED",
    "INVALID",
    "NOT_FOUND",
]
AutopartsLookupError = error_type(
    "AutopartsLookup",
    LOOKUP_CODES,
    "Why an auto parts look-up found nothing.",
    extra={
        "reason": graphene.String(
            description="For INVALID_VIN: LENGTH, CHARACTERS, CHECK_DIGIT or MODEL_YEAR."
        ),
        "position": graphene.Int(description="For INVALID_VIN: the 1-based position at fault."),
    },
)
AutopartsError = error_type(
    "Autoparts",
    [
        "INVALID",
        "REQUIRED",
        "NOT_FOUND",
        "SKU_OF_OTHER_PRODUCT",
        "SAME_BRAND",
        "EMPTY",
        "MISSING_COLUMNS",
        "PERMISSION_DENIED",
        "TOO_LONG",
    ],
    "An error from changing vehicles, fitments or part numbers.",
)
ImportKindEnum = graphene.Enum(
    "AutopartsImportKind",
    [("FITMENTS", "fitments"), ("NUMBERS", "numbers"), ("CROSS_REFERENCES", "cross_references")],
    description="What a CSV import holds.",
)


def _settings(info) -> dict[str, Any]:
    from plugins.services import plugin_settings

    return plugin_settings(tenant=current_tenant(info), name=NAME)


def _limit(first: int | None) -> int:
    if first is None:
        return selectors.MAX_RESULTS
    if first < 1 or first > selectors.MAX_RESULTS:
        raise DomainError(
            _("Ask for 1 to %(n)d parts.") % {"n": selectors.MAX_RESULTS},
            code="INVALID",
            field="first",
        )
    return first


def _dealer(info, for_dealer_id: str | None):
    """The dealer whose catalogue and prices a look-up uses: a dealer user's own, or
    the one staff and sales reps chose with ``forDealerId``; None for staff browsing."""
    require_catalog_reader(info)
    if for_dealer_id:
        dealer = visible_dealer(info, for_dealer_id, field="forDealerId")
        remember_chosen_dealer(info, dealer)  # the parts' own price fields see it too
        return dealer
    return viewing_dealer(info)


# --- types ----------------------------------------------------------------------------------
class AutopartsVehicleType(DjangoObjectType):
    class Meta:
        model = Vehicle
        name = "AutopartsVehicle"
        interfaces = (relay.Node,)
        fields = (
            "make",
            "model",
            "year_from",
            "year_to",
            "engine_code",
            "displacement",
            "fuel",
            "body",
            "trim",
        )
        convert_choices_to_enum = False
        description = "A vehicle type parts fit: make, model, model years, engine (auto parts)."

    @classmethod
    def get_queryset(cls, queryset, info):
        require_catalog_reader(info)
        return queryset


class AutopartsPartNumberType(DjangoObjectType):
    product_codes = graphene.List(
        graphene.NonNull(graphene.String),
        required=True,
        description="The tenant's products that are this part (staff listings).",
    )

    class Meta:
        model = PartNumber
        name = "AutopartsPartNumber"
        interfaces = (relay.Node,)
        fields = ("kind", "brand", "number", "normalised", "note")
        convert_choices_to_enum = False
        description = "An OE number or an aftermarket brand's part number (auto parts)."

    @classmethod
    def get_queryset(cls, queryset, info):
        require_catalog_reader(info)
        return queryset

    def resolve_product_codes(root, info):
        cache = getattr(root, "_prefetched_objects_cache", {})
        if "products" not in cache:
            require_scope(info, "catalog:read")  # staff: unprefetched, one query
        return sorted(p.code for p in root.products.all())


class AutopartsCrossReferenceType(DjangoObjectType):
    class Meta:
        model = CrossReference
        name = "AutopartsCrossReference"
        interfaces = (relay.Node,)
        fields = ("source", "target", "note")
        description = "Two interchangeable part numbers of different brands."

    @classmethod
    def get_queryset(cls, queryset, info):
        require_scope(info, "catalog:read")
        return queryset


class AutopartsFitmentType(DjangoObjectType):
    product_code = graphene.String(required=True)
    sku_code = graphene.String(description="Only this SKU fits; null when every SKU does.")

    class Meta:
        model = Fitment
        name = "AutopartsFitment"
        interfaces = (relay.Node,)
        fields = ("vehicle", "position", "note")
        convert_choices_to_enum = False
        description = "A part fitted to a vehicle (auto parts)."

    @classmethod
    def get_queryset(cls, queryset, info):
        require_scope(info, "catalog:read")
        return queryset.select_related("product", "sku", "vehicle")

    def resolve_product_code(root, info):
        return root.product.code

    def resolve_sku_code(root, info):
        return root.sku.code if root.sku_id else None


class AutopartsFitNoteType(graphene.ObjectType):
    class Meta:
        name = "AutopartsFitNote"
        description = "Where and how a part fits one of the vehicles looked up."

    vehicle = graphene.Field(AutopartsVehicleType, required=True)
    position = graphene.String(required=True, description="front, rear, front_left … or empty.")
    note = graphene.String(required=True)


class AutopartsPartType(graphene.ObjectType):
    class Meta:
        name = "AutopartsPart"
        description = "A part the dealer may order, with its price and availability."

    sku_code = graphene.String(required=True)
    sku_name = graphene.String(required=True)
    product_code = graphene.String(required=True)
    product_name = graphene.String(required=True)
    brand = graphene.String(description="The part's brand in the catalogue.")
    base_unit = graphene.String(required=True)
    min_order_qty = graphene.Int(required=True)
    order_multiple = graphene.Int(required=True)
    available = graphene.Int(required=True, description="Base units available now.")
    is_available = graphene.Boolean(required=True)
    price = graphene.Field(SkuPriceType, description="The dealer's price per base unit.")
    fitments = graphene.List(graphene.NonNull(AutopartsFitNoteType), required=True)
    numbers = graphene.List(
        graphene.NonNull(AutopartsPartNumberType),
        required=True,
        description="The part's numbers that matched the number looked up (directly or "
        "through a cross-reference).",
    )

    @staticmethod
    def from_part(part: selectors.Part) -> AutopartsPartType:
        sku = part.sku
        return AutopartsPartType(
            sku_code=sku.code,
            sku_name=sku.name or sku.product.name,
            product_code=sku.product.code,
            product_name=sku.product.name,
            brand=sku.product.brand.name if sku.product.brand_id else None,
            base_unit=sku.base_unit,
            min_order_qty=sku.min_order_qty,
            order_multiple=sku.order_multiple,
            available=part.available,
            is_available=part.available > 0,
            price=PriceView(sku.code, part.price) if part.price is not None else None,
            fitments=[
                AutopartsFitNoteType(vehicle=f.vehicle, position=f.position, note=f.note)
                for f in part.fitments
            ],
            numbers=part.numbers,
        )


class AutopartsVinWarningType(graphene.ObjectType):
    class Meta:
        name = "AutopartsVinWarning"

    code = graphene.String(
        required=True,
        description="CHECK_DIGIT_NOT_VERIFIED, MODEL_YEAR_UNKNOWN or UNKNOWN_MANUFACTURER.",
    )
    message = graphene.String(required=True)


class AutopartsDecodedVinType(graphene.ObjectType):
    class Meta:
        name = "AutopartsDecodedVin"
        description = "What a VIN says: manufacturer (WMI, positions 1-3) and model year (10)."

    vin = graphene.String(required=True, description="Normalised: upper-case, no spaces.")
    wmi = graphene.String(required=True)
    region = graphene.String(required=True, description="north_america, china, europe, asia …")
    manufacturer = graphene.String()
    makes = graphene.List(graphene.NonNull(graphene.String), required=True)
    country = graphene.String()
    model_year = graphene.Int()
    check_digit_valid = graphene.Boolean(required=True)
    check_digit_required = graphene.Boolean(required=True)
    warnings = graphene.List(graphene.NonNull(AutopartsVinWarningType), required=True)

    @staticmethod
    def from_decoded(decoded: vins.DecodedVin | None) -> AutopartsDecodedVinType | None:
        if decoded is None:
            return None
        maker = decoded.manufacturer
        return AutopartsDecodedVinType(
            vin=decoded.vin,
            wmi=decoded.wmi,
            region=decoded.region,
            manufacturer=maker.name if maker else None,
            makes=list(decoded.makes),
            country=maker.country if maker else None,
            model_year=decoded.model_year,
            check_digit_valid=decoded.check_digit_valid,
            check_digit_required=decoded.check_digit_required,
            warnings=[AutopartsVinWarningType(code=c, message=m) for c, m in decoded.warnings],
        )


class AutopartsLookupResultType(graphene.ObjectType):
    class Meta:
        name = "AutopartsLookupResult"
        description = "Parts found by an auto parts look-up, or why none could be."

    parts = graphene.List(graphene.NonNull(AutopartsPartType), required=True)
    vehicles = graphene.List(
        graphene.NonNull(AutopartsVehicleType), required=True, description="Vehicles matched."
    )
    numbers = graphene.List(
        graphene.NonNull(AutopartsPartNumberType),
        required=True,
        description="The number looked up and those cross-referenced with it.",
    )
    decoded_vin = graphene.Field(AutopartsDecodedVinType)
    truncated = graphene.Boolean(required=True, description="More parts fit than were returned.")
    errors = graphene.List(graphene.NonNull(AutopartsLookupError), required=True)


def _lookup(run) -> AutopartsLookupResultType:
    """Run a look-up; a domain error becomes the payload's ``errors``."""
    try:
        result: selectors.LookupResult = run()
    except DomainError as exc:
        decoded = exc.params.get("decoded")
        return AutopartsLookupResultType(
            parts=[],
            vehicles=[],
            numbers=[],
            decoded_vin=AutopartsDecodedVinType.from_decoded(decoded),
            truncated=False,
            errors=[
                AutopartsLookupError(
                    field=camel_field(exc.field),
                    message=exc.message,
                    code=exc.code if exc.code in AutopartsLookupError.codes else "INVALID",
                    reason=exc.params.get("reason"),
                    position=exc.params.get("position"),
                )
            ],
        )
    return AutopartsLookupResultType(
        parts=[AutopartsPartType.from_part(p) for p in result.parts],
        vehicles=result.vehicles,
        numbers=result.numbers,
        decoded_vin=AutopartsDecodedVinType.from_decoded(result.decoded_vin),
        truncated=result.truncated,
        errors=[],
    )


class AutopartsVinResultType(graphene.ObjectType):
    class Meta:
        name = "AutopartsVinResult"

    decoded_vin = graphene.Field(AutopartsDecodedVinType)
    errors = graphene.List(graphene.NonNull(AutopartsLookupError), required=True)


# --- queries --------------------------------------------------------------------------------
class Query(graphene.ObjectType):
    autoparts_parts_by_vehicle = graphene.Field(
        AutopartsLookupResultType,
        required=True,
        vehicle_id=graphene.ID(description="A vehicle from autopartsVehicles."),
        make=graphene.String(),
        model=graphene.String(),
        year=graphene.Int(description="A model year inside the vehicle's range."),
        engine_code=graphene.String(),
        for_dealer_id=graphene.ID(description="Staff and sales reps: this dealer's view."),
        first=graphene.Int(description=f"At most this many parts (≤ {selectors.MAX_RESULTS})."),
        description="Orderable parts fitting a vehicle, with the dealer's prices.",
    )
    autoparts_parts_by_number = graphene.Field(
        AutopartsLookupResultType,
        required=True,
        number=graphene.String(required=True, description="Spaces, dashes, dots, case ignored."),
        brand=graphene.String(description="Only this manufacturer's or brand's number."),
        for_dealer_id=graphene.ID(),
        first=graphene.Int(),
        description="Orderable parts with an OE or aftermarket number, or one cross-referenced.",
    )
    autoparts_parts_by_vin = graphene.Field(
        AutopartsLookupResultType,
        required=True,
        vin=graphene.String(required=True),
        for_dealer_id=graphene.ID(),
        first=graphene.Int(),
        description="Decode a VIN (make from the WMI, model year) and list the parts fitting "
        "vehicles of that make and year.",
    )
    autoparts_decode_vin = graphene.Field(
        AutopartsVinResultType,
        required=True,
        vin=graphene.String(required=True),
        description="Validate and decode a VIN without looking up parts.",
    )
    autoparts_vehicles = graphene.List(
        graphene.NonNull(AutopartsVehicleType),
        required=True,
        make=graphene.String(),
        model=graphene.String(),
        year=graphene.Int(),
        engine_code=graphene.String(),
        first=graphene.Int(),
        description="Vehicles of the catalogue, for a make → model → year → engine picker.",
    )
    autoparts_makes = graphene.List(
        graphene.NonNull(graphene.String), required=True, description="Makes with vehicles."
    )
    autoparts_part_numbers = graphene.List(
        graphene.NonNull(AutopartsPartNumberType),
        required=True,
        number=graphene.String(description="Normalised prefix of the number."),
        first=graphene.Int(),
        description="Staff: OE and aftermarket numbers with their products.",
    )
    autoparts_fitments = graphene.List(
        graphene.NonNull(AutopartsFitmentType),
        required=True,
        vehicle_id=graphene.ID(),
        product_code=graphene.String(),
        first=graphene.Int(),
        description="Staff: fitments of a vehicle or of a product.",
    )

    def resolve_autoparts_parts_by_vehicle(
        root,
        info,
        vehicle_id=None,
        make=None,
        model=None,
        year=None,
        engine_code=None,
        for_dealer_id=None,
        first=None,
    ):
        def run():
            dealer = _dealer(info, for_dealer_id)
            return selectors.lookup_by_vehicle(
                dealer,
                vehicle_id=decode_id(vehicle_id, "AutopartsVehicle", field="vehicleId"),
                make=make,
                model=model,
                year=year,
                engine_code=engine_code,
                include_unpriced=_settings(info)["include_unpriced"],
                limit=_limit(first),
            )

        return _lookup(run)

    def resolve_autoparts_parts_by_number(
        root, info, number, brand=None, for_dealer_id=None, first=None
    ):
        def run():
            dealer = _dealer(info, for_dealer_id)
            return selectors.lookup_by_number(
                dealer,
                number,
                brand=brand,
                include_unpriced=_settings(info)["include_unpriced"],
                limit=_limit(first),
            )

        return _lookup(run)

    def resolve_autoparts_parts_by_vin(root, info, vin, for_dealer_id=None, first=None):
        def run():
            dealer = _dealer(info, for_dealer_id)
            settings = _settings(info)
            return selectors.lookup_by_vin(
                dealer,
                vin,
                policy=settings["vin_check_digit"],
                include_unpriced=settings["include_unpriced"],
                limit=_limit(first),
            )

        return _lookup(run)

    def resolve_autoparts_decode_vin(root, info, vin):
        require_catalog_reader(info)
        try:
            decoded = vins.decode_vin(vin, policy=_settings(info)["vin_check_digit"])
        except vins.InvalidVin as exc:
            return AutopartsVinResultType(
                decoded_vin=None,
                errors=[
                    AutopartsLookupError(
                        field="vin",
                        message=exc.message,
                        code=selectors.INVALID_VIN,
                        reason=exc.reason,
                        position=exc.position,
                    )
                ],
            )
        return AutopartsVinResultType(
            decoded_vin=AutopartsDecodedVinType.from_decoded(decoded), errors=[]
        )

    def resolve_autoparts_vehicles(
        root, info, make=None, model=None, year=None, engine_code=None, first=None
    ):
        require_catalog_reader(info)
        limit = _query_limit(first)
        return list(
            selectors.vehicles_matching(make=make, model=model, year=year, engine_code=engine_code)[
                :limit
            ]
        )

    def resolve_autoparts_makes(root, info):
        require_catalog_reader(info)
        return selectors.makes()

    def resolve_autoparts_part_numbers(root, info, number=None, first=None):
        require_scope(info, "catalog:read")
        from .numbers import normalise_number

        qs = PartNumber.objects.prefetch_related(
            Prefetch("products", queryset=Product.objects.order_by("code"))
        )
        if number and normalise_number(number):
            qs = qs.filter(normalised__startswith=normalise_number(number))
        return list(qs.order_by("brand", "normalised", "id")[: _query_limit(first)])

    def resolve_autoparts_fitments(root, info, vehicle_id=None, product_code=None, first=None):
        require_scope(info, "catalog:read")
        qs = Fitment.objects.select_related("vehicle", "product", "sku")
        pk = _decode(vehicle_id, "AutopartsVehicle", "vehicleId")
        if pk is not None:
            qs = qs.filter(vehicle_id=pk)
        if product_code:
            qs = qs.filter(product__code=product_code.strip())
        return list(
            qs.order_by("vehicle_id", "product__code", "position", "id")[: _query_limit(first)]
        )


def _query_limit(first: int | None) -> int:
    try:
        return _limit(first)
    except DomainError as exc:
        raise GraphQLError(exc.message, extensions={"code": exc.code, "field": "first"}) from None


def _decode(global_id: str | None, kind: str, field: str) -> int | None:
    try:
        return decode_id(global_id, kind, field=field)
    except DomainError as exc:
        raise GraphQLError(exc.message, extensions={"code": exc.code, "field": field}) from None


# --- mutations ------------------------------------------------------------------------------
def _staff(info) -> None:
    require_scope(info, "catalog:write")


def _resolve_deleted(root, info) -> bool:
    """False, not null, when the mutation answers with errors (nothing was deleted)."""
    return bool(root.deleted)


def _get(model, global_id: str, kind: str, field: str):
    pk = decode_id(global_id, kind, field=field)
    row = model.objects.filter(pk=pk).first()
    if row is None:
        raise NotFound(_("Not found."), field=field)
    return row


class AutopartsVehicleInput(graphene.InputObjectType):
    make = graphene.String()
    model = graphene.String()
    year_from = graphene.Int()
    year_to = graphene.Int(description="Empty while still built.")
    engine_code = graphene.String()
    displacement = graphene.Decimal(description="Litres, e.g. 1.6.")
    fuel = graphene.String(
        description="petrol, diesel, hybrid, plugin_hybrid, electric, lpg, cng or other."
    )
    body = graphene.String()
    trim = graphene.String()


def _vehicle_data(data: AutopartsVehicleInput) -> dict[str, Any]:
    return {k: v for k, v in dict(data).items() if k in AutopartsVehicleInput._meta.fields}


class AutopartsVehicleCreate(CamelErrorsMutation, error_type=AutopartsError):
    """Staff: add a vehicle (make, model and first model year required)."""

    class Arguments:
        input = AutopartsVehicleInput(required=True)

    vehicle = graphene.Field(AutopartsVehicleType)

    @classmethod
    def perform(cls, root, info, input):
        _staff(info)
        return cls(vehicle=services.create_vehicle(**_vehicle_data(input)))


class AutopartsVehicleUpdate(CamelErrorsMutation, error_type=AutopartsError):
    """Staff: change a vehicle; fields left out are kept."""

    class Arguments:
        id = graphene.ID(required=True)
        input = AutopartsVehicleInput(required=True)

    vehicle = graphene.Field(AutopartsVehicleType)

    @classmethod
    def perform(cls, root, info, id, input):  # noqa: A002 - GraphQL's name
        _staff(info)
        vehicle = _get(Vehicle, id, "AutopartsVehicle", "id")
        return cls(vehicle=services.update_vehicle(vehicle=vehicle, **_vehicle_data(input)))


class AutopartsVehicleDelete(CamelErrorsMutation, error_type=AutopartsError):
    """Staff: delete a vehicle and its fitments."""

    class Arguments:
        id = graphene.ID(required=True)

    deleted = graphene.Boolean(required=True)
    resolve_deleted = staticmethod(_resolve_deleted)

    @classmethod
    def perform(cls, root, info, id):  # noqa: A002
        _staff(info)
        services.delete_vehicle(vehicle=_get(Vehicle, id, "AutopartsVehicle", "id"))
        return cls(deleted=True)


class AutopartsFitmentAdd(CamelErrorsMutation, error_type=AutopartsError):
    """Staff: fit a product (every SKU) or one SKU to a vehicle, with position and note."""

    class Arguments:
        vehicle_id = graphene.ID(required=True)
        product_code = graphene.String()
        sku_code = graphene.String(description="Only this SKU fits.")
        position = graphene.String(description="front, rear, front_left … or empty.")
        note = graphene.String()

    fitment = graphene.Field(AutopartsFitmentType)
    created = graphene.Boolean()

    @classmethod
    def perform(
        cls, root, info, vehicle_id, product_code=None, sku_code=None, position="", note=""
    ):
        _staff(info)
        vehicle = _get(Vehicle, vehicle_id, "AutopartsVehicle", "vehicleId")
        fitment, created = services.add_fitment(
            vehicle=vehicle,
            product_code=product_code,
            sku_code=sku_code,
            position=position,
            note=note or "",
        )
        return cls(fitment=fitment, created=created)


class AutopartsFitmentRemove(CamelErrorsMutation, error_type=AutopartsError):
    """Staff: remove a fitment."""

    class Arguments:
        id = graphene.ID(required=True)

    deleted = graphene.Boolean(required=True)
    resolve_deleted = staticmethod(_resolve_deleted)

    @classmethod
    def perform(cls, root, info, id):  # noqa: A002
        _staff(info)
        services.remove_fitment(fitment=_get(Fitment, id, "AutopartsFitment", "id"))
        return cls(deleted=True)


class AutopartsPartNumberSet(CamelErrorsMutation, error_type=AutopartsError):
    """Staff: create or update an OE or aftermarket number and link it to products."""

    class Arguments:
        brand = graphene.String(required=True, description="The vehicle maker or part brand.")
        number = graphene.String(required=True)
        kind = graphene.String(description="oe (default) or aftermarket.")
        product_codes = graphene.List(graphene.NonNull(graphene.String))
        replace_products = graphene.Boolean(
            description="Link exactly productCodes (unlinking others) instead of adding them."
        )
        note = graphene.String()

    part_number = graphene.Field(AutopartsPartNumberType)
    created = graphene.Boolean()

    @classmethod
    def perform(
        cls,
        root,
        info,
        brand,
        number,
        kind=None,
        product_codes=None,
        replace_products=False,
        note=None,
    ):
        _staff(info)
        row, created = services.set_part_number(
            brand=brand,
            number=number,
            kind=kind,
            product_codes=product_codes or [],
            replace_products=bool(replace_products),
            note=note,
        )
        return cls(part_number=row, created=created)


class AutopartsPartNumberDelete(CamelErrorsMutation, error_type=AutopartsError):
    """Staff: delete a part number with its product links and cross-references."""

    class Arguments:
        id = graphene.ID(required=True)

    deleted = graphene.Boolean(required=True)
    resolve_deleted = staticmethod(_resolve_deleted)

    @classmethod
    def perform(cls, root, info, id):  # noqa: A002
        _staff(info)
        services.delete_part_number(part_number=_get(PartNumber, id, "AutopartsPartNumber", "id"))
        return cls(deleted=True)


class AutopartsCrossReferenceAdd(CamelErrorsMutation, error_type=AutopartsError):
    """Staff: declare two numbers of different brands interchangeable (unknown ones are
    created: the first as an aftermarket number, the other as an OE number by default)."""

    class Arguments:
        brand = graphene.String(required=True)
        number = graphene.String(required=True)
        other_brand = graphene.String(required=True)
        other_number = graphene.String(required=True)
        kind = graphene.String()
        other_kind = graphene.String()
        note = graphene.String()

    cross_reference = graphene.Field(AutopartsCrossReferenceType)
    created = graphene.Boolean()

    @classmethod
    def perform(
        cls,
        root,
        info,
        brand,
        number,
        other_brand,
        other_number,
        kind=None,
        other_kind=None,
        note="",
    ):
        _staff(info)
        row, created = services.add_cross_reference(
            brand=brand,
            number=number,
            other_brand=other_brand,
            other_number=other_number,
            kind=kind or "aftermarket",
            other_kind=other_kind or "oe",
            note=note or "",
        )
        return cls(cross_reference=row, created=created)


class AutopartsCrossReferenceRemove(CamelErrorsMutation, error_type=AutopartsError):
    """Staff: remove a cross-reference (the numbers stay)."""

    class Arguments:
        id = graphene.ID(required=True)

    deleted = graphene.Boolean(required=True)
    resolve_deleted = staticmethod(_resolve_deleted)

    @classmethod
    def perform(cls, root, info, id):  # noqa: A002
        _staff(info)
        services.remove_cross_reference(
            reference=_get(CrossReference, id, "AutopartsCrossReference", "id")
        )
        return cls(deleted=True)


class AutopartsImport(CamelErrorsMutation, error_type=AutopartsError):
    """Staff: import fitments, part numbers or cross-references from CSV text, all or
    nothing; every bad row is an error with field ``row.<n>``."""

    class Arguments:
        kind = ImportKindEnum(required=True)
        csv = graphene.String(required=True, description="UTF-8 CSV with a header row.")

    rows = graphene.Int()
    created = graphene.Int()
    updated = graphene.Int()

    @classmethod
    def perform(cls, root, info, kind, csv):
        _staff(info)
        report = services.import_csv(kind=getattr(kind, "value", kind), content=csv)
        return cls(rows=report.rows, created=report.created, updated=report.updated)


class Mutation(graphene.ObjectType):
    autoparts_vehicle_create = AutopartsVehicleCreate.Field()
    autoparts_vehicle_update = AutopartsVehicleUpdate.Field()
    autoparts_vehicle_delete = AutopartsVehicleDelete.Field()
    autoparts_fitment_add = AutopartsFitmentAdd.Field()
    autoparts_fitment_remove = AutopartsFitmentRemove.Field()
    autoparts_part_number_set = AutopartsPartNumberSet.Field()
    autoparts_part_number_delete = AutopartsPartNumberDelete.Field()
    autoparts_cross_reference_add = AutopartsCrossReferenceAdd.Field()
    autoparts_cross_reference_remove = AutopartsCrossReferenceRemove.Field()
    autoparts_import = AutopartsImport.Field()
