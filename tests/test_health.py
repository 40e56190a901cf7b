"""Health endpoints used by load balancers, orchestrators and the deploy healthchecks."""

from django.conf import settings
from django.test import Client


def test_liveness_answers_on_tenant_and_platform_hosts(db, tenant, tenant_client):
    response = tenant_client.get("/health/live/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}

    platform = Client(HTTP_HOST=settings.BASE_DOMAIN)
    response = platform.get("/health/live/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def _statements(client, path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    # The backend's own search_path switches are bookkeeping, not work.
    return [
        q["sql"] for q in captured.captured_queries if not q["sql"].startswith("SET search_path")
    ]


def test_liveness_runs_no_query_beyond_host_routing(db, tenant, tenant_client):
    statements = _statements(tenant_client, "/health/live/")
    # Only the tenant middleware resolving the host name; the view adds nothing.
    assert len(statements) == 1 and '"tenants_domain"' in statements[0]


def test_health_checks_the_database_in_the_tenant_schema(db, tenant, tenant_client):
    statements = _statements(tenant_client, "/health/")
    assert len(statements) == 2 and statements[1] == "SELECT 1"
    assert tenant_client.get("/health/").json() == {"status": "ok", "schema": tenant.schema_name}

    response = Client(HTTP_HOST=settings.BASE_DOMAIN).get("/health/")
    assert response.json() == {"status": "ok", "schema": "public"}


def test_liveness_on_an_unknown_host_is_a_404(db, tenant):
    response = Client(HTTP_HOST=f"nobody.{settings.BASE_DOMAIN}").get("/health/live/")
    assert response.status_code == 404
