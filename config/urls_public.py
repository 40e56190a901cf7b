"""URLs on the public host (``localhost``): the signup portal, platform admin, health."""

from django.urls import include, path

from config.views import health, live
from tenants.admin import platform_site
from tenants.portal.urls import public_urlpatterns

urlpatterns = [
    *public_urlpatterns,
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", platform_site.urls),
    path("health/", health, name="health"),
    path("health/live/", live, name="live"),
]
