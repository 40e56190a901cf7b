"""A large sheet runs in a real Celery worker; the console's status moves to the end."""

import io
import time

import pytest
from django.db import connection
from openpyxl import Workbook

from core.catalog.models import Sku
from core.imports import services
from core.imports.models import ImportJob, ImportStatus
from core.testing.factories import CategoryFactory, UserFactory, valid_gtin

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("committed_db")]


def test_runs_on_the_test_database(db):
    """Requesting ``db`` once makes pytest-django create the test database even when
    only this module runs; ``committed_db`` alone does not ask for it."""
    assert connection.settings_dict["NAME"].startswith("test")


def test_import_runs_in_the_worker_with_progress(celery_worker_process, tenant):
    connection.set_tenant(tenant)
    CategoryFactory(slug="bulk")
    user = UserFactory()
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["product_code", "product_name", "category", "sku_code", "gtin"])
    for i in range(600):
        sheet.append(
            [f"P{i // 3:04d}", f"Product {i // 3}", "bulk", f"S{i:05d}", valid_gtin(5000 + i)]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    job = services.start_import(kind="products", fileobj=buffer, filename="bulk.xlsx", user=user)
    seen = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = ImportJob.objects.get(pk=job.pk)
        seen.add(job.status)
        if job.is_finished:
            break
        time.sleep(0.05)
    assert job.status == ImportStatus.SUCCEEDED, job.errors
    assert job.progress == 100 and job.total_rows == 600
    assert job.summary == {"created": 200, "updated": 0, "skus_created": 600, "skus_updated": 0}
    assert Sku.objects.count() == 600
    connection.set_schema_to_public()
