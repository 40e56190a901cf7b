"""Who is calling the API: a user with a login token, an integration with an API key,
or nobody. Tokens and keys are looked up in the current tenant's schema only."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from core.accounts.services import api_key_for_secret, user_for_token


def authenticate_request(request) -> None:
    """Set ``request.user`` and ``request.api_key`` from the ``Authorization`` header.

    ``Authorization: Bearer <token>`` for users, ``Authorization: ApiKey <key>``
    (or ``X-Api-Key: <key>``) for integrations. Raises
    :class:`core.accounts.services.InvalidToken` for a bad, expired or foreign
    credential. Without a header, a session login (the tenant console) counts.
    """
    request.api_key = None
    header = request.headers.get("Authorization", "").strip()
    api_key_header = request.headers.get("X-Api-Key", "").strip()
    scheme, _, credential = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and credential:
        request.user = user_for_token(credential.strip())
    elif scheme == "apikey" and credential:
        request.api_key = api_key_for_secret(credential.strip())
        request.user = AnonymousUser()
    elif api_key_header:
        request.api_key = api_key_for_secret(api_key_header)
        request.user = AnonymousUser()
    elif header:
        from core.accounts.services import InvalidToken

        raise InvalidToken("Use 'Authorization: Bearer <token>' or 'Authorization: ApiKey <key>'.")
    elif not hasattr(request, "user"):
        request.user = AnonymousUser()
