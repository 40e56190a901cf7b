"""Public-schema models: the tenants (brands) and the host names that route to them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin


class TenantStatus(models.TextChoices):
    TRIAL = "trial", _("Trial")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due")
    SUSPENDED = "suspended", _("Suspended")


class Tenant(TenantMixin):
    """A brand or manufacturer, with its own PostgreSQL schema.

    Schemas are created by :func:`tenants.services.provision_tenant` (a clone of
    the template schema), never as a side effect of ``save()``; and they are
    dropped only by :func:`tenants.services.delete_tenant` after confirmation.
    """

    auto_create_schema = False
    auto_drop_schema = False

    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(
        _("status"), max_length=16, choices=TenantStatus.choices, default=TenantStatus.TRIAL
    )
    modules = models.JSONField(
        _("enabled modules"),
        default=list,
        blank=True,
        help_text=_("Names of the plugins (industry modules) this tenant has enabled."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")
        ordering = ["schema_name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.schema_name})"

    @property
    def is_suspended(self) -> bool:
        return self.status == TenantStatus.SUSPENDED


class Domain(DomainMixin):
    """A host name routed to a tenant (``acme.example.com``, ``acme.localhost``)."""

    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")


class Plan(models.Model):
    """A price plan: what a tenant pays and what it may use.

    A limit left empty means "no limit". ``stripe_price_id`` names the
    recurring Stripe Price that Checkout sells; a plan without one (or any
    plan while Stripe is not configured) cannot be bought, only the free
    trial plan can be chosen.
    """

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=80)
    monthly_price = models.DecimalField(
        _("monthly price"), max_digits=12, decimal_places=2, default=0
    )
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    stripe_price_id = models.CharField(_("Stripe price ID"), max_length=100, blank=True)
    trial_days = models.PositiveIntegerField(_("trial days"), default=0)
    max_dealers = models.PositiveIntegerField(_("max dealers"), null=True, blank=True)
    max_skus = models.PositiveIntegerField(_("max SKUs"), null=True, blank=True)
    max_orders_per_month = models.PositiveIntegerField(
        _("max orders per month"), null=True, blank=True
    )
    allowed_modules = models.JSONField(
        _("allowed modules"),
        default=list,
        blank=True,
        help_text=_("Industry modules this plan may enable."),
    )
    max_modules = models.PositiveIntegerField(
        _("max modules"),
        null=True,
        blank=True,
        help_text=_("How many of the allowed modules may be enabled at once; empty for all."),
    )
    is_active = models.BooleanField(_("offered"), default=True)
    sort_order = models.PositiveIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["sort_order", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_price__gte=0), name="plan_price_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_free(self) -> bool:
        return self.monthly_price == 0


class SubscriptionStatus(models.TextChoices):
    TRIALING = "trialing", _("Trialing")
    INCOMPLETE = "incomplete", _("Awaiting payment")
    ACTIVE = "active", _("Active")
    PAST_DUE = "past_due", _("Past due")
    CANCELED = "canceled", _("Canceled")


class Subscription(models.Model):
    """A tenant's plan and its billing state, as last confirmed by Stripe.

    ``plan`` is the plan in force (its limits apply); ``requested_plan`` is a
    paid plan chosen but not yet paid for. ``stripe_state_at`` is the creation
    time of the newest Stripe event applied: older events arriving late never
    move the subscription backwards.
    """

    tenant = models.OneToOneField(
        Tenant, verbose_name=_("tenant"), on_delete=models.CASCADE, related_name="subscription"
    )
    plan = models.ForeignKey(
        Plan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="+"
    )
    requested_plan = models.ForeignKey(
        Plan,
        verbose_name=_("requested plan"),
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=SubscriptionStatus.choices,
        default=SubscriptionStatus.TRIALING,
    )
    billing_email = models.EmailField(_("billing email"), blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    trial_ends_at = models.DateTimeField(_("trial ends at"), null=True, blank=True)
    trial_notice_sent_at = models.DateTimeField(_("trial notice sent at"), null=True, blank=True)
    current_period_end = models.DateTimeField(_("current period ends at"), null=True, blank=True)
    past_due_since = models.DateTimeField(_("past due since"), null=True, blank=True)
    suspended_by_billing = models.BooleanField(_("suspended for non-payment"), default=False)
    stripe_customer_id = models.CharField(
        _("Stripe customer ID"), max_length=100, blank=True, db_index=True
    )
    stripe_subscription_id = models.CharField(
        _("Stripe subscription ID"), max_length=100, blank=True, db_index=True
    )
    checkout_attempt = models.PositiveIntegerField(_("checkout attempt"), default=0)
    stripe_state_at = models.DateTimeField(_("last Stripe event at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")

    def __str__(self) -> str:
        return f"{self.tenant.schema_name}: {self.plan.code} ({self.status})"


class StripeEvent(models.Model):
    """A Stripe webhook event already processed: the unique id makes replays no-ops."""

    event_id = models.CharField(_("event ID"), max_length=255, unique=True)
    type = models.CharField(_("type"), max_length=100)
    created = models.DateTimeField(_("created by Stripe at"))
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    outcome = models.CharField(_("outcome"), max_length=32, blank=True)
    tenant = models.ForeignKey(
        Tenant,
        verbose_name=_("tenant"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"
