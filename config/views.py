from django.db import connection
from django.http import JsonResponse


def health(request):
    """Liveness and database check for load balancers: 200 when the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok", "schema": connection.schema_name})


def live(request):
    """Liveness for load balancers and orchestrators: 200 while the process serves
    requests. The view itself runs no query (``health`` checks the database); the
    only query is the tenant middleware's lookup of the host name."""
    return JsonResponse({"status": "ok"})
