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
        _("enabled modules"), default=list, blank=True,
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
