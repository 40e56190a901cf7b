"""Refuse every request to a suspended tenant with a clear, typed answer."""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _


class TenantStatusMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tenant = getattr(request, "tenant", None)
        if tenant is not None and getattr(tenant, "is_suspended", False):
            message = _("This account is suspended. Contact the platform operator to resume it.")
            if request.path.startswith("/graphql") or "application/json" in request.headers.get("Accept", ""):
                return JsonResponse(
                    {"errors": [{"message": message, "extensions": {"code": "TENANT_SUSPENDED"}}]},
                    status=403,
                )
            return HttpResponse(message, status=403, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
