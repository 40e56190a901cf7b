"""Plugins' console and dealer-app pages, and the install-time hooks: mounted per
plugin, 404 for a tenant without the plugin."""

import sys
import types

import pytest
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import include, path, reverse

from core.testing.pytest_plugin import host_of
from plugins import hookimpl
from plugins.urls import plugin_admin_urls, plugin_dealer_urls
from tenants.models import Tenant

served: list[str] = []


def recall_page(request, batch):
    served.append(f"recall:{batch}")
    return HttpResponse(f"recall {batch} for {request.tenant.schema_name}")


def licence_page(request):
    served.append("licence")
    return HttpResponse("your licences")


class PharmaPages:
    @hookimpl
    def admin_urls(self):
        return [path("recall/<str:batch>/", recall_page, name="recall")]

    @hookimpl
    def dealer_urls(self):
        return [path("licences/", include([path("", licence_page, name="licences")]))]


@pytest.fixture
def urlconf(manager, db, tenant, other_tenant):
    manager.register(PharmaPages(), "pharma_pages")
    module = types.ModuleType("plugin_test_urls")
    module.urlpatterns = [
        path("console/plugins/", include(plugin_admin_urls(manager))),
        path("app/plugins/", include(plugin_dealer_urls(manager))),
    ]
    sys.modules[module.__name__] = module
    Tenant.objects.filter(pk=tenant.pk).update(modules=["pharma_pages"])
    Tenant.objects.filter(pk=other_tenant.pk).update(modules=[])
    served.clear()
    with override_settings(ROOT_URLCONF=module.__name__):
        yield
    del sys.modules[module.__name__]


def test_hook_admin_urls(urlconf, tenant, other_tenant):
    url = reverse("plugin-admin-pharma_pages:recall", args=["B-1"])
    assert url == "/console/plugins/pharma_pages/recall/B-1/"
    response = Client(HTTP_HOST=host_of(tenant)).get(url)
    assert response.status_code == 200 and response.content == b"recall B-1 for alpha"
    assert Client(HTTP_HOST=host_of(other_tenant)).get(url).status_code == 404
    assert served == ["recall:B-1"]


def test_hook_dealer_urls(urlconf, tenant, other_tenant):
    url = reverse("plugin-dealer-pharma_pages:licences")
    assert url == "/app/plugins/pharma_pages/licences/"
    assert Client(HTTP_HOST=host_of(other_tenant)).get(url).status_code == 404
    assert served == []  # nested include()s are gated too
    assert Client(HTTP_HOST=host_of(tenant)).get(url).content == b"your licences"


def test_hook_django_apps(manager):
    class WithApps:
        @hookimpl
        def django_apps(self):
            return ["dinghuo_pharma", "dinghuo_pharma_reports"]

    class WithoutModels:
        @hookimpl
        def django_apps(self):
            return None

    manager.register(WithApps(), "pharma_apps")
    manager.register(WithoutModels(), "food_apps")
    assert manager.django_apps() == ["dinghuo_pharma", "dinghuo_pharma_reports"]


def test_hook_django_apps__settings_install_them_in_tenant_schemas(settings):
    # config.settings appends every installed plugin's apps to TENANT_APPS, not SHARED_APPS.
    from plugins.manager import get_manager

    apps = get_manager().django_apps()
    assert all(app in settings.TENANT_APPS and app not in settings.SHARED_APPS for app in apps)
    assert "plugins" in settings.SHARED_APPS  # the per-tenant settings table is public


def test_hook_order_error_codes(manager):
    class Codes:
        @hookimpl
        def order_error_codes(self):
            return ["EXPIRED_BATCH", "LICENCE_REQUIRED"]

    class Lower:
        @hookimpl
        def order_error_codes(self):
            return ["expired"]

    manager.register(Codes(), "pharma_codes")
    assert manager.order_error_codes() == ["EXPIRED_BATCH", "LICENCE_REQUIRED"]
    manager.register(Lower(), "sloppy_codes")
    with pytest.raises(Exception, match="UPPER_SNAKE_CASE"):
        manager.order_error_codes()


def test_hook_stock_error_codes(manager):
    class Stock:
        @hookimpl
        def stock_error_codes(self):
            return ["BATCH_REQUIRED"]

        @hookimpl
        def order_error_codes(self):
            return ["EXPIRED_BATCH"]

    class Lower:
        @hookimpl
        def stock_error_codes(self):
            return ["batch"]

    manager.register(Stock(), "batches")
    # Each enum gets the codes declared for it, not the other's.
    assert manager.stock_error_codes() == ["BATCH_REQUIRED"]
    assert manager.order_error_codes() == ["EXPIRED_BATCH"]
    manager.register(Lower(), "sloppy_codes")
    with pytest.raises(Exception, match="UPPER_SNAKE_CASE"):
        manager.stock_error_codes()
