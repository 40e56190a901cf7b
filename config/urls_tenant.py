"""URLs on a tenant's host (``acme.localhost``): the API, the tenant console, health."""

from django.contrib import admin
from django.urls import path

from config.views import health, live
from core.api.view import DinghuoGraphQLView

urlpatterns = [
    path("graphql/", DinghuoGraphQLView.as_view(), name="graphql"),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("health/live/", live, name="live"),
]
