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


class PaymentTerms(models.TextChoices):
    PREPAID = "prepaid", _("Prepaid")
    COD = "cod", _("Cash on delivery")
    NET_15 = "net_15", _("Net 15 days")
    NET_30 = "net_30", _("Net 30 days")
    NET_45 = "net_45", _("Net 45 days")
    NET_60 = "net_60", _("Net 60 days")
    NET_90 = "net_90", _("Net 90 days")

    @classmethod
    def days(cls, value: str) -> int:
        """Days until an invoice under these terms is due (0 for prepaid and COD)."""
        return int(value.split("_")[1]) if value.startswith("net_") else 0


class Dealer(models.Model):
    """A distributor, wholesaler, shop, garage or pharmacy that orders from the tenant.

    Dealers form a tree (HQ → region → province → terminal, any depth). ``path``
    is a materialised path of ids, root first (``/1/5/9/``), kept up to date by
    :meth:`save` (also when a dealer moves, for its whole subtree), so a subtree
    is one indexed ``path LIKE '/1/5/%'``.
    """

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("tree path"), max_length=255, blank=True, default="", editable=False)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0, editable=False)
    tier = models.CharField(_("tier"), max_length=40, blank=True)
    region = models.CharField(_("region"), max_length=80, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=DealerStatus.choices, default=DealerStatus.ACTIVE
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    credit_limit = models.DecimalField(
        _("credit limit"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    payment_terms = models.CharField(
        _("payment terms"),
        max_length=16,
        choices=PaymentTerms.choices,
        default=PaymentTerms.PREPAID,
    )
    tax_id = models.CharField(_("tax id"), max_length=40, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    sales_reps = models.ManyToManyField(
        "accounts.User",
        verbose_name=_("sales reps"),
        blank=True,
        related_name="covered_dealers",
        limit_choices_to={"role": "sales_rep"},
        help_text=_("Sales reps who cover this dealer (and the dealers under it)."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("dealer")
        verbose_name_plural = _("dealers")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_limit__gte=0), name="dealer_credit_limit_non_negative"
            ),
        ]
        indexes = [
            models.Index(
                fields=["path"], name="dealer_path_prefix", opclasses=["varchar_pattern_ops"]
            ),
            models.Index(fields=["tier"], name="dealer_tier"),
            models.Index(fields=["region"], name="dealer_region"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def save(self, *args, **kwargs):
        """Save, then keep ``path``/``depth`` of this dealer and its subtree right."""
        from django.db import transaction
        from django.db.models import Value
        from django.db.models.functions import Concat, Length, Substr

        with transaction.atomic():
            super().save(*args, **kwargs)
            old_path = self.path
            new_path, depth = self._path_from_parent()
            if new_path == old_path and depth == self.depth:
                return
            delta = depth - self.depth
            Dealer.objects.filter(pk=self.pk).update(path=new_path, depth=depth)
            if old_path:
                Dealer.objects.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                    path=Concat(Value(new_path), Substr("path", Length(Value(old_path)) + 1)),
                    depth=models.F("depth") + delta,
                )
            self.path, self.depth = new_path, depth

    # --- the tree ------------------------------------------------------------
    @property
    def ancestor_ids(self) -> list[int]:
        """Ids of the dealers above this one, root first (from ``path``, no query)."""
        return [int(p) for p in self.path.strip("/").split("/")[:-1] if p]

    @property
    def lineage_ids(self) -> list[int]:
        """The ancestors' ids and this dealer's, root first."""
        return [*self.ancestor_ids, self.pk]

    def is_in_subtree_of(self, other: Dealer) -> bool:
        return bool(other.path) and self.path.startswith(other.path)

    def _path_from_parent(self) -> tuple[str, int]:
        if self.parent_id is None:
            return f"/{self.pk}/", 0
        parent = self.parent
        if parent.pk == self.pk or (self.path and parent.path.startswith(self.path)):
            raise ValueError("A dealer cannot be moved under itself or one of its own dealers.")
        return f"{parent.path}{self.pk}/", parent.depth + 1


class AddressKind(models.TextChoices):
    BILLING = "billing", _("Billing")
    SHIPPING = "shipping", _("Shipping")


class DealerAddress(models.Model):
    dealer = models.ForeignKey(
        Dealer, verbose_name=_("dealer"), on_delete=models.CASCADE, related_name="addresses"
    )
    kind = models.CharField(
        _("kind"), max_length=16, choices=AddressKind.choices, default=AddressKind.SHIPPING
    )
    label = models.CharField(_("label"), max_length=80, blank=True)
    recipient = models.CharField(_("recipient"), max_length=120, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    line1 = models.CharField(_("address line 1"), max_length=200)
    line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=80, blank=True)
    province = models.CharField(_("province / state"), max_length=80, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, default="CN")
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        verbose_name = _("dealer address")
        verbose_name_plural = _("dealer addresses")
        ordering = ["dealer", "kind", "-is_default", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["dealer", "kind"],
                condition=Q(is_default=True),
                name="dealer_address_one_default",
            ),
        ]

    def __str__(self) -> str:
        return ", ".join(p for p in (self.line1, self.city, self.province) if p)


class DealerContact(models.Model):
    dealer = models.ForeignKey(
        Dealer, verbose_name=_("dealer"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=120)
    title = models.CharField(_("title"), max_length=80, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    is_primary = models.BooleanField(_("primary contact"), default=False)

    class Meta:
        verbose_name = _("dealer contact")
        verbose_name_plural = _("dealer contacts")
        ordering = ["dealer", "-is_primary", "name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A person who signs in: staff, sales rep or a dealer's user."""

    email = models.EmailField(_("email address"), blank=True)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.STAFF)
    dealer = models.ForeignKey(
        Dealer,
        verbose_name=_("dealer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
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
        User,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
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
