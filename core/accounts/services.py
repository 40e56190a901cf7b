"""Users, login tokens, throttling and API keys."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exceptions import DomainError, PermissionDenied, ValidationFailed, check_lengths
from core.sql import execute_prepared

from . import roles
from .models import (
    DEALER_ROLES,
    AddressKind,
    ApiKey,
    ApiScope,
    Dealer,
    DealerAddress,
    DealerContact,
    DealerStatus,
    PaymentTerms,
    Role,
    User,
)

TOKEN_SALT = "dinghuo.auth.token"
API_KEY_PREFIX = "dh_"


# --- users --------------------------------------------------------------------
def role_dealer(role: str, dealer: Dealer | None) -> Dealer | None:
    """The dealer a user of ``role`` belongs to: a dealer role needs one, other
    roles belong to none (a dealer given with them is dropped). Every way of
    giving a user a role (the API, the console's user form) goes through here."""
    if role not in Role.values:
        raise DomainError(_("Unknown role."), field="role", code="INVALID")
    if role not in DEALER_ROLES:
        return None
    if dealer is None:
        raise DomainError(_("A dealer user needs a dealer."), field="dealer", code="REQUIRED")
    return dealer


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
    """Create a user of the current tenant with a role (and a dealer for dealer roles).

    The user name is stripped (sign-in strips what is typed); an empty one is ``REQUIRED``."""
    dealer = role_dealer(role, dealer)
    username = (username or "").strip()
    if not username:
        raise DomainError(_("Enter a user name."), field="username", code="REQUIRED")
    check_lengths(User, username=username, email=email, first_name=first_name, last_name=last_name)
    if User.objects.filter(username__iexact=username).exists():
        raise DomainError(_("This user name is already taken."), field="username", code="TAKEN")
    if email and User.objects.filter(email__iexact=email).exists():
        raise DomainError(_("This email is already in use."), field="email", code="TAKEN")
    user = User(
        username=username,
        email=email,
        role=role,
        dealer=dealer,
        first_name=first_name,
        last_name=last_name,
    )
    roles.apply_role_flags(user)
    if validate:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise DomainError(
                " ".join(exc.messages), field="password", code="PASSWORD_TOO_WEAK"
            ) from exc
    user.set_password(password)
    with transaction.atomic():
        user.save()
        roles.assign_role_group(user, created=True)
    return user


def set_role(user: User, *, role: str, dealer: Dealer | None = None) -> User:
    """Give ``user`` another role: its console flags and its role group follow
    (the group decides which console pages it may open; selectors still decide
    which rows it sees there). A dealer role needs a dealer; other roles drop it."""
    dealer = role_dealer(role, dealer or user.dealer)
    user.role, user.dealer = role, dealer
    roles.apply_role_flags(user)
    with transaction.atomic():
        user.save(update_fields=["role", "dealer", "is_staff", "is_superuser"])
        roles.assign_role_group(user)
    return user


def create_tenant_admin(
    *, email: str, password: str, first_name: str = "", last_name: str = ""
) -> User:
    """The first user of a new tenant: signs in with its email, may do everything."""
    return create_user(
        username=email.lower(),
        email=email.lower(),
        password=password,
        role=Role.TENANT_ADMIN,
        first_name=first_name,
        last_name=last_name,
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


@dataclass(frozen=True)
class _CompiledLookup:
    sql: str
    user_columns: tuple[int, int, list[str]]  # start, end, attnames
    dealer_columns: tuple[int, int, list[str]]
    dealer_pk: int  # the position of the dealer's id
    converters: list[tuple[int, list, Any]]  # (position, converters, expression)


_COMPILED_LOOKUPS: dict[str, _CompiledLookup] = {}


def _compiled_user_lookup() -> _CompiledLookup:
    """``User.objects.select_related("dealer").filter(pk=…, is_active=True)[:1]``
    compiled once per process and database alias: the statement is the same in every
    tenant (the schema comes from the connection's ``search_path``), and compiling
    it cost the token check more than running it."""
    lookup = _COMPILED_LOOKUPS.get(connection.alias)
    if lookup is not None:
        return lookup
    marker = -7_000_000_001  # never a user id; stands for the parameter
    query = User.objects.select_related("dealer").filter(pk=marker, is_active=True)[:1].query
    compiler = query.get_compiler(connection.alias)
    sql, params = compiler.as_sql()
    if list(params) != [marker]:  # pragma: no cover - Django changed how it compiles this
        raise RuntimeError(f"unexpected parameters for the user look-up: {params!r}")
    info = compiler.klass_info
    (dealer_info,) = info["related_klass_infos"]

    def columns(klass_info) -> tuple[int, int, list[str]]:
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        return start, end, [column[0].target.attname for column in compiler.select[start:end]]

    dealer_columns = columns(dealer_info)
    attnames = dealer_columns[2]
    converters = compiler.get_converters([column[0] for column in compiler.select])
    lookup = _CompiledLookup(
        sql=sql,
        user_columns=columns(info),
        dealer_columns=dealer_columns,
        dealer_pk=dealer_columns[0] + attnames.index(Dealer._meta.pk.attname),
        converters=[(pos, funcs, expr) for pos, (funcs, expr) in converters.items()],
    )
    _COMPILED_LOOKUPS[connection.alias] = lookup
    return lookup


def _active_user_with_dealer(pk: int) -> User | None:
    """The active user ``pk`` with its dealer read alongside, as
    ``select_related("dealer")`` builds them, in one statement compiled once and run
    prepared (parsed once per connection; PostgreSQL parses it again in another
    tenant's ``search_path``)."""
    lookup = _compiled_user_lookup()
    rows = execute_prepared(connection, lookup.sql, [pk])
    if not rows:
        return None
    row = list(rows[0])
    for position, funcs, expression in lookup.converters:
        value = row[position]
        for convert in funcs:
            value = convert(value, expression, connection)
        row[position] = value
    start, end, attnames = lookup.user_columns
    user = User.from_db(connection.alias, attnames, row[start:end])
    dealer = None
    if row[lookup.dealer_pk] is not None:
        start, end, attnames = lookup.dealer_columns
        dealer = Dealer.from_db(connection.alias, attnames, row[start:end])
    User.dealer.field.set_cached_value(user, dealer)
    return user


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
        raise InvalidToken(
            _("The token has expired; sign in again."), code="TOKEN_EXPIRED"
        ) from exc
    except signing.BadSignature as exc:
        raise InvalidToken(_("The token is not valid for this tenant.")) from exc
    if payload.get("t") != connection.schema_name:
        raise InvalidToken(_("The token is not valid for this tenant."))
    pk = payload.get("u")
    user = _active_user_with_dealer(pk) if isinstance(pk, int) else None
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
    *,
    name: str,
    scopes: list[str],
    created_by: User | None = None,
    expires_at: datetime | None = None,
) -> CreatedApiKey:
    unknown = sorted(set(scopes) - set(ApiScope.values))
    if unknown:
        raise DomainError(
            _("Unknown scopes: %(scopes)s") % {"scopes": ", ".join(unknown)},
            field="scopes",
            code="INVALID",
        )
    if not name.strip():
        raise DomainError(_("Give the key a name."), field="name", code="REQUIRED")
    prefix = secrets.token_hex(4)
    secret = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        name=name.strip(),
        prefix=prefix,
        key_hash=_hash_key(secret),
        scopes=sorted(set(scopes)),
        created_by=created_by,
        expires_at=expires_at,
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


# --- dealers -------------------------------------------------------------------------
def enforce_plan_limit(resource: str, *, adding: int = 1) -> None:
    """The tenant plan's limit for ``resource`` (tenants.limits), checked once per batch."""
    try:
        from tenants.limits import enforce_plan_limit as enforce
    except ImportError:  # pragma: no cover - the limits module ships with the platform
        return
    enforce(resource, adding=adding)


_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$")
DEALER_FIELDS = (
    "code",
    "name",
    "tier",
    "region",
    "status",
    "currency",
    "credit_limit",
    "payment_terms",
    "tax_id",
    "email",
    "phone",
)


def _clean_dealer_fields(
    data: Mapping[str, Any], *, instance: Dealer | None = None
) -> dict[str, Any]:
    """Validated, normalised dealer fields; raises ValidationFailed naming each bad field."""
    errors: list[DomainError] = []
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in DEALER_FIELDS:
            continue
        if isinstance(value, str):
            value = value.strip()
        if key == "code":
            if not value:
                errors.append(
                    DomainError(_("A dealer needs a code."), field="code", code="REQUIRED")
                )
                continue
            if len(value) > 40 or not _CODE_RE.match(value):
                errors.append(
                    DomainError(
                        _("Use up to 40 letters, digits, '.', '-', '_' or '/' for the code."),
                        field="code",
                        code="INVALID",
                    )
                )
                continue
            taken = Dealer.objects.filter(code__iexact=value)
            if instance is not None:
                taken = taken.exclude(pk=instance.pk)
            if taken.exists():
                errors.append(
                    DomainError(
                        _("Dealer code %(code)s is already in use.") % {"code": value},
                        field="code",
                        code="TAKEN",
                    )
                )
                continue
        elif key == "name" and not value:
            errors.append(DomainError(_("A dealer needs a name."), field="name", code="REQUIRED"))
            continue
        elif key == "status" and value not in DealerStatus.values:
            errors.append(DomainError(_("Unknown dealer status."), field="status", code="INVALID"))
            continue
        elif key == "payment_terms" and value not in PaymentTerms.values:
            errors.append(
                DomainError(
                    _("Unknown payment terms; use one of: %(terms)s")
                    % {"terms": ", ".join(PaymentTerms.values)},
                    field="payment_terms",
                    code="INVALID",
                )
            )
            continue
        elif key == "currency":
            value = (value or "").upper()
            if len(value) != 3 or not value.isalpha():
                errors.append(
                    DomainError(
                        _("Use a three-letter ISO 4217 currency code."),
                        field="currency",
                        code="INVALID",
                    )
                )
                continue
        elif key == "credit_limit":
            if isinstance(value, float):
                value = str(value)
            try:
                value = Decimal(str(value)) if value not in (None, "") else Decimal("0")
            except InvalidOperation:
                value = None
            if value is None or not value.is_finite() or value < 0 or value >= Decimal("1e12"):
                errors.append(
                    DomainError(
                        _("The credit limit must be an amount of zero or more."),
                        field="credit_limit",
                        code="INVALID",
                    )
                )
                continue
            if value != value.quantize(Decimal("0.01")):
                # the column keeps cents: 0.001 would be saved as 0.00, a limit nobody set
                errors.append(
                    DomainError(
                        _("The credit limit has at most two decimal places."),
                        field="credit_limit",
                        code="INVALID",
                    )
                )
                continue
            value = value.quantize(Decimal("0.01"))
        elif key == "email" and value:
            from django.core.validators import validate_email

            try:
                validate_email(value)
            except ValidationError:
                errors.append(
                    DomainError(_("Enter a valid email address."), field="email", code="INVALID")
                )
                continue
        elif value is None:
            value = ""
        limit = getattr(Dealer._meta.get_field(key), "max_length", None)
        if isinstance(value, str) and limit and len(value) > limit:
            errors.append(
                DomainError(
                    _("At most %(n)d characters.") % {"n": limit}, field=key, code="TOO_LONG"
                )
            )
            continue
        out[key] = value
    if errors:
        raise ValidationFailed(errors)
    return out


def _check_parent(dealer: Dealer | None, parent: Dealer | None) -> None:
    if parent is None or dealer is None or dealer.pk is None:
        return
    if parent.pk == dealer.pk or parent.is_in_subtree_of(dealer):
        raise DomainError(
            _("A dealer cannot be placed under itself or one of the dealers below it."),
            field="parent",
            code="INVALID_PARENT",
        )


def _sales_reps(reps: Iterable[User]) -> list[User]:
    reps = list(reps)
    wrong = [u.username for u in reps if u.role != Role.SALES_REP]
    if wrong:
        raise DomainError(
            _("Only sales reps can cover dealers: %(users)s") % {"users": ", ".join(wrong)},
            field="sales_reps",
            code="INVALID",
        )
    return reps


def _replace_addresses(dealer: Dealer, addresses: Iterable[Mapping[str, Any]]) -> None:
    errors: list[DomainError] = []
    rows: list[DealerAddress] = []
    defaults: set[str] = set()
    for i, raw in enumerate(addresses):
        kind = raw.get("kind") or AddressKind.SHIPPING
        if kind not in AddressKind.values:
            errors.append(
                DomainError(_("Unknown address kind."), field=f"addresses.{i}.kind", code="INVALID")
            )
            continue
        if not (raw.get("line1") or "").strip():
            errors.append(
                DomainError(
                    _("An address needs a first line."),
                    field=f"addresses.{i}.line1",
                    code="REQUIRED",
                )
            )
            continue
        text = {
            f: (raw.get(f) or "").strip()
            for f in (
                "label",
                "recipient",
                "phone",
                "line1",
                "line2",
                "city",
                "province",
                "postal_code",
            )
        }
        try:
            check_lengths(DealerAddress, report_as={f: f"addresses.{i}.{f}" for f in text}, **text)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        country = (raw.get("country") or "CN").strip().upper()
        if not (len(country) == 2 and country.isascii() and country.isalpha()):
            # ISO 3166 alpha-2: "CHN" is not cut to "CH" (Switzerland)
            errors.append(
                DomainError(
                    _("Enter a two-letter country code, e.g. CN."),
                    field=f"addresses.{i}.country",
                    code="INVALID",
                )
            )
            continue
        is_default = bool(raw.get("is_default")) and kind not in defaults
        if is_default:
            defaults.add(kind)
        rows.append(
            DealerAddress(
                dealer=dealer,
                kind=kind,
                is_default=is_default,
                **text,
                country=country,
            )
        )
    if errors:
        raise ValidationFailed(errors)
    for kind in AddressKind.values:  # the first address of a kind is its default
        if kind not in defaults:
            first = next((r for r in rows if r.kind == kind), None)
            if first is not None:
                first.is_default = True
    dealer.addresses.all().delete()
    DealerAddress.objects.bulk_create(rows)


def _replace_contacts(dealer: Dealer, contacts: Iterable[Mapping[str, Any]]) -> None:
    from django.core.validators import validate_email

    errors: list[DomainError] = []
    rows: list[DealerContact] = []
    for i, raw in enumerate(contacts):
        name = (raw.get("name") or "").strip()
        email = (raw.get("email") or "").strip()
        if not name:
            errors.append(
                DomainError(
                    _("A contact needs a name."), field=f"contacts.{i}.name", code="REQUIRED"
                )
            )
            continue
        if email:
            try:
                validate_email(email)
            except ValidationError:
                errors.append(
                    DomainError(
                        _("Enter a valid email address."),
                        field=f"contacts.{i}.email",
                        code="INVALID",
                    )
                )
                continue
        text = {
            "name": name,
            "email": email,
            "title": (raw.get("title") or "").strip(),
            "phone": (raw.get("phone") or "").strip(),
        }
        try:
            check_lengths(DealerContact, report_as={f: f"contacts.{i}.{f}" for f in text}, **text)
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        rows.append(DealerContact(dealer=dealer, **text, is_primary=bool(raw.get("is_primary"))))
    if errors:
        raise ValidationFailed(errors)
    dealer.contacts.all().delete()
    DealerContact.objects.bulk_create(rows)


@transaction.atomic
def create_dealer(
    *,
    code: str,
    name: str,
    parent: Dealer | None = None,
    tier: str = "",
    region: str = "",
    status: str = DealerStatus.ACTIVE,
    currency: str = "CNY",
    credit_limit: Decimal | str | int = Decimal("0"),
    payment_terms: str = PaymentTerms.PREPAID,
    tax_id: str = "",
    email: str = "",
    phone: str = "",
    sales_reps: Iterable[User] = (),
    addresses: Iterable[Mapping[str, Any]] | None = None,
    contacts: Iterable[Mapping[str, Any]] | None = None,
    check_plan_limit: bool = True,
) -> Dealer:
    """Create a dealer (under ``parent`` when given) with its addresses, contacts and reps."""
    fields = _clean_dealer_fields(
        {
            "code": code,
            "name": name,
            "tier": tier,
            "region": region,
            "status": status,
            "currency": currency,
            "credit_limit": credit_limit,
            "payment_terms": payment_terms,
            "tax_id": tax_id,
            "email": email,
            "phone": phone,
        }
    )
    reps = _sales_reps(sales_reps)
    if check_plan_limit and fields["status"] != DealerStatus.CLOSED:
        enforce_plan_limit("dealers")
    dealer = Dealer(parent=parent, **fields)
    dealer.save()
    if reps:
        dealer.sales_reps.set(reps)
    if addresses is not None:
        _replace_addresses(dealer, addresses)
    if contacts is not None:
        _replace_contacts(dealer, contacts)
    return dealer


_UNSET: Any = object()


@transaction.atomic
def update_dealer(
    dealer: Dealer,
    *,
    parent: Dealer | None = _UNSET,
    sales_reps: Iterable[User] | None = None,
    addresses: Iterable[Mapping[str, Any]] | None = None,
    contacts: Iterable[Mapping[str, Any]] | None = None,
    **fields: Any,
) -> Dealer:
    """Change a dealer's fields; ``parent`` moves it with its whole subtree.

    Lists given (sales reps, addresses, contacts) replace the old ones.
    """
    unknown = set(fields) - set(DEALER_FIELDS)
    if unknown:
        raise DomainError(
            _("Unknown dealer fields: %(f)s") % {"f": ", ".join(sorted(unknown))}, code="INVALID"
        )
    cleaned = _clean_dealer_fields(fields, instance=dealer)
    if parent is not _UNSET:
        _check_parent(dealer, parent)
        dealer.parent = parent
    reopening = (
        cleaned.get("status") not in (None, DealerStatus.CLOSED)
        and dealer.status == DealerStatus.CLOSED
    )
    if reopening:
        enforce_plan_limit("dealers")
    for key, value in cleaned.items():
        setattr(dealer, key, value)
    dealer.save()
    if sales_reps is not None:
        dealer.sales_reps.set(_sales_reps(sales_reps))
    if addresses is not None:
        _replace_addresses(dealer, addresses)
    if contacts is not None:
        _replace_contacts(dealer, contacts)
    return dealer


def move_dealer(dealer: Dealer, *, parent: Dealer | None) -> Dealer:
    """Put ``dealer`` (with everything below it) under ``parent`` (``None``: a root)."""
    return update_dealer(dealer, parent=parent)


@transaction.atomic
def create_dealer_user(
    *,
    dealer: Dealer,
    username: str,
    password: str,
    role: str = Role.DEALER_BUYER,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    actor: User | None = None,
) -> User:
    """A user of ``dealer`` (buyer or dealer admin). With ``actor`` given, the actor
    must be allowed to act for the dealer (staff, or a dealer admin above it)."""
    from .selectors import can_act_for_dealer

    if role not in DEALER_ROLES:
        raise DomainError(
            _("A dealer user is a dealer admin or a buyer."), field="role", code="INVALID"
        )
    if actor is not None:
        if actor.role not in (
            Role.TENANT_ADMIN,
            Role.STAFF,
            Role.DEALER_ADMIN,
        ) or not can_act_for_dealer(actor, dealer):
            raise PermissionDenied(_("You may not add users to this dealer."), field="dealer")
    if dealer.status == DealerStatus.CLOSED:
        raise DomainError(_("The dealer is closed."), field="dealer", code="DEALER_CLOSED")
    return create_user(
        username=username,
        password=password,
        role=role,
        email=email,
        dealer=dealer,
        first_name=first_name,
        last_name=last_name,
    )
