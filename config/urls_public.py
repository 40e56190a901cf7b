"""URLs on the public host (``localhost``): the signup portal, platform admin, health."""

from django.contrib import admin
from django.urls import path

from config.views import health, home, live

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("health/live/", live, name="live"),
]
