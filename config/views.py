from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext as _


def health(request):
    """Liveness and database check for load balancers: 200 when the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "schema": connection.schema_name})


def home(request):
    return HttpResponse(_("Dinghuo B2B ordering platform"), content_type="text/plain; charset=utf-8")
