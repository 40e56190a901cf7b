"""Demo data for the pharma plugin (hook ``load_demo_data``): idempotent.

The demo's stock of VC-10, VC-20 and IBU-300 already exists (``core/demo.py``),
so it is split into batches without receiving it again; ibuprofen's category is
marked prescription-only; EAST-01 holds valid licences, WEST-01 an expired one,
and the Shanghai shop asks for at least 180 days of shelf life.
"""

from __future__ import annotations

import datetime

from django.db import transaction

from .models import (
    Batch,
    CategoryKind,
    ControlledCategory,
    DealerLicence,
    LicenceType,
    ShelfLifeRule,
)
from .services import ensure_default_licence_types, today

PHARMA_SKUS = ("VC-10", "VC-20", "IBU-300")


@transaction.atomic
def load_demo() -> None:
    from core.accounts.models import Dealer
    from core.catalog.models import Category, Sku
    from core.inventory.models import Stock

    ensure_default_licence_types()
    day = today()
    stocks = Stock.objects.select_related("sku", "warehouse").filter(sku__code__in=PHARMA_SKUS)
    for stock in stocks.order_by("pk"):
        if (
            Batch.objects.filter(sku=stock.sku, warehouse=stock.warehouse).exists()
            or stock.on_hand <= 0
        ):
            continue
        older = stock.on_hand * 2 // 5
        made = day - datetime.timedelta(days=300)
        plan = [
            (
                f"{stock.sku.code}-{stock.warehouse.code}-A",
                made,
                day + datetime.timedelta(days=240),
                older,
            ),
            (
                f"{stock.sku.code}-{stock.warehouse.code}-B",
                day - datetime.timedelta(days=30),
                day + datetime.timedelta(days=700),
                stock.on_hand - older,
            ),
        ]
        for lot, made_on, expires_on, qty in plan:
            if qty > 0:
                Batch.objects.create(
                    sku=stock.sku,
                    warehouse=stock.warehouse,
                    lot=lot,
                    manufactured_on=made_on,
                    expires_on=expires_on,
                    on_hand=qty,
                )

    ibuprofen = Sku.objects.select_related("product").filter(code="IBU-300").first()
    rx = LicenceType.objects.get(code="DRUG_DISTRIBUTION")
    if ibuprofen is not None:
        category = ibuprofen.product.category
        if category is None:
            category, _created = Category.objects.get_or_create(
                slug="prescription-drugs", defaults={"name": "处方药 Prescription drugs"}
            )
            ibuprofen.product.category = category
            ibuprofen.product.save(update_fields=["category"])
        ControlledCategory.objects.get_or_create(
            category=category, defaults={"kind": CategoryKind.PRESCRIPTION, "required_licence": rx}
        )
    dealers = {
        d.code: d for d in Dealer.objects.filter(code__in=["EAST-01", "WEST-01", "EAST-SH-001"])
    }
    if "EAST-01" in dealers:
        east = dealers["EAST-01"]
        DealerLicence.objects.get_or_create(
            licence_type=rx,
            number="沪AA0210001",
            defaults={
                "dealer": east,
                "valid_from": day - datetime.timedelta(days=400),
                "expires_on": day + datetime.timedelta(days=1400),
            },
        )
        DealerLicence.objects.get_or_create(
            licence_type=LicenceType.objects.get(code="GSP"),
            number="SH-GSP-2024-017",
            defaults={
                "dealer": east,
                "valid_from": day - datetime.timedelta(days=400),
                "expires_on": day + datetime.timedelta(days=900),
            },
        )
    if "WEST-01" in dealers:
        DealerLicence.objects.get_or_create(
            licence_type=rx,
            number="川AA0280042",
            defaults={
                "dealer": dealers["WEST-01"],
                "valid_from": day - datetime.timedelta(days=1900),
                "expires_on": day - datetime.timedelta(days=20),
            },
        )
    if "EAST-SH-001" in dealers:
        ShelfLifeRule.objects.get_or_create(
            dealer=dealers["EAST-SH-001"], defaults={"min_remaining_days": 180}
        )
