"""Users, login tokens, throttling and API keys."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import DomainError

from .models import ApiKey, ApiScope, Dealer, Role, User

TOKEN_SALT = "dinghuo.auth.token"
API_KEY_PREFIX = "dh_"


# --- users --------------------------------------------------------------------
def create_user(
    *,
    username: str,
    password: str,
    role: str,
    email: str = "",
    dealer: Dealer | None = None,
    first_name: str = "",
    last_name: str = "",
    validate: bool = True,
) -> User:
    """Create a user of the current tenant with a role (and a dealer for dealer roles)."""
    if role not in Role.values:
        raise DomainError(_("Unknown role."), field="role", code="INVALID")
    if role in (Role.DEALER_ADMIN, Role.DEALER_BUYER) and dealer is None:
        raise DomainError(_("A dealer user needs a dealer."), field="dealer", code="REQUIRED")
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError(_("This user name is already taken."), field="username", code="TAKEN")
    if email and User.objects.filter(email__iexact=email).exists():
        raise DomainError(_("This email is already in use."), field="email", code="TAKEN")
    user = User(
        username=username, email=email, role=role, dealer=dealer,
        first_name=first_name, last_name=last_name,
        is_staff=role in (Role.TENANT_ADMIN, Role.STAFF),
        is_superuser=role == Role.TENANT_ADMIN,
    )
    if validate:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise DomainError(" ".join(exc.messages), field="password", code="PASSWORD_TOO_WEAK") from exc
    user.set_password(password)
    user.save()
    return user


def create_tenant_admin(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """The first user of a new tenant: signs in with its email, may do everything."""
    return create_user(
        username=email.lower(), email=email.lower(), password=password, role=Role.TENANT_ADMIN,
        first_name=first_name, last_name=last_name,
    )


# --- tokens ------------------------------------------------------------------
@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: datetime
    user: User


def _password_fingerprint(user: User) -> str:
    # Changing the password revokes every token issued before.
    return hashlib.sha256(user.password.encode()).hexdigest()[:12]


def _token_salt() -> str:
    return f"{TOKEN_SALT}:{connection.schema_name}"


def issue_token(user: User) -> IssuedToken:
    """A signed, expiring token bound to this tenant's schema and to the user."""
    payload = {"u": user.pk, "t": connection.schema_name, "p": _password_fingerprint(user)}
    token = signing.dumps(payload, salt=_token_salt(), compress=True)
    expires = timezone.now() + timedelta(seconds=settings.AUTH_TOKEN_TTL_SECONDS)
    return IssuedToken(token=token, expires_at=expires, user=user)


class InvalidToken(DomainError):
    code = "INVALID_TOKEN"


def user_for_token(token: str) -> User:
    """The active user a token names, or :class:`InvalidToken` (expired, foreign, revoked)."""
    try:
        payload = signing.loads(token, salt=_token_salt(), max_age=settings.AUTH_TOKEN_TTL_SECONDS)
    except signing.SignatureExpired as exc:
        raise InvalidToken(_("The token has expired; sign in again."), code="TOKEN_EXPIRED") from exc
    except signing.BadSignature as exc:
        raise InvalidToken(_("The token is not valid for this tenant.")) from exc
    if payload.get("t") != connection.schema_name:
        raise InvalidToken(_("The token is not valid for this tenant."))
    user = User.objects.select_related("dealer").filter(pk=payload.get("u"), is_active=True).first()
    if user is None or payload.get("p") != _password_fingerprint(user):
        raise InvalidToken(_("The token has been revoked; sign in again."))
    return user


# --- login with throttling ------------------------------------------------------
class LoginThrottled(DomainError):
    code = "LOGIN_THROTTLED"


def _throttle_keys(username: str, client_ip: str | None) -> list[str]:
    keys = [f"login-fail:u:{hashlib.sha256(username.lower().encode()).hexdigest()[:32]}"]
    if client_ip:
        keys.append(f"login-fail:ip:{client_ip}")
    return keys


def _register_failure(keys: list[str]) -> None:
    window = settings.LOGIN_THROTTLE_WINDOW_SECONDS
    for key in keys:
        if not cache.add(key, 1, timeout=window):
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout=window)


def login(*, username: str, password: str, client_ip: str | None = None) -> IssuedToken:
    """Check credentials and issue a token. Repeated failures lock the account and
    the client address out for ``LOGIN_THROTTLE_WINDOW_SECONDS``; the counters are
    per tenant (tenant-aware cache keys)."""
    username = (username or "").strip()
    keys = _throttle_keys(username, client_ip)
    # The per-address limit is looser: an office may share one address.
    limits = [settings.LOGIN_THROTTLE_ATTEMPTS, settings.LOGIN_THROTTLE_ATTEMPTS * 4]
    counts = cache.get_many(keys)
    for key, limit in zip(keys, limits, strict=False):
        if counts.get(key, 0) >= limit:
            raise LoginThrottled(
                _("Too many failed sign-in attempts. Try again in %(minutes)d minutes.")
                % {"minutes": max(1, settings.LOGIN_THROTTLE_WINDOW_SECONDS // 60)},
                retry_after=settings.LOGIN_THROTTLE_WINDOW_SECONDS,
            )
    user = None
    if username and password:
        match = User.objects.filter(username__iexact=username).only("username").first()
        if match is None and "@" in username:
            match = User.objects.filter(email__iexact=username).only("username").first()
        if match is not None:
            user = authenticate(username=match.username, password=password)
    if user is None or not user.is_active:
        _register_failure(keys)
        raise DomainError(
            _("Wrong user name or password."), code="INVALID_CREDENTIALS", field="password"
        )
    cache.delete(keys[0])
    User.objects.filter(pk=user.pk).update(last_login=timezone.now())
    return issue_token(user)


# --- API keys ----------------------------------------------------------------------
@dataclass(frozen=True)
class CreatedApiKey:
    api_key: ApiKey
    secret: str  # shown once; only its hash is stored


def _hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def create_api_key(
    *, name: str, scopes: list[str], created_by: User | None = None, expires_at: datetime | None = None
) -> CreatedApiKey:
    unknown = sorted(set(scopes) - set(ApiScope.values))
    if unknown:
        raise DomainError(
            _("Unknown scopes: %(scopes)s") % {"scopes": ", ".join(unknown)}, field="scopes", code="INVALID"
        )
    if not name.strip():
        raise DomainError(_("Give the key a name."), field="name", code="REQUIRED")
    prefix = secrets.token_hex(4)
    secret = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name.strip(), prefix=prefix, key_hash=_hash_key(secret), scopes=sorted(set(scopes)),
        created_by=created_by, expires_at=expires_at,
    )
    return CreatedApiKey(api_key=key, secret=secret)


def api_key_for_secret(secret: str) -> ApiKey:
    """The live key for a presented secret, or :class:`InvalidToken`."""
    key = ApiKey.objects.filter(key_hash=_hash_key(secret or "")).first()
    now = timezone.now()
    if key is None or key.revoked_at is not None or (key.expires_at and key.expires_at <= now):
        raise InvalidToken(_("The API key is not valid for this tenant."), code="INVALID_API_KEY")
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def revoke_api_key(key: ApiKey) -> ApiKey:
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    return key
