"""Users, roles, dealers and API keys of a tenant.

This app is installed in the public schema too, where its users are the
platform's operators; in a tenant schema they are the brand's staff, its sales
reps and its dealers' users.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    TENANT_ADMIN = "tenant_admin", _("Tenant admin")
    STAFF = "staff", _("Staff")
    SALES_REP = "sales_rep", _("Sales rep")
    DEALER_ADMIN = "dealer_admin", _("Dealer admin")
    DEALER_BUYER = "dealer_buyer", _("Dealer buyer")


STAFF_ROLES = frozenset({Role.TENANT_ADMIN, Role.STAFF})
DEALER_ROLES = frozenset({Role.DEALER_ADMIN, Role.DEALER_BUYER})


class DealerStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    ON_HOLD = "on_hold", _("On hold")
    CLOSED = "closed", _("Closed")


class Dealer(models.Model):
    """A distributor, wholesaler, shop, garage or pharmacy that orders from the tenant.

    Dealers form a tree (HQ → region → province → terminal, any depth).
    """

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="children",
    )
    tier = models.CharField(_("tier"), max_length=40, blank=True)
    region = models.CharField(_("region"), max_length=80, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=DealerStatus.choices, default=DealerStatus.ACTIVE
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    credit_limit = models.DecimalField(
        _("credit limit"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("dealer")
        verbose_name_plural = _("dealers")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit__gte=0), name="dealer_credit_limit_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class User(AbstractUser):
    """A person who signs in: staff, sales rep or a dealer's user."""

    email = models.EmailField(_("email address"), blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.STAFF)
    dealer = models.ForeignKey(
        Dealer, verbose_name=_("dealer"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="users",
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=~Q(role__in=["dealer_admin", "dealer_buyer"]) | Q(dealer__isnull=False),
                name="dealer_user_has_dealer",
            ),
            models.UniqueConstraint(
                fields=["email"], condition=~Q(email=""), name="user_email_unique"
            ),
        ]

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_dealer_user(self) -> bool:
        return self.role in DEALER_ROLES


class ApiScope(models.TextChoices):
    """What an integration's API key may do."""

    CATALOG_READ = "catalog:read", _("Read the catalogue")
    CATALOG_WRITE = "catalog:write", _("Write the catalogue")
    PRICES_WRITE = "prices:write", _("Write prices")
    STOCK_READ = "stock:read", _("Read stock")
    STOCK_WRITE = "stock:write", _("Write stock")
    ORDERS_READ = "orders:read", _("Read orders")
    ORDERS_WRITE = "orders:write", _("Write orders")
    DEALERS_READ = "dealers:read", _("Read dealers")
    DEALERS_WRITE = "dealers:write", _("Write dealers")


class ApiKey(models.Model):
    """A key an integration (ERP, WMS, CRM) sends as ``Authorization: ApiKey <key>``.

    Only a SHA-256 hash of the key is stored; the key is shown once, when it is
    created. Keys live in the tenant's schema, so a key is unknown to every
    other tenant.
    """

    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("prefix"), max_length=12, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    created_by = models.ForeignKey(
        User, verbose_name=_("created by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
