"""The printable order confirmation, for the console (session) and API users (Bearer token)."""

from django.http import HttpResponse, JsonResponse

from core.api.auth import authenticate_request
from core.exceptions import DomainError

from .documents import order_confirmation_pdf
from .selectors import orders_visible_to


def confirmation_pdf(request, number: str):
    try:
        authenticate_request(request)
    except DomainError as exc:
        return JsonResponse({"error": exc.message, "code": exc.code}, status=401)
    user = request.user if request.user.is_authenticated else None
    if user is None and request.api_key is None:
        return JsonResponse({"error": "Sign in first.", "code": "PERMISSION_DENIED"}, status=401)
    order = None
    if "\x00" not in number:  # PostgreSQL cannot compare text holding NUL
        order = (
            orders_visible_to(user, request.api_key)
            .filter(number=number)
            .select_related("dealer")
            .first()
        )
    if order is None:
        return JsonResponse({"error": "Unknown order.", "code": "NOT_FOUND"}, status=404)
    response = HttpResponse(order_confirmation_pdf(order), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{order.number}.pdf"'
    return response
