"""Import and export of products and dealers: xlsx and CSV, templates, row-by-row
typed errors, all-or-nothing, the job's progress and the console pages."""

import io
import json

import pytest
from openpyxl import Workbook, load_workbook

from core.accounts.models import Dealer, Role
from core.catalog.models import Product, Sku, SkuUnit
from core.imports import services
from core.imports.models import ImportJob, ImportStatus
from core.imports.registry import get_kind
from core.imports.tables import template
from core.testing.factories import (
    BrandFactory,
    CategoryFactory,
    SkuFactory,
    UserFactory,
    valid_gtin,
)

PRODUCT_HEADER = [
    "product_code",
    "product_name",
    "category",
    "brand",
    "tax_rate",
    "attributes",
    "sku_code",
    "gtin",
    "min_order_qty",
    "order_multiple",
    "units",
]


def xlsx(rows):
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return buffer


def run(kind, fileobj, filename, user, capture):
    with capture(execute=True):
        job = services.start_import(
            kind=kind, fileobj=fileobj, filename=filename, user=user, run_now=True
        )
    job.refresh_from_db()
    return job


@pytest.fixture
def staff(tenant_db):
    return UserFactory(role=Role.STAFF)


@pytest.fixture
def catalog_refs(tenant_db):
    CategoryFactory(
        slug="drinks", attribute_schema=[{"code": "volume", "type": "number", "unit": "ml"}]
    )
    BrandFactory(name="Acme")


def test_good_xlsx_creates_products_skus_and_units(
    catalog_refs, staff, django_capture_on_commit_callbacks
):
    sheet = xlsx(
        [
            PRODUCT_HEADER,
            [
                "TEA",
                "Green tea",
                "drinks",
                "Acme",
                "13%",
                "volume=500",
                "TEA-500",
                valid_gtin(1),
                24,
                24,
                f"case=24:{valid_gtin(2)}; pallet=960 (not sold)",
            ],
            ["TEA", None, None, None, None, None, "TEA-1000", valid_gtin(3), None, None, None],
            ["COLA", "Cola", "drinks", "acme", None, None, "COLA-330", None, None, None, None],
        ]
    )
    job = run("products", sheet, "products.xlsx", staff, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert job.progress == 100 and job.total_rows == 3
    assert job.summary == {"created": 2, "updated": 0, "skus_created": 3, "skus_updated": 0}
    tea = Product.objects.get(code="TEA")
    assert tea.attributes == {"volume": 500} and str(tea.tax_rate) == "0.1300"
    assert sorted(tea.skus.values_list("code", flat=True)) == ["TEA-1000", "TEA-500"]
    units = {
        u.code: (u.factor, u.gtin, u.is_sellable)
        for u in SkuUnit.objects.filter(sku__code="TEA-500")
    }
    assert units == {
        "each": (1, valid_gtin(1), True),
        "case": (24, valid_gtin(2), True),
        "pallet": (960, "", False),
    }
    # Importing the same sheet again updates, it does not duplicate.
    sheet.seek(0)
    job = run("products", sheet, "products.xlsx", staff, django_capture_on_commit_callbacks)
    assert job.summary["updated"] == 2 and job.summary["created"] == 0
    assert Sku.objects.count() == 3


def test_bad_sheet_reports_every_row_and_column_and_saves_nothing(
    catalog_refs, staff, django_capture_on_commit_callbacks
):
    SkuFactory(code="OLD-1", gtin=valid_gtin(9), product__code="OLD")
    bad_check_digit = valid_gtin(4)[:-1] + str((int(valid_gtin(4)[-1]) + 3) % 10)
    sheet = xlsx(
        [
            PRODUCT_HEADER,
            [
                "A",
                "Good row",
                "drinks",
                "Acme",
                None,
                None,
                "A-1",
                valid_gtin(5),
                None,
                None,
                None,
            ],  # row 2 ok
            [
                "B",
                "Unknown category",
                "snacks",
                "Acme",
                None,
                None,
                "B-1",
                None,
                None,
                None,
                None,
            ],  # row 3
            [
                "C",
                "Unknown brand",
                "drinks",
                "Nobody",
                None,
                None,
                "C-1",
                None,
                None,
                None,
                None,
            ],  # row 4
            [
                "D",
                "Bad barcode",
                "drinks",
                None,
                None,
                None,
                "D-1",
                bad_check_digit,
                None,
                None,
                None,
            ],  # row 5
            [
                "E",
                "Duplicate SKU",
                "drinks",
                None,
                None,
                None,
                "A-1",
                None,
                None,
                None,
                None,
            ],  # row 6
            [
                "F",
                "Taken barcode",
                "drinks",
                None,
                None,
                None,
                "F-1",
                valid_gtin(9),
                None,
                None,
                None,
            ],  # row 7
            [
                "G",
                "Bad number",
                "drinks",
                None,
                None,
                "volume=lots",
                "G-1",
                None,
                "many",
                None,
                None,
            ],  # row 8
            [
                "H",
                "Bad units",
                "drinks",
                None,
                None,
                None,
                "H-1",
                None,
                None,
                None,
                "case=twelve",
            ],  # row 9
        ]
    )
    job = run("products", sheet, "bad.xlsx", staff, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.FAILED
    found = {(e["row"], e["column"], e["code"]) for e in job.errors}
    # Cell-level problems are reported first (the sheet is not checked further until they are fixed).
    assert found == {(8, "min_order_qty", "INVALID")}
    assert (
        list(Product.objects.values_list("code", flat=True)) == ["OLD"] and Sku.objects.count() == 1
    )
    sheet = xlsx(
        [PRODUCT_HEADER]
        + [
            r
            for r in [
                [
                    "A",
                    "Good row",
                    "drinks",
                    "Acme",
                    None,
                    None,
                    "A-1",
                    valid_gtin(5),
                    None,
                    None,
                    None,
                ],
                [
                    "B",
                    "Unknown category",
                    "snacks",
                    "Acme",
                    None,
                    None,
                    "B-1",
                    None,
                    None,
                    None,
                    None,
                ],
                [
                    "C",
                    "Unknown brand",
                    "drinks",
                    "Nobody",
                    None,
                    None,
                    "C-1",
                    None,
                    None,
                    None,
                    None,
                ],
                [
                    "D",
                    "Bad barcode",
                    "drinks",
                    None,
                    None,
                    None,
                    "D-1",
                    bad_check_digit,
                    None,
                    None,
                    None,
                ],
                ["E", "Duplicate SKU", "drinks", None, None, None, "A-1", None, None, None, None],
                [
                    "F",
                    "Taken barcode",
                    "drinks",
                    None,
                    None,
                    None,
                    "F-1",
                    valid_gtin(9),
                    None,
                    None,
                    None,
                ],
                [
                    "G",
                    "Bad number",
                    "drinks",
                    None,
                    None,
                    "volume=lots",
                    "G-1",
                    None,
                    None,
                    None,
                    None,
                ],
                [
                    "A",
                    "Renamed in a later row",
                    None,
                    None,
                    None,
                    None,
                    "A-2",
                    None,
                    None,
                    None,
                    None,
                ],
            ]
        ]
    )
    job = run("products", sheet, "bad.xlsx", staff, django_capture_on_commit_callbacks)
    found = {(e["row"], e["column"], e["code"]) for e in job.errors}
    assert found == {
        (3, "category", "UNKNOWN_CATEGORY"),
        (4, "brand", "UNKNOWN_BRAND"),
        (5, "gtin", "INVALID_GTIN"),
        (6, "sku_code", "DUPLICATE"),
        (7, "gtin", "GTIN_TAKEN"),
        (8, "attributes", "INVALID"),
        (9, "product_name", "CONFLICT"),
    }, job.errors
    assert all(e["message"] for e in job.errors)
    assert (
        list(Product.objects.values_list("code", flat=True)) == ["OLD"] and Sku.objects.count() == 1
    )


def test_unit_syntax_error_names_the_row(catalog_refs, staff, django_capture_on_commit_callbacks):
    sheet = xlsx(
        [
            PRODUCT_HEADER,
            ["H", "Bad units", "drinks", None, None, None, "H-1", None, None, None, "case=twelve"],
        ]
    )
    job = run("products", sheet, "units.xlsx", staff, django_capture_on_commit_callbacks)
    assert [(e["row"], e["column"], e["code"]) for e in job.errors] == [(2, "units", "INVALID")]


def test_csv_in_gbk_with_chinese_headers(catalog_refs, staff, django_capture_on_commit_callbacks):
    from django.utils import translation

    with translation.override("zh-hans"):
        kind = get_kind("products")
        headers = [kind.column(k).header() for k in ("product_code", "product_name", "sku_code")]
    text = ",".join(headers) + "\nRICE,大米 Rice,RICE-5KG\n"
    job = run(
        "products",
        io.BytesIO(text.encode("gb18030")),
        "产品.csv",
        staff,
        django_capture_on_commit_callbacks,
    )
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert Product.objects.get(code="RICE").name == "大米 Rice"


def test_missing_and_unknown_columns(staff, django_capture_on_commit_callbacks):
    sheet = xlsx([["product_code", "colour"], ["X", "red"]])
    job = run("products", sheet, "p.xlsx", staff, django_capture_on_commit_callbacks)
    assert {(e["row"], e["column"], e["code"]) for e in job.errors} == {
        (1, "colour", "UNKNOWN_COLUMN"),
        (1, "sku_code", "MISSING_COLUMN"),
    }


def test_not_a_spreadsheet(staff):
    from core.exceptions import DomainError

    with pytest.raises(DomainError) as err:
        services.start_import(
            kind="products", fileobj=io.BytesIO(b"x"), filename="p.pdf", user=staff
        )
    assert err.value.code == "INVALID_FORMAT"


@pytest.mark.parametrize("kind", ["products", "dealers", "prices"])
@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("p.xlsx", b"a text file named .xlsx"),
        ("p.csv", b"product_code,product_name,sku_code\nA\x00B,Name,SKU-1\n"),
        ("p.csv", "product_code,product_name\nA,B\n".encode("utf-16")),
    ],
)
def test_unreadable_file_fails_the_job_with_a_typed_error(
    staff, django_capture_on_commit_callbacks, kind, filename, content
):
    """Not a workbook (no zip), or a CSV holding NUL (UTF-16, binary): the job fails
    with INVALID_FORMAT on the file instead of raising and staying unfinished."""
    job = run(kind, io.BytesIO(content), filename, staff, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.FAILED
    assert [(e["column"], e["code"]) for e in job.errors] == [("file", "INVALID_FORMAT")]
    assert not Product.objects.exists() and not Dealer.objects.exists()


def test_templates_have_the_columns(tenant_db):
    kind = get_kind("products")
    workbook = load_workbook(io.BytesIO(template(kind, "xlsx")))
    header = [c.value for c in workbook.worksheets[0][1]]
    assert header == [c.header() for c in kind.columns]
    assert len(workbook.worksheets) == 2  # the data sheet and the help sheet
    csv_text = template(get_kind("dealers"), "csv").decode("utf-8-sig")
    assert (
        csv_text.splitlines()[0].startswith("Dealer code *,Name *")
        or "*" in csv_text.splitlines()[0]
    )


DEALER_HEADER = [
    "code",
    "name",
    "parent_code",
    "tier",
    "currency",
    "credit_limit",
    "payment_terms",
    "sales_reps",
    "shipping_address",
    "contact_name",
]


def test_dealer_import_builds_the_tree_in_any_row_order(staff, django_capture_on_commit_callbacks):
    rep = UserFactory(role=Role.SALES_REP, username="rep-li")
    sheet = xlsx(
        [
            DEALER_HEADER,
            [
                "SHOP-1",
                "Shop 1",
                "EAST",
                "bronze",
                "CNY",
                20000,
                "net_30",
                None,
                "1 Dock Rd",
                "Zhang",
            ],
            ["EAST", "East", "HQ", "gold", "CNY", 200000, "net_60", "rep-li", None, None],
            ["HQ", "Head office", None, "platinum", "CNY", 0, "prepaid", None, None, None],
        ]
    )
    job = run("dealers", sheet, "dealers.xlsx", staff, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert job.summary == {"created": 3, "updated": 0}
    shop = Dealer.objects.get(code="SHOP-1")
    assert shop.depth == 2 and shop.parent.code == "EAST" and shop.payment_terms == "net_30"
    assert shop.addresses.get().line1 == "1 Dock Rd" and shop.contacts.get().name == "Zhang"
    assert list(Dealer.objects.get(code="EAST").sales_reps.all()) == [rep]


def test_bad_dealer_rows_are_each_reported(staff, django_capture_on_commit_callbacks):
    Dealer.objects.create(code="EXISTS", name="Exists")
    UserFactory(role=Role.STAFF, username="not-a-rep")
    sheet = xlsx(
        [
            DEALER_HEADER,
            ["A", "A", "NOWHERE", None, "CNY", None, None, None, None, None],  # row 2
            ["B", "B", None, None, "yuan", -5, "net_7", None, None, None],  # row 3
            ["C", "C", "D", None, None, None, None, "not-a-rep", None, None],  # row 4
            ["D", "D", "C", None, None, None, None, None, None, None],  # row 5 (C ↔ D loop)
            ["A", "A again", None, None, None, None, None, None, None, None],  # row 6
        ]
    )
    job = run("dealers", sheet, "dealers.xlsx", staff, django_capture_on_commit_callbacks)
    found = {(e["row"], e["column"], e["code"]) for e in job.errors}
    assert {
        (2, "parent_code", "UNKNOWN_PARENT"),
        (3, "currency", "INVALID"),
        (3, "credit_limit", "INVALID"),
        (3, "payment_terms", "INVALID"),
        (4, "sales_reps", "UNKNOWN_SALES_REP"),
        (6, "code", "DUPLICATE"),
    } <= found
    assert any(e["code"] == "INVALID_PARENT" and e["row"] in (4, 5) for e in job.errors)
    assert list(Dealer.objects.values_list("code", flat=True)) == ["EXISTS"]


def test_export_then_import_round_trips(catalog_refs, staff, django_capture_on_commit_callbacks):
    from core.catalog import services as catalog

    catalog.create_product(
        code="P1",
        name="One",
        category="drinks",
        brand="Acme",
        attributes={"volume": 250},
        skus=[
            {
                "code": "P1-A",
                "gtin": valid_gtin(11),
                "min_order_qty": 6,
                "order_multiple": 6,
                "units": [{"code": "case", "factor": 12, "gtin": valid_gtin(12)}],
            }
        ],
    )
    data = services.export("products", "xlsx", user=staff)
    rows = list(load_workbook(io.BytesIO(data)).worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 2 and "P1-A" in rows[1]
    job = run(
        "products", io.BytesIO(data), "export.xlsx", staff, django_capture_on_commit_callbacks
    )
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert job.summary["updated"] == 1 and job.summary["created"] == 0
    sku = Sku.objects.get(code="P1-A")
    assert (sku.min_order_qty, sku.order_multiple) == (6, 6)
    assert SkuUnit.objects.get(sku=sku, code="case").gtin == valid_gtin(12)
    csv_data = services.export("dealers", "csv", user=staff).decode("utf-8-sig")
    assert csv_data.splitlines()[0].startswith("Dealer code")


def test_dealer_export_obeys_the_scope(tenant_db):
    from core.accounts import services as accounts
    from core.testing.factories import DealerUserFactory

    hq = accounts.create_dealer(code="HQ", name="HQ")
    east = accounts.create_dealer(code="EAST", name="East", parent=hq)
    accounts.create_dealer(code="WEST", name="West", parent=hq)
    admin = DealerUserFactory(dealer=east, role=Role.DEALER_ADMIN)
    rows = list(get_kind("dealers").export_rows(user=admin))
    assert [r["code"] for r in rows] == ["EAST"]


def test_console_upload_progress_and_status(
    tenant_db, tenant_client, catalog_refs, django_capture_on_commit_callbacks
):
    admin = UserFactory(role=Role.TENANT_ADMIN, is_staff=True, is_superuser=True)
    tenant_client.force_login(admin)
    response = tenant_client.get("/admin/imports/importjob/template/products.xlsx")
    assert response.status_code == 200 and response["Content-Type"].startswith(
        "application/vnd.openxml"
    )
    sheet = xlsx(
        [PRODUCT_HEADER, ["T", "Tea", "drinks", None, None, None, "T-1", None, None, None, None]]
    )
    sheet.name = "tea.xlsx"
    with django_capture_on_commit_callbacks(execute=True):
        response = tenant_client.post(
            "/admin/imports/importjob/add/", {"kind": "products", "file": sheet}
        )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert response["Location"].endswith(f"/admin/imports/importjob/{job.pk}/change/")
    page = tenant_client.get(response["Location"])
    assert page.status_code == 200 and b"<progress" in page.content
    status = tenant_client.get(f"/admin/imports/importjob/{job.pk}/status/").json()
    # The upload only queued the job (Celery); run it as the worker would.
    services.run_import(job.pk)
    status = tenant_client.get(f"/admin/imports/importjob/{job.pk}/status/").json()
    assert status["status"] == "succeeded" and status["progress"] == 100 and status["finished"]
    assert json.dumps(status)
    response = tenant_client.get("/admin/imports/importjob/export/products.csv")
    assert b"T-1" in response.content


@pytest.mark.parametrize(
    ("kind", "rows", "error"),
    [
        (
            "products",
            [["product_code", "product_name", "sku_code", "min_order_qty"], ["P", "N", "S", 2**70]],
            (2, "min_order_qty", "INVALID_QUANTITY"),
        ),
        (
            "products",
            [
                ["product_code", "product_name", "sku_code", "units"],
                ["P", "N", "S", "case=99999999999999"],
            ],
            (2, "units", "INVALID_FACTOR"),
        ),
        (
            "dealers",
            [["code", "name", "tier"], ["D1", "Dealer", "T" * 41]],
            (2, "tier", "TOO_LONG"),
        ),
        (
            "prices",
            [["price_list", "sku_code", "unit_price", "min_quantity"], ["BASE", "SKU0", 1, 10**20]],
            (2, "min_quantity", "INVALID_QUANTITY"),
        ),
    ],
)
def test_numbers_and_text_beyond_the_columns_are_row_errors(
    staff, django_capture_on_commit_callbacks, kind, rows, error
):
    """They passed the checks and failed in PostgreSQL, raising out of run_import."""
    from core.testing.factories import PriceListItemFactory

    PriceListItemFactory(sku=SkuFactory(code="SKU0"), price_list__code="BASE")
    job = run(kind, xlsx(rows), "sheet.xlsx", staff, django_capture_on_commit_callbacks)
    assert job.status == ImportStatus.FAILED
    assert [(e["row"], e["column"], e["code"]) for e in job.errors] == [error]
    assert not Product.objects.exclude(skus__code="SKU0").exists() and not Dealer.objects.exists()


def test_a_refused_required_cell_is_reported_once(staff, django_capture_on_commit_callbacks):
    """A 300-character dealer name was reported TOO_LONG and then REQUIRED as well."""
    rows = [["code", "name"], ["D1", "n" * 300]]
    job = run("dealers", xlsx(rows), "dealers.xlsx", staff, django_capture_on_commit_callbacks)
    assert [(e["row"], e["column"], e["code"]) for e in job.errors] == [(2, "name", "TOO_LONG")]
