"""Price sheets: import (all or nothing, errors per row and column) and export."""

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from core.accounts.models import Role
from core.imports import services
from core.imports.models import ImportStatus
from core.pricing.models import PriceListItem
from core.testing.factories import PriceListFactory, SkuFactory, SkuUnitFactory, UserFactory


def xlsx(rows):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def run(fileobj, filename, user, capture):
    with capture(execute=True):
        job = services.start_import(
            kind="prices", fileobj=fileobj, filename=filename, user=user, run_now=True
        )
    job.refresh_from_db()
    return job


@pytest.fixture
def setup(tenant_db):
    base = PriceListFactory(code="BASE")
    gold = PriceListFactory(code="GOLD", kind="tier", tier="gold")
    sku = SkuFactory(code="VC-10")
    SkuUnitFactory(sku=sku, code="case", factor=12)
    return {"base": base, "gold": gold, "sku": sku, "staff": UserFactory(role=Role.STAFF)}


HEADER = ["price_list", "sku_code", "unit_code", "min_quantity", "unit_price", "currency"]


def test_good_sheet_replaces_ladders(setup, django_capture_on_commit_callbacks):
    sheet = xlsx(
        [
            HEADER,
            ["BASE", "VC-10", None, 1, "12.50", "CNY"],
            ["BASE", "VC-10", None, 10, "11.00", None],
            ["BASE", "VC-10", "case", 1, "130.00", None],
            ["GOLD", "VC-10", None, 1, "11.90", None],
        ]
    )
    job = run(sheet, "prices.xlsx", setup["staff"], django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    ladder = list(
        PriceListItem.objects.filter(price_list=setup["base"], unit_code=setup["sku"].base_unit)
        .order_by("min_quantity")
        .values_list("min_quantity", "unit_price")
    )
    assert ladder == [(1, Decimal("12.5000")), (10, Decimal("11.0000"))]
    assert PriceListItem.objects.count() == 4


def test_bad_rows_are_named_and_nothing_is_saved(setup, django_capture_on_commit_callbacks):
    sheet = xlsx(
        [
            HEADER,
            ["BASE", "VC-10", None, 1, "12.50", None],
            ["BASE", "NOPE", None, 1, "3", None],
            ["BASE", "VC-10", None, 1, "-1", None],
            ["MISSING", "VC-10", None, 1, "3", None],
            ["GOLD", "VC-10", "pallet", 1, "3", None],
            ["GOLD", "VC-10", None, 1, "3", "USD"],
        ]
    )
    job = run(sheet, "prices.xlsx", setup["staff"], django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.FAILED
    found = {(e["row"], e["column"], e["code"]) for e in job.errors}
    assert (3, "sku_code", "UNKNOWN_SKU") in found
    assert (5, "price_list", "UNKNOWN_PRICE_LIST") in found
    assert {e["row"] for e in job.errors} >= {3, 4, 5, 6, 7}
    assert not PriceListItem.objects.exists()


def test_export_round_trips(setup, django_capture_on_commit_callbacks):
    PriceListItem.objects.create(
        price_list=setup["base"],
        sku=setup["sku"],
        unit_code="case",
        min_quantity=1,
        unit_price=Decimal("130"),
    )
    data = services.export("prices", "xlsx", user=setup["staff"])
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows[1][:3] == ("BASE", "VC-10", "case")
    PriceListItem.objects.all().delete()
    job = run(io.BytesIO(data), "export.xlsx", setup["staff"], django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert PriceListItem.objects.get().unit_price == Decimal("130.0000")
