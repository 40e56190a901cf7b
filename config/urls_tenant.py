"""URLs on a tenant's host (``acme.localhost``): the API, the tenant console, health."""

from django.contrib import admin
from django.urls import include, path

from config.views import health, live
from core.api.view import DinghuoGraphQLView
from core.orders.views import confirmation_pdf
from plugins.urls import plugin_admin_urls, plugin_dealer_urls
from tenants.portal.urls import tenant_urlpatterns

urlpatterns = [
    path("graphql/", DinghuoGraphQLView.as_view(), name="graphql"),
    path("admin/", admin.site.urls),
    path("orders/<str:number>/confirmation.pdf", confirmation_pdf, name="order-confirmation-pdf"),
    *tenant_urlpatterns,
    path("i18n/", include("django.conf.urls.i18n")),
    # Installed plugins' pages; answer 404 for tenants that have not enabled the plugin.
    path("console/plugins/", include(plugin_admin_urls())),
    path("app/plugins/", include(plugin_dealer_urls())),
    path("health/", health, name="health"),
    path("health/live/", live, name="live"),
]
